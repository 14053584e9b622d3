"""Copy a store to another: ``flask --app flask_rest_service copy-to TARGET`` (or ``copy-from SOURCE``).

For moving from the SQLite file to MongoDB when one machine is not enough
(or back). The source is only read. Every reading keeps its ``_id``, so a
reading the target holds already is not stored twice: running the copy again
after an interruption takes up where it stopped (re-reading the source,
writing only what is missing) and is harmless once it has finished. Keys keep
their name, scope and hash (the keys themselves were never stored), so devices
keep working. Alert rules keep their id, targets and signing secret, so
receivers keep verifying; their states and history stay behind (a rule firing
as the store moves fires, and notifies, once more on the new one).

A key or rule the target holds in another form (a key's name with another key
or scope, a key under another name, a rule's id with other content) is a
conflict: ``copy`` names them all and writes nothing, rather than copy the rest
and leave a device refused on the new store.
"""

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import islice

from bson import ObjectId

from .config import database_name
from .stores import DuplicateName, Store, open_store
from .stores.base import EVERYTHING, Conflict
from .stores.mongodb.urls import SCHEMES, masked, refusal

BATCH = 1000
CONNECTION_SETTINGS = (
    "MONGO_TIMEOUT_MS",
    "MONGO_REQUEST_TIMEOUT_MS",
    "MONGO_MAINTENANCE_TIMEOUT_MS",
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_SYNCHRONOUS",
)
SQLITE_SCHEME = "sqlite://"
# Anything that starts like a URL (RFC 3986's scheme, then ':') and is not one
# of ours is refused rather than taken for a file name: 'postgres://...' or
# 'file:x' must not become a local SQLite file. A file whose name starts so is
# named with a folder: './a:b.sqlite3'.
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


class BadLocation(ValueError):
    """A source or target that names no store this can open; the message never holds a password."""


class Conflicts(Exception):
    """Keys or rules the target holds in another form; nothing was copied."""

    def __init__(self, found: list[str]):
        super().__init__("; ".join(found))
        self.found = found


@dataclass
class Copied:
    """What a copy did."""

    readings: int = 0  # stored in the target by this copy
    already: int = 0  # found there already (an earlier run, or the same _id)
    skipped: list = field(default_factory=list)  # ids the target cannot hold
    differ: list = field(default_factory=list)  # ids the target holds with other content: kept as they are
    keys: int = 0
    keys_already: int = 0
    rules: int = 0
    rules_already: int = 0


def location(text: str) -> dict:
    """What a source or target names: ``{"MONGO_URI": url}`` or ``{"SQLITE_PATH": path}``, or ``BadLocation``.

    Taken: a ``mongodb://`` or ``mongodb+srv://`` URL (the scheme in lower
    case, as the driver and the service's ``MONGO_URL`` want it), a
    ``sqlite://`` URL with a path after it (``sqlite:///srv/r.sqlite3`` is
    ``/srv/r.sqlite3``), or a file's path. Refused: empty or blank text, text
    with spaces around it, ``:memory:`` (the copy would vanish with the
    process), any other scheme, and a path that looks like a mistyped URL
    (an ``@``, or starting with ``mongodb``).
    """
    shown = repr(masked(text))
    if not text.strip():
        raise BadLocation("empty: name a mongodb:// URL or a SQLite file")
    if text != text.strip():
        raise BadLocation(f"{shown} starts or ends with blanks (a quoting mistake?)")
    if text.startswith(SCHEMES):
        reason = refusal(text)
        if reason:
            raise BadLocation(f"{shown} {reason}")
        return {"MONGO_URI": text, "SQLITE_PATH": None}
    if text.lower().startswith(SCHEMES):
        raise BadLocation(f"{shown}: write the scheme in lower case, mongodb:// or mongodb+srv://")
    if text.lower().startswith("mongodb") or ("@" in text and not text.startswith(SQLITE_SCHEME)):
        raise BadLocation(
            f"{shown} looks like a mistyped MongoDB URL (mongodb://user:password@host/database); "
            "a file with '@' in its name is written sqlite://NAME"
        )
    scheme = SCHEME.match(text)
    if text.startswith(SQLITE_SCHEME):
        path = text.removeprefix(SQLITE_SCHEME)
    elif scheme or "://" in text:
        name = scheme.group(0) if scheme else "that"
        raise BadLocation(
            f"{shown}: {name!r} is not a scheme this copies to or from; use mongodb://, "
            "mongodb+srv://, sqlite:// or a file's path (./name for a file whose name has a colon)"
        )
    else:
        path = text
    if not path:
        raise BadLocation(f"{shown} names no file: sqlite:///path/to/file.sqlite3")
    if path == ":memory:":
        raise BadLocation(f"{shown}: an in-memory SQLite database would vanish with the copy")
    return {"MONGO_URI": None, "SQLITE_PATH": path}


