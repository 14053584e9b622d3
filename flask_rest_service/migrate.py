"""Copy a store to another: ``flask --app flask_rest_service copy-to TARGET``.

For moving from the SQLite file to MongoDB when one machine is not enough
(or back). The source is the store the service is configured with; it is
only read. Every reading keeps its ``_id``, so a reading the target holds
already is not stored twice: running the copy again after an interruption
takes up where it stopped (re-reading the source, writing only what is
missing) and is harmless once it has finished. Keys keep their name, scope
and hash (the keys themselves were never stored), so devices keep working.
Alert rules keep their id, targets and signing secret, so receivers keep
verifying; their states and history stay behind (a rule firing as the
store moves fires, and notifies, once more on the new one).
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import islice

from bson import ObjectId

from .config import database_name
from .stores import DuplicateName, Store, open_store
from .stores.base import EVERYTHING

BATCH = 1000
CONNECTION_SETTINGS = (
    "MONGO_TIMEOUT_MS",
    "MONGO_REQUEST_TIMEOUT_MS",
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_SYNCHRONOUS",
)
MONGODB_SCHEMES = ("mongodb://", "mongodb+srv://")


@dataclass
class Copied:
    """What a copy did."""

    readings: int = 0  # stored in the target by this copy
    already: int = 0  # found there already (an earlier run, or the same _id)
    skipped: list = field(default_factory=list)  # ids the target cannot hold
    keys: int = 0
    keys_already: int = 0
    rules: int = 0
    rules_already: int = 0


def target_settings(target: str, config: Mapping) -> dict:
    """The store settings a target names: a MongoDB connection string, or a SQLite file."""
    settings = {key: config[key] for key in CONNECTION_SETTINGS}
    if target.startswith(MONGODB_SCHEMES):
        return {**settings, "MONGO_URI": target, "MONGO_DBNAME": database_name(target), "SQLITE_PATH": None}
    return {**settings, "MONGO_URI": None, "SQLITE_PATH": target.removeprefix("sqlite://")}


def is_configured_store(target: str, config: Mapping) -> bool:
    """Whether a target names the store the service is configured with."""
    settings = target_settings(target, config)
    if config.get("MONGO_CLIENT") is not None:  # tests: a client, not a URL
        return False
    if settings["MONGO_URI"] or config["MONGO_URI"]:
        return settings["MONGO_URI"] == config["MONGO_URI"]
    return os.path.realpath(settings["SQLITE_PATH"]) == os.path.realpath(config["SQLITE_PATH"])


def open_target(target: str, config: Mapping) -> Store:
    """Open the store a target names."""
    return open_store(target_settings(target, config))


def copy(source: Store, target: Store, progress: Callable[[Copied], None] = lambda done: None) -> Copied:
    """Copy every key, alert rule and reading from ``source`` to ``target``; only what it lacks is written."""
    done = Copied()
    target.init()
    for record in source.keys.records():
        try:
            target.keys.add(record)
            done.keys += 1
        except DuplicateName:
            done.keys_already += 1
    for rule in source.alerts.rules():
        if target.alerts.get_rule(rule["_id"]) is None:
            target.alerts.add_rule(rule)
            done.rules += 1
        else:
            done.rules_already += 1
    readings = source.readings.export(EVERYTHING)
    while batch := list(islice(readings, BATCH)):
        # Only the SQLite store needs ObjectIds; MongoDB takes any _id.
        if target.kind == "sqlite":
            done.skipped += [doc["_id"] for doc in batch if not isinstance(doc["_id"], ObjectId)]
            batch = [doc for doc in batch if isinstance(doc["_id"], ObjectId)]
        for _, created in target.readings.insert(batch) if batch else ():
            if created:
                done.readings += 1
            else:
                done.already += 1
        progress(done)
    return done
