"""BSON Extended JSON (relaxed mode) output, built on orjson.

The output is what ``bson.json_util.loads`` reads back: ``{"$oid": ...}`` for
ObjectIds and ``{"$date": "2026-03-01T10:00:00Z"}`` for dates (milliseconds
only when non-zero; ``{"$date": {"$numberLong": ...}}`` outside the years
1970-9999, as json_util does). orjson writes everything else itself, which is
what makes this many times faster than ``json_util.dumps``.
"""

from datetime import UTC, datetime
from typing import Any

import orjson
from bson import ObjectId, json_util

EPOCH = datetime(1970, 1, 1)
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def utc_naive(moment: datetime) -> datetime:
    """Return a datetime as naive UTC, the form BSON stores."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def iso_utc(moment: datetime) -> str:
    """Format a datetime as ISO 8601 UTC, with milliseconds when non-zero."""
    moment = utc_naive(moment)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = moment.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def epoch_millis(moment: datetime) -> int:
    """Return milliseconds since the Unix epoch, as BSON stores a date."""
    delta = utc_naive(moment) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _default(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return {"$oid": str(value)}
    if isinstance(value, datetime):
        if 1970 <= utc_naive(value).year <= 9999:
            return {"$date": iso_utc(value)}
        return {"$date": {"$numberLong": str(epoch_millis(value))}}
    # Rarer BSON types (Decimal128, Binary, Regex, ...) can only come from
    # documents written by other programs; json_util knows them all.
    return json_util.default(value, json_options=json_util.RELAXED_JSON_OPTIONS)


def dumps(value: Any) -> bytes:
    """Serialise documents to relaxed Extended JSON bytes."""
    return orjson.dumps(value, default=_default, option=_OPTIONS)