def store_settings(text: str, config: Mapping, exists: bool = False) -> dict:
    """The store settings ``text`` names (see ``location``); with ``exists``, a SQLite file must be there."""
    named = location(text)
    if exists and named["SQLITE_PATH"] and not os.path.isfile(named["SQLITE_PATH"]):
        raise BadLocation(f"no SQLite file at {masked(text)!r}")
    uri = named["MONGO_URI"]
    return {
        **{key: config[key] for key in CONNECTION_SETTINGS},
        **named,
        "MONGO_DBNAME": database_name(uri) if uri else None,
    }


def is_configured_store(settings: Mapping, config: Mapping) -> bool:
    """Whether the settings name the store the service is configured with."""
    if settings["MONGO_URI"] or config["MONGO_URI"]:
        return settings["MONGO_URI"] == config["MONGO_URI"]
    return os.path.realpath(settings["SQLITE_PATH"]) == os.path.realpath(config["SQLITE_PATH"])


def open_named(text: str, config: Mapping, exists: bool = False) -> Store:
    """Open the store ``text`` names."""
    return open_store(store_settings(text, config, exists))


def conflicts(source: Store, target: Store) -> list[str]:
    """The keys and rules the target holds in another form than the source (never a hash)."""
    found = []
    there = target.keys.records()
    by_name = {key["name"]: key for key in there}
    by_hash = {key["hash"]: key for key in there}
    for key in source.keys.records():
        other = by_name.get(key["name"])
        if other is not None and other["hash"] != key["hash"]:
            found.append(f"key {key['name']!r} is another key there")
        elif other is not None and other["scope"] != key["scope"]:
            found.append(f"key {key['name']!r} has scope {other['scope']} there, {key['scope']} here")
        elif other is None and key["hash"] in by_hash:
            found.append(f"key {key['name']!r} is there as {by_hash[key['hash']]['name']!r}")
    for rule in source.alerts.rules():
        other = target.alerts.get_rule(rule["_id"])
        if other is not None and other != rule:
            found.append(f"alert rule {rule['_id']} ({rule['name']!r}) differs there")
    return found


def copy(source: Store, target: Store, progress: Callable[[Copied], None] = lambda done: None) -> Copied:
    """Copy every key, alert rule and reading from ``source`` to ``target``; only what it lacks is written.

    ``Conflicts`` (and nothing written but the target's tables or indexes)
    if the target holds a key or rule in another form.
    """
    done = Copied()
    target.init()
    found = conflicts(source, target)
    if found:
        raise Conflicts(found)
    for record in source.keys.records():
        try:
            target.keys.add(record)
            done.keys += 1
        except DuplicateName:  # the same name, key and scope: checked above
            done.keys_already += 1
    for rule in source.alerts.rules():
        if target.alerts.get_rule(rule["_id"]) is None:
            target.alerts.add_rule(rule)
            done.rules += 1
        else:
            done.rules_already += 1
    readings = source.readings.export(EVERYTHING)
    while batch := list(islice(readings, BATCH)):
        if not target.accepts_any_id:
            done.skipped += [doc["_id"] for doc in batch if not isinstance(doc["_id"], ObjectId)]
            batch = [doc for doc in batch if isinstance(doc["_id"], ObjectId)]
        try:
            stored = target.readings.insert(batch) if batch else []
        except Conflict as conflict:  # edited on one side since an earlier copy: neither is overwritten
            done.differ += conflict.ids
            batch = [doc for doc in batch if doc["_id"] not in conflict.ids]
            stored = target.readings.insert(batch) if batch else []
        for _, created in stored:
            if created:
                done.readings += 1
            else:
                done.already += 1
        progress(done)
    return done
