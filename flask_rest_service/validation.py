"""Turn untrusted input (bodies, query strings, URL parts) into clean values.

Nothing here does I/O. Problems are collected, not stopped at, and raised
together as one ``ValidationError`` whose entries name the field (body),
parameter (query string) or batch index they belong to; up to a bound: once
more are found than an answer lists, checking stops (``Problems.full``), so
a body of a million bad field names costs the work of a few, not a million.
"""

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from bson import ObjectId
from werkzeug.routing import BaseConverter, PathConverter
from werkzeug.routing import ValidationError as RoutingValidationError

from .bounds import DURATION, DURATION_UNITS, MAX_FIELD_PATH, MAX_LABEL_LENGTH, OBJECT_ID
from .bsonvalues import EPOCH, INT64_MAX, INT64_MIN, bson_time, epoch_millis
from .errors import ApiError, ValidationError

_LABELS = ("sensor", "type")  # fields that must be short strings when present
_LABEL_PROBLEM = f"must be a string of 1 to {MAX_LABEL_LENGTH} characters"
# Problems listed in an answer; checking stops at one more (the answer then
# says "at least"): a body of a million bad keys costs a dozen checks.
MAX_ERRORS_PER_READING = 10
MAX_ERRORS_PER_REQUEST = 100
TIMESTAMP_FORMS = 'an ISO 8601 date-time, Unix epoch seconds or {"$date": ...}'
# Dates a reading may carry: what Python's datetime holds, in UTC.
FIRST_DATE, LAST_DATE = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999000)
FIRST_MS, LAST_MS = epoch_millis(FIRST_DATE), epoch_millis(LAST_DATE)
OUT_OF_RANGE = "out of range: dates run from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # ASCII digits: \d takes any script's
_HEX24 = re.compile(OBJECT_ID)
# 19 digits in a row: maybe an integer past 64 bits, which orjson reads as a double.
# Found by mapping every ASCII digit to "0" and looking for 19 of them, which
# costs a tenth of a regular expression's search (bench/NOTES.md).
_LONG_DIGITS = b"0" * 19
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_DURATION = re.compile(DURATION)


class Problems:
    """The problems found in untrusted input: the first ``limit`` listed, all found counted.

    ``full`` once one more than ``limit`` is found: the checker then stops
    looking (the answer could list no more of them), and the count is a
    lower bound ("at least 11 problems").
    """

    def __init__(self, limit: int = MAX_ERRORS_PER_READING):
        self.listed: list[dict] = []
        self.count = 0
        self.limit = limit
        self.full = False

    def add(self, entry: dict) -> None:
        """Count a problem; list it while there is room."""
        self.count += 1
        if len(self.listed) < self.limit:
            self.listed.append(entry)
        else:
            self.full = True

    def include(self, other: "Problems", **where) -> None:
        """Add another input's problems (a batch item's), each listed entry with ``where`` (its index)."""
        for problem in other.listed:
            self.add({**where, **problem})
        self.count += other.count - len(other.listed)  # counted, not listed

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_if_any(self, what: str, stopped: bool | None = None) -> None:
        """Raise them as one ValidationError, if there are any; ``stopped``: whether looking stopped
        before the end (by default, whether this list is full)."""
        if self.count:
            stopped = self.full if stopped is None else stopped
            raise ValidationError(self.listed, what, total=self.count, stopped=stopped)


# --- values -------------------------------------------------------------


def parse_timestamp(value: Any) -> datetime:
    """Parse a timestamp in any accepted form; raise ValueError if it is not one or out of range."""
    if isinstance(value, str):
        text = value.strip()
        # A dash past the first character, or a colon: a date-time, never a
        # number (the common case, then, skips the regular expression).
        if "-" in text[1:] or ":" in text or not _NUMBER.fullmatch(text):
            return _parse_iso(text)
        value = float(text)
    if isinstance(value, bool):
        raise ValueError(f"must be {TIMESTAMP_FORMS}")
    if isinstance(value, int | float):
        try:
            return bson_time(datetime.fromtimestamp(value, tz=UTC))
        except (OverflowError, OSError, ValueError):
            raise ValueError(OUT_OF_RANGE) from None
    if isinstance(value, dict) and list(value) == ["$date"]:
        return _parse_extended_date(value["$date"])
    raise ValueError(f"must be {TIMESTAMP_FORMS}")


def _parse_iso(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"must be {TIMESTAMP_FORMS}") from None
    if moment.tzinfo is None or moment.tzinfo is UTC:  # no offset given: the value is UTC
        # bson_time's result, without converting to UTC what is in UTC. combine()
        # drops the tzinfo without replace()'s parsing of keywords, the slower,
        # which is left for the rare time finer than a millisecond.
        if moment.tzinfo is not None:
            moment = datetime.combine(moment, moment.time())
        if moment.microsecond % 1000:
            moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        return moment
    try:  # 0001-01-01T00:00+01:00 is in year 0 in UTC, 9999-12-31T23:00-05:00 in 10000
        return bson_time(moment)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None


