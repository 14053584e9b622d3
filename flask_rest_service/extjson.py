"""BSON Extended JSON (relaxed mode) output, built on orjson.

The output is what ``bson.json_util.loads`` reads back: ``{"$oid": ...}`` for
ObjectIds and ``{"$date": "2026-03-01T10:00:00Z"}`` for dates (milliseconds
only when non-zero; ``{"$date": {"$numberLong": ...}}`` outside the years
1970-9999, as json_util does).

orjson writes every value itself except those it hands to ``_default``: every
ObjectId, every date (``OPT_PASSTHROUGH_DATETIME``) and the rarer BSON types,
at any depth. That alone is correct for any document. Speed
(bench/RESULTS.md) comes from one more step for a list of readings: a Python
call per date costs more than the rest of the document, so ``_dated`` formats
all their ``timestamp`` fields in one orjson call, cuts that text into one
ready-made ``{"$date": ...}`` piece (``orjson.Fragment``) per reading and puts
each in its reading while orjson runs, all with C-level calls: no Python code
runs per reading except the ObjectId callback.
"""

from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import islice, repeat
from typing import Any

import orjson
from bson import ObjectId, json_util

from .bsonvalues import EPOCH, epoch_millis, utc_naive

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
_LINE_OPTIONS = _OPTIONS | orjson.OPT_APPEND_NEWLINE
# How orjson writes a naive date: "2026-03-01T10:00:00Z", "2026-03-01T10:00:00.005000Z".
_DATE_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
_BATCH = 1000  # documents whose dates are formatted together, for NDJSON lines


def iso_utc(moment: datetime) -> str:
    """Format a datetime as ISO 8601 UTC, with milliseconds when non-zero."""
    text = utc_naive(moment).isoformat()  # "YYYY-MM-DDTHH:MM:SS[.ffffff]"
    return f"{text[:23]}Z" if len(text) > 19 else f"{text}Z"


def iso_utc_all(moments: list[datetime]) -> list[str]:
    """Format datetimes as ``iso_utc`` does, in one orjson call when they allow it."""
    try:
        text = orjson.dumps(moments, option=_DATE_OPTIONS)  # ["...Z","...Z"]
    except TypeError:  # orjson.JSONEncodeError: a tzinfo that fails, say
        text = b""
    # Only naive or UTC dates (each ends in Z) in whole milliseconds (a
    # fraction, if any, ends in 000Z): iso_utc writes the rest otherwise.
    if moments and text.count(b'Z"') == len(moments) and text.count(b".") == text.count(b'000Z"'):
        return text.replace(b'000Z"', b'Z"')[2:-2].decode().split('","')
    return list(map(iso_utc, moments))


def _default(value: Any) -> Any:
    """Represent what orjson does not write itself: ObjectIds, dates, other BSON types."""
    if value.__class__ is ObjectId:
        return {"$oid": value.binary.hex()}
    if isinstance(value, datetime):
        moment = utc_naive(value)
        if moment.year >= 1970:
            return {"$date": iso_utc(moment)}
        return {"$date": {"$numberLong": str(epoch_millis(moment))}}
    # Decimal128, Binary, Regex, ... can only come from documents written by
    # other programs; json_util knows them all.
    return json_util.default(value, json_options=json_util.RELAXED_JSON_OPTIONS)


@contextmanager
def _dated(docs: list) -> Iterator[None]:
    """While the block runs, every ``timestamp`` of ``docs`` already written as ``{"$date": ...}``.

    The documents are changed in place and restored afterwards, even if the
    block fails: cheaper than copies, and the caller gets them back as they
    were. Only when every document is a dict whose timestamp is a naive date
    from 1970 on, in milliseconds (as BSON stores dates); otherwise nothing
    changes, and ``_default`` handles the dates value by value.
    """
    try:
        stamps = list(map(dict.get, docs, repeat("timestamp")))
        ready = min(stamps) >= EPOCH
        text = orjson.dumps(stamps, option=_DATE_OPTIONS) if ready else b""  # ["...Z","...Z"]
    except (TypeError, ValueError):  # not dicts, other timestamps, or no documents
        ready = False
    if not ready or text.count(b".") != text.count(b'000Z"'):  # or finer than milliseconds
        yield
        return
    # '"2026-...:00.005000Z","..."' -> '{"$date":"2026-...:00.005Z"}\n{"$date":"..."}':
    # json_util's fraction, and one line per date, each a ready-made piece of output.
    text = text[1:-1].replace(b'000Z"', b'Z"').replace(b'","', b'"}\n{"$date":"')
    _set_timestamps(docs, map(orjson.Fragment, (b'{"$date":' + text + b"}").split(b"\n")))
    try:
        yield
    finally:
        _set_timestamps(docs, stamps)


def _set_timestamps(docs: list, values: Iterable) -> None:
    deque(map(dict.__setitem__, docs, repeat("timestamp"), values), maxlen=0)


def dumps(value: Any) -> bytes:
    """Serialise documents (a list of them, one, or any JSON value) to relaxed Extended JSON."""
    if value.__class__ is not list:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    with _dated(value):
        return orjson.dumps(value, default=_default, option=_OPTIONS)


def lines(documents: Iterable[dict]) -> Iterator[bytes]:
    """Yield documents as newline-delimited Extended JSON, a batch of lines at a time."""
    documents = iter(documents)
    while batch := list(islice(documents, _BATCH)):
        with _dated(batch):
            text = b"".join(map(orjson.dumps, batch, repeat(_default), repeat(_LINE_OPTIONS)))
        yield text
