"""BSON Extended JSON (relaxed mode) output, built on orjson.

The output is what ``bson.json_util.loads`` reads back: ``{"$oid": ...}`` for
ObjectIds and ``{"$date": "2026-03-01T10:00:00Z"}`` for dates (milliseconds
only when non-zero; ``{"$date": {"$numberLong": ...}}`` outside the years
1970-9999, as json_util does).

Speed (bench/RESULTS.md): what costs is Python work per value. A flat
reading (simple values and ObjectIds, one naive ``timestamp``) is copied and
proved flat with C-level calls; its whole-second date stays a datetime inside
its wrapper for orjson to format in C, and ObjectIds at any depth go through
orjson's callback. Anything else (nested objects, other dates, dates with
milliseconds) takes the generic path, which is correct for any document.
"""

from datetime import UTC, datetime
from typing import Any

import orjson
from bson import ObjectId, json_util

EPOCH = datetime(1970, 1, 1)
SIMPLE = frozenset({str, int, float, bool, type(None)})
# Dates left to orjson are naive UTC with no microseconds: "2026-03-01T10:00:00Z".
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def utc_naive(moment: datetime) -> datetime:
    """Return a datetime as naive UTC, the form BSON stores."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def iso_utc(moment: datetime) -> str:
    """Format a datetime as ISO 8601 UTC, with milliseconds when non-zero."""
    text = utc_naive(moment).isoformat()  # "YYYY-MM-DDTHH:MM:SS[.ffffff]"
    return f"{text[:23]}Z" if len(text) > 19 else f"{text}Z"


def epoch_millis(moment: datetime) -> int:
    """Return milliseconds since the Unix epoch, as BSON stores a date."""
    delta = utc_naive(moment) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _date(moment: datetime) -> dict:
    if moment.tzinfo is None and moment.year >= 1970:
        # orjson writes a whole-second naive date as "...:SSZ" itself.
        return {"$date": moment if moment.microsecond == 0 else iso_utc(moment)}
    if 1970 <= utc_naive(moment).year:
        return {"$date": iso_utc(moment)}
    return {"$date": {"$numberLong": str(epoch_millis(moment))}}


def _convert(value: Any) -> Any:
    """Wrap every date and ObjectId at any depth (the generic, slower path)."""
    cls = value.__class__
    if cls in SIMPLE:
        return value
    if cls is dict or isinstance(value, dict):
        return {key: _convert(item) for key, item in value.items()}
    if cls is list or isinstance(value, list | tuple):
        return [_convert(item) for item in value]
    if isinstance(value, datetime):
        return _date(value)
    if isinstance(value, ObjectId):
        return {"$oid": value.binary.hex()}
    if isinstance(value, str | int | float):
        return value
    # Rarer BSON types (Decimal128, Binary, Regex, ...) can only come from
    # documents written by other programs; json_util knows them all.
    return json_util.default(value, json_options=json_util.RELAXED_JSON_OPTIONS)


class _Slot:
    """Marks the timestamp's place while a document is checked for flatness."""


_SLOT = _Slot()
# A flat reading: simple values and ObjectIds (orjson's callback wraps those,
# at any depth), with its one date in the timestamp's slot.
FLAT = SIMPLE | {ObjectId, _Slot}


def _document(doc: dict) -> dict:
    """Convert one document: the fast path for a flat reading, else value by value."""
    moment = doc.get("timestamp")
    if moment.__class__ is datetime and moment.tzinfo is None and moment.year >= 1970:
        row = {**doc, "timestamp": _SLOT}
        if FLAT.issuperset(map(type, row.values())):
            row["timestamp"] = {"$date": moment if moment.microsecond == 0 else iso_utc(moment)}
            return row
    return {key: _convert(value) for key, value in doc.items()}


def _object_id(value: Any) -> dict:
    if value.__class__ is ObjectId:
        return {"$oid": value.binary.hex()}
    return _convert(value)


def dumps(value: Any) -> bytes:
    """Serialise documents (a list of them, one, or any JSON value) to relaxed Extended JSON."""
    if value.__class__ is list:
        value = [_document(item) if item.__class__ is dict else _convert(item) for item in value]
    elif value.__class__ is dict:
        value = _document(value)
    else:
        value = _convert(value)
    return orjson.dumps(value, default=_object_id, option=_OPTIONS)