def _parse_extended_date(inner: Any) -> datetime:
    if isinstance(inner, str):
        return parse_timestamp(inner)
    if isinstance(inner, dict) and list(inner) == ["$numberLong"]:
        inner = inner["$numberLong"]
        if isinstance(inner, str) and re.fullmatch(r"-?[0-9]+", inner):
            inner = int(inner)
    if isinstance(inner, int) and not isinstance(inner, bool):
        if not FIRST_MS <= inner <= LAST_MS:  # checked before any arithmetic: 10**400 / 1000 fails
            raise ValueError(OUT_OF_RANGE)
        return EPOCH + timedelta(milliseconds=inner)
    raise ValueError('{"$date": ...} must hold an ISO 8601 string or milliseconds')


def parse_object_id(value: Any) -> ObjectId:
    """Parse an ObjectId given as {"$oid": hex} or a plain 24-hex string."""
    if isinstance(value, dict) and list(value) == ["$oid"]:
        value = value["$oid"]
    if isinstance(value, str) and _HEX24.fullmatch(value):
        return ObjectId(value)
    raise ValueError('must be an ObjectId: 24 hexadecimal digits or {"$oid": "<24 hex>"}')


def _key_problem(key: str) -> str | None:
    # What MongoDB refuses somewhere on a write path (an empty name is not a
    # valid update path, code 56), refused here on every path and every store.
    if not key:
        return "field names must not be empty"
    if key.startswith("$"):
        return "field names must not start with '$'"
    if "." in key:
        return "field names must not contain '.'"
    if "\x00" in key:
        return "field names must not contain NUL"
    return None


def parse_field_path(raw: Any) -> str:
    """A field named by its dotted path (``value``, ``env.temp``), as stats and rules take it."""
    if not isinstance(raw, str) or len(raw) > MAX_FIELD_PATH or any(map(_key_problem, raw.split("."))):
        raise ValueError("must be a field name or dotted path (no empty parts, none starting with '$')")
    return raw


def parse_duration(raw: Any) -> int:
    """Seconds in a duration like ``30s``, ``5m``, ``1h``, ``1d``, ``1w``; ValueError if it is not one."""
    match = _DURATION.fullmatch(raw) if isinstance(raw, str) else None
    if not match:
        raise ValueError("must be a whole number and a unit: s, m, h, d or w (30s, 5m, 1h, 1d, 1w)")
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


# Values with nothing in them to check or decode (exactly these classes: JSON gives no subclasses).
_AS_THEY_ARE = frozenset({str, float, bool, type(None)})


def _clean(value: Any, path: str, depth: int, limits: "Limits", errors: Problems) -> Any:
    """Check a value at any depth; return it with Extended JSON wrappers decoded."""
    if isinstance(value, dict):
        # A wrapper is a value inside a reading; the reading itself has fields.
        if depth > 0 and len(value) == 1 and next(iter(value)) in ("$date", "$oid"):
            try:
                return parse_timestamp(value) if "$date" in value else parse_object_id(value)
            except ValueError as error:
                errors.add({"field": path, "detail": str(error)})
                return None
        if depth >= limits.max_depth:
            errors.add({"field": path, "detail": f"nested deeper than {limits.max_depth}"})
            return None
        return _clean_fields(value, {}, path, depth, limits, errors)
    if isinstance(value, list):
        if depth >= limits.max_depth:
            errors.add({"field": path, "detail": f"nested deeper than {limits.max_depth}"})
            return None
        items = []
        for i, item in enumerate(value):
            items.append(_clean(item, f"{path}.{i}", depth + 1, limits, errors))
            if errors.full:  # the rest would only be counted: not looked at
                break
        return items
    if isinstance(value, int) and not isinstance(value, bool):
        if not INT64_MIN <= value <= INT64_MAX:
            errors.add({"field": path, "detail": "integers must fit in 64 bits"})
    return value


def _clean_fields(
    value: dict, clean: dict, path: str, depth: int, limits: "Limits", errors: Problems, skip: tuple = ()
) -> dict:
    """Add an object's fields (but those in ``skip``) to ``clean``, checked; return ``clean``."""
    for key, item in value.items():
        if key in skip:
            continue
        # _key_problem's cases, tested without a call (once per field of every reading); it words a refusal.
        if not key or key[0] == "$" or "." in key or "\x00" in key:
            errors.add({"field": f"{path}.{key}" if path else key, "detail": _key_problem(key)})
            if errors.full:  # the rest would only be counted: not looked at
                break
        elif item.__class__ in _AS_THEY_ARE:
            clean[key] = item  # most of a reading's fields: no call, no path
        else:
            clean[key] = _clean(item, f"{path}.{key}" if path else key, depth + 1, limits, errors)
            if errors.full:
                break
    return clean


