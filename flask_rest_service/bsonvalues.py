"""What a BSON document can hold, as both stores keep it: dates and 64-bit integers.

A date is naive UTC in whole milliseconds since the Unix epoch (BSON's
``datetime``); an integer is 64 bits (BSON's ``long``); a number is an int
or a double, never a boolean (MongoDB's ``$isNumber``).
"""

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1)
ONE_MS = timedelta(milliseconds=1)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def utc_naive(moment: datetime) -> datetime:
    """Return a datetime as naive UTC, the form BSON stores."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def bson_time(moment: datetime) -> datetime:
    """Return naive UTC with the microseconds BSON cannot hold cut off."""
    moment = utc_naive(moment)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def utc_now() -> datetime:
    """Return the time now as BSON stores it (naive UTC, milliseconds)."""
    return bson_time(datetime.now(UTC))


def epoch_millis(moment: datetime) -> int:
    """Return milliseconds since the Unix epoch, as BSON stores a date (exactly: no float)."""
    return (utc_naive(moment) - EPOCH) // ONE_MS  # timedelta // timedelta: an int, floored


def from_millis(ms: int) -> datetime:
    """The naive UTC date of a count of milliseconds since the epoch."""
    return EPOCH + timedelta(milliseconds=ms)


def is_number(value) -> bool:
    """Whether MongoDB's ``$isNumber`` holds: an int or a double, not a boolean."""
    return value.__class__ in (int, float)