# --- readings -----------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may carry."""

    max_batch: int = 1000
    max_depth: int = 32
    max_bytes: int = 64 * 1024
    # How far ahead of the server's clock a timestamp may be (None: any). A
    # reading from the future would hold its sensor's alerts: every later one
    # would be older than it, so late, and left out.
    max_future_seconds: int | None = None


def clean_reading(
    raw: Any, received: datetime | None, limits: Limits, now: datetime | None = None
) -> tuple[dict, Problems]:
    """Validate one reading; return (document, problems).

    The document keeps the client's field order (``_id`` first), with the
    ``timestamp`` last, set to the receipt time when absent (unless
    ``received`` is None, as for a patch). A timestamp further ahead of
    ``now`` (by default ``received``) than ``limits.max_future_seconds`` is
    refused.
    """
    errors = Problems()
    if not isinstance(raw, dict):
        errors.add({"field": "", "detail": "a reading must be a JSON object"})
        return {}, errors
    if _json_size(raw) > limits.max_bytes:
        errors.add({"field": "", "detail": f"larger than {limits.max_bytes} bytes as JSON"})
        return {}, errors
    # One pass over the fields into the document, with no copy of the reading
    # on the way: the _id first, the timestamp set apart (added last).
    reading, id_problem = {}, None
    if "_id" in raw:
        try:
            reading["_id"] = parse_object_id(raw["_id"])
        except ValueError as error:
            id_problem = str(error)
    _clean_fields(raw, reading, "", 0, limits, errors, skip=("_id", "timestamp"))
    if errors.full:
        return reading, errors
    if id_problem is not None:  # listed after the fields' problems, as a reader meets them
        errors.add({"field": "_id", "detail": id_problem})
    for field in _LABELS:
        if field in raw:
            label = raw[field]
            if not (isinstance(label, str) and 0 < len(label) <= MAX_LABEL_LENGTH):
                errors.add({"field": field, "detail": _LABEL_PROBLEM})
    if "value" in raw:
        value = raw["value"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            errors.add({"field": "value", "detail": "must be a number"})
    if "timestamp" in raw:
        try:
            reading["timestamp"] = parse_timestamp(raw["timestamp"])
        except ValueError as error:
            errors.add({"field": "timestamp", "detail": str(error)})
        else:
            _check_future(reading["timestamp"], now or received, limits.max_future_seconds, errors)
    elif received is not None:
        reading["timestamp"] = bson_time(received)
    return reading, errors


def _check_future(moment: datetime, now: datetime | None, limit: int | None, errors: Problems) -> None:
    if limit is None or now is None or (moment - now).total_seconds() <= limit:  # no overflow near 9999
        return
    clock = now.isoformat(timespec="milliseconds") + "Z"
    detail = f"more than {limit} seconds ahead of the server's clock ({clock}); is the device's clock right?"
    errors.add({"field": "timestamp", "detail": detail})


def _json_size(raw: dict) -> int:
    try:
        return len(orjson.dumps(raw))
    except TypeError:  # an integer past 64 bits, or nested past orjson's 255 levels (both refused below)
        try:
            return len(json.dumps(raw, separators=(",", ":")))
        except RecursionError:
            return 0  # nested too deep to measure, refused by _clean at max_depth


def _check_id(reading: dict, oid: ObjectId, errors: Problems) -> None:
    if reading.pop("_id", oid) != oid:
        errors.add({"field": "_id", "detail": "must match the id in the URL"})


def clean_replacement(raw: Any, oid: ObjectId, received: datetime, limits: Limits) -> dict:
    """Validate a PUT body: a whole reading, whose ``_id`` may only repeat the URL's."""
    reading, errors = clean_reading(raw, received, limits)
    _check_id(reading, oid, errors)
    errors.raise_if_any("the reading")
    return reading


def clean_patch(
    raw: Any, oid: ObjectId, limits: Limits, now: datetime | None = None
) -> tuple[dict, list[str]]:
    """Validate a PATCH body; return (fields to set, fields to remove).

    Top-level fields are merged as in RFC 7396: a field given as ``null``
    is removed. ``timestamp`` and ``_id`` cannot be removed.
    """
    if not isinstance(raw, dict):
        raise ValidationError([{"field": "", "detail": "a patch must be a JSON object"}])
    removals = [key for key, value in raw.items() if value is None]
    given = {key: value for key, value in raw.items() if value is not None}
    changes, errors = clean_reading(given, None, limits, now)
    for key in removals:
        if errors.full:
            break
        if problem := _key_problem(key):
            errors.add({"field": key, "detail": problem})
        if key in ("_id", "timestamp"):
            errors.add({"field": key, "detail": "cannot be removed"})
    _check_id(changes, oid, errors)
    errors.raise_if_any("the patch")
    return changes, removals


def parse_json(raw: bytes | str, field: str) -> Any:
    """Parse JSON text; a ValidationError names the field it came in.

    orjson reads an integer past 64 bits as a double (2**64 becomes 1.8e19),
    which would store a different number than the one sent. Where the text
    has 19 digits in a row, the standard library's parser reads it again,
    exactly, so that validation refuses such integers as it refuses 2**63.
    """
    try:
        value = orjson.loads(raw)
        if _LONG_DIGITS in (raw if isinstance(raw, bytes) else raw.encode()).translate(_DIGITS_AS_ZERO):
            value = json.loads(raw, parse_constant=_no_constant)
        return value
    except (orjson.JSONDecodeError, ValueError) as error:
        raise ValidationError([{"field": field, "detail": f"not valid JSON: {error}"}]) from None
    except RecursionError:  # json's parser, deeper than orjson's 1024 levels never gets here
        raise ValidationError([{"field": field, "detail": "not valid JSON: nested too deep"}]) from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")  # orjson refuses NaN and Infinity too


def check_batch(payload: list, received: datetime, limits: Limits) -> list[tuple[dict, Problems]]:
    """Validate each item of a batch; return (document, problems) for each, in order."""
    return list(_checked(payload, received, limits))


def _checked(payload: list, received: datetime, limits: Limits) -> Iterator[tuple[dict, Problems]]:
    """Validate the items of a batch one by one, as the caller asks for them."""
    if not payload:
        raise ValidationError([{"field": "", "detail": "a batch must hold at least one reading"}])
    if len(payload) > limits.max_batch:
        raise ApiError(f"a batch holds at most {limits.max_batch} readings; got {len(payload)}", status=413)
    seen = set()
    for item in payload:
        reading, problems = clean_reading(item, received, limits)
        if "_id" in reading and reading["_id"] in seen and not problems.full:
            problems.add({"field": "_id", "detail": "appears twice in the batch"})
        seen.add(reading.get("_id"))
        yield reading, problems


def clean_readings(payload: Any, received: datetime, limits: Limits) -> list[dict]:
    """Validate a reading or a batch as a whole; return the documents to store.

    A batch is checked until its answer's list is full: the readings after
    that are not looked at.
    """
    if not isinstance(payload, list):
        reading, errors = clean_reading(payload, received, limits)
        errors.raise_if_any("the reading")
        return [reading]
    errors = Problems(MAX_ERRORS_PER_REQUEST)
    readings, bad, stopped = [], 0, False
    for index, (reading, problems) in enumerate(_checked(payload, received, limits)):
        readings.append(reading)
        if not problems.count:  # most of them: nothing to list
            continue
        bad += 1
        errors.include(problems, index=index)
        stopped = stopped or problems.full
        if errors.count > errors.limit and index + 1 < len(payload):  # more than listed: stop looking
            errors.raise_if_any(f"{len(payload)} readings", stopped=True)
    errors.raise_if_any(f"{bad} of {len(payload)} readings", stopped=stopped)
    return readings


class ObjectIdConverter(BaseConverter):
    """URL converter for reading ids: a malformed id matches no rule, so 404s."""

    # Only an id's shape matches: else /readings/stats matched /readings/<id>
    # too (before to_python refused it), and its Allow listed PUT, PATCH, DELETE.
    regex = _HEX24.pattern

    def to_python(self, value: str) -> ObjectId:
        """Parse the URL segment."""
        try:
            return parse_object_id(value)
        except ValueError:
            # Werkzeug's contract: ValidationError means "this rule does not
            # match". Any other exception escapes Flask-RESTful's error router.
            raise RoutingValidationError() from None

    def to_url(self, value: ObjectId) -> str:
        """Format an id for a URL."""
        return str(value)


class SensorConverter(PathConverter):
    """URL converter for sensor names: any text, slashes included, even first.

    Werkzeug's ``path`` refuses a leading slash, so ``/sensors//lead/latest``
    (or ``%2Flead``) matched nothing, had its slashes merged and was
    redirected to the sensor ``lead``; this one matches it as ``/lead``.
    """

    regex = ".+?"
    part_isolating = False  # it spans segments (werkzeug infers that only from a "/" in the regex)
