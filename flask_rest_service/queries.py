"""Turn query strings into clean values.

Every endpoint's parameters are a model in ``schemas`` (which the OpenAPI
document shows); an unknown or repeated parameter, or a malformed value, is
a 400 naming it and what it accepts. Each value is checked against its
field's shape, then converted here (timestamps, cursors, durations).
Values are always literals: nothing here becomes a query operator.
"""

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pydantic import ValidationError as PydanticError

from . import schemas
from .bounds import MAX_LABEL_LENGTH, MAX_OVERVIEW_PAGE_SIZE, OVERVIEW_HOURS, OVERVIEW_PAGE_SIZE
from .bsonvalues import EPOCH, epoch_millis
from .errors import ApiError, ValidationError
from .stores.base import Filters, ListQuery, Position, StatsQuery
from .validation import (
    FIRST_DATE,
    FIRST_MS,
    LAST_MS,
    OUT_OF_RANGE,
    parse_duration,
    parse_field_path,
    parse_timestamp,
)

WHEN = "must be an ISO 8601 date-time or Unix epoch seconds"
STATS_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class SensorQuery:
    """A validated ``GET /sensors/`` query: a page of names after ``after`` that start with ``prefix``."""

    prefix: str
    limit: int
    after: str | None


@dataclass(frozen=True)
class OverviewQuery:
    """A validated ``GET /sensors/overview`` query: a page of sensors and the window of their day."""

    sensors: SensorQuery
    since: datetime
    until: datetime


@dataclass(frozen=True)
class ExportQuery:
    """A validated ``GET /readings/export`` query."""

    filters: Filters
    format: str


# --- one value each: what the schema's shape leaves to say --------------


def _when(raw: str) -> datetime:
    try:
        return parse_timestamp(raw)
    except ValueError as error:
        raise ValueError(OUT_OF_RANGE if str(error) == OUT_OF_RANGE else WHEN) from None


def _limit(raw: str, maximum: int) -> int:
    # Digits only: int() (and pydantic's lax int) would take "1_0", " 5", "+5" and "5.0".
    if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= maximum:
        return int(raw)
    raise ValueError(f"must be an integer from 1 to {maximum}")


def encode_cursor(position: Position) -> str:
    """Encode a keyset position as an opaque URL-safe token: ``<epoch ms>:<id>``, ``-:<id>`` if undated."""
    when = "-" if position.timestamp is None else str(epoch_millis(position.timestamp))
    raw = f"{when}:{position.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> Position:
    """Decode a token from ``encode_cursor`` exactly (integer milliseconds); ValueError if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        millis, oid = raw.split(":")
        if millis != "-" and not re.fullmatch("-?[0-9]+", millis):  # int() takes "1_0", " 1", "١"
            raise ValueError(millis)
        when = None if millis == "-" else EPOCH + timedelta(milliseconds=int(millis))
        return Position(when, ObjectId(oid))
    except (binascii.Error, UnicodeDecodeError, ValueError, InvalidId, TypeError, OverflowError):
        raise ValueError("not a cursor this service issued; follow the Link header") from None


SENSOR_CURSOR = "s:"  # so that a readings cursor is not taken for a sensor's name


def encode_sensor_cursor(sensor: str) -> str:
    """Encode the last sensor of a page as an opaque URL-safe token."""
    return base64.urlsafe_b64encode((SENSOR_CURSOR + sensor).encode()).decode().rstrip("=")


def decode_sensor_cursor(token: str) -> str:
    """Decode a token from ``encode_sensor_cursor``; ValueError if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    name = raw.removeprefix(SENSOR_CURSOR)
    if not raw.startswith(SENSOR_CURSOR) or not 1 <= len(name) <= MAX_LABEL_LENGTH:
        raise ValueError("not a cursor this service issued; follow the Link header")
    return name


# Turning a parameter's text, once its shape is checked, into the value the store takes.
CONVERT: dict[str, Callable[[str], Any]] = {
    "since": _when,
    "until": _when,
    "cursor": decode_cursor,
    "field": parse_field_path,
    "interval": lambda raw: parse_duration(raw) * 1000,  # in milliseconds
}
# Where a model's parameter of the same name means something else.
OWN_CONVERT: dict[type, dict[str, Callable[[str], Any]]] = {
    schemas.SensorParams: {"cursor": decode_sensor_cursor},
}
FILTERS = ("sensor", "type", "since", "until")


# --- whole query strings -------------------------------------------------


def _parse(args, model: type[schemas.BaseModel], max_limit: int | None = None):
    """Check each parameter against its field of ``model``; return (values, problems so far)."""
    fields = model.model_fields
    values: dict[str, Any] = {}
    errors: list = []
    for name in args:
        if name not in fields:
            accepted = f"accepted: {', '.join(fields)}" if fields else "this endpoint takes none"
            errors.append({"parameter": name, "detail": f"unknown parameter; {accepted}"})
        elif len(args.getlist(name)) > 1:
            errors.append({"parameter": name, "detail": "given more than once"})
        else:
            try:
                values[name] = _value(model, name, args[name], max_limit)
            except ValueError as error:
                errors.append({"parameter": name, "detail": str(error)})
    errors += [
        {"parameter": name, "detail": "required"}
        for name, info in fields.items()
        if info.is_required() and name not in args
    ]
    if values.get("since") and values.get("until") and values["since"] >= values["until"]:
        errors.append({"parameter": "until", "detail": "must be later than since"})
    return values, errors


def _value(model: type[schemas.BaseModel], name: str, raw: str, max_limit: int | None) -> Any:
    if name == "limit":  # its maximum is a setting, or the endpoint's
        return _limit(raw, max_limit)
    try:
        schemas.adapter(model, name).validate_python(raw)
    except PydanticError as error:
        raise ValueError(schemas.problem(model.model_fields[name], error.errors()[0])) from None
    own = next((OWN_CONVERT[base] for base in model.__mro__ if base in OWN_CONVERT), {})
    convert = own.get(name) or CONVERT.get(name)
    return convert(raw) if convert else raw


def _filters(values: dict) -> Filters:
    return Filters(**{name: values[name] for name in FILTERS if name in values})


def _done(errors: list) -> None:
    if errors:
        raise ValidationError(errors, "the query string")


def parse_list_query(args, default_limit: int, max_limit: int) -> ListQuery:
    """Validate the query string of ``GET /readings/``."""
    values, errors = _parse(args, schemas.ListParams, max_limit)
    _done(errors)
    return ListQuery(_filters(values), values.get("limit", default_limit), values.get("cursor"))


def parse_sensor_query(args, default_limit: int, max_limit: int) -> SensorQuery:
    """Validate the query string of ``GET /sensors/``."""
    values, errors = _parse(args, schemas.SensorParams, max_limit)
    _done(errors)
    return _sensor_query(values, default_limit)


def _sensor_query(values: dict, default_limit: int) -> SensorQuery:
    return SensorQuery(values.get("prefix", ""), values.get("limit", default_limit), values.get("cursor"))


def parse_overview_query(args, now: datetime) -> OverviewQuery:
    """Validate ``GET /sensors/overview``: its window is the 24 hours up to ``until``, up to the hour."""
    values, errors = _parse(args, schemas.OverviewParams, MAX_OVERVIEW_PAGE_SIZE)
    _done(errors)
    hour = 3600 * 1000
    end = -(-epoch_millis(values.get("until", now)) // hour) * hour  # up to the hour
    start = end - OVERVIEW_HOURS * hour
    if start < FIRST_MS or end > LAST_MS:  # checked before a datetime is made of them
        _done([{"parameter": "until", "detail": f"must leave a window of {OVERVIEW_HOURS} whole hours"}])
    window = (EPOCH + timedelta(milliseconds=start), EPOCH + timedelta(milliseconds=end))
    return OverviewQuery(_sensor_query(values, OVERVIEW_PAGE_SIZE), *window)


def parse_export_query(args) -> ExportQuery:
    """Validate the query string of ``GET /readings/export``."""
    values, errors = _parse(args, schemas.ExportParams)
    _done(errors)
    return ExportQuery(_filters(values), values.get("format", "csv"))


def parse_delete_query(args) -> Filters:
    """Validate the query string of ``DELETE /readings/``: ``until`` is required."""
    values, errors = _parse(args, schemas.DeleteParams)
    _done(errors)
    return _filters(values)


def parse_post_query(args) -> bool:
    """Validate the query string of ``POST /readings/``; return whether ``partial``."""
    values, errors = _parse(args, schemas.PostParams)
    _done(errors)
    return values.get("partial") == "true"


def parse_nothing(args) -> None:
    """Refuse any parameter, for endpoints that take none."""
    _done(_parse(args, schemas.NoParams)[1])


def parse_limit(args, default: int, maximum: int) -> int:
    """Validate a query string that may only give ``limit``."""
    values, errors = _parse(args, schemas.LimitParams, maximum)
    _done(errors)
    return values.get("limit", default)


def parse_type_query(args) -> Filters:
    """Validate a query string that may only narrow by ``type``."""
    values, errors = _parse(args, schemas.TypeParams)
    _done(errors)
    return _filters(values)


def parse_stats_query(args, now: datetime, max_buckets: int) -> StatsQuery:
    """Validate ``GET /readings/stats``; the window defaults to the last 24 hours."""
    values, errors = _parse(args, schemas.StatsParams)
    _done(errors)
    until = values.get("until", now)
    since = values.get("since", max(until, FIRST_DATE + STATS_WINDOW) - STATS_WINDOW)
    if since >= until:
        _done([{"parameter": "since", "detail": "must be earlier than until (default: now)"}])
    step = values["interval"]
    if epoch_millis(since) // step * step < FIRST_MS:
        detail = (
            "too long for this window: its first bucket would start before 0001-01-01 (buckets align to 1970)"
        )
        _done([{"parameter": "interval", "detail": detail}])
    buckets = bucket_starts_count(since, until, step)
    if buckets > max_buckets:
        detail = (
            f"{buckets} buckets asked for, at most {max_buckets}: widen the interval or narrow the window"
        )
        raise ApiError(detail, [{"parameter": "interval", "detail": detail}])
    filters = Filters(values["sensor"], values.get("type"), since, until)
    return StatsQuery(
        filters, values.get("field", "value"), args["interval"], step, values.get("fill", "none")
    )


def bucket_starts_count(since: datetime, until: datetime, step_ms: int) -> int:
    """How many interval-aligned buckets cover [since, until)."""
    first = epoch_millis(since) // step_ms
    last = (epoch_millis(until) - 1) // step_ms
    return last - first + 1
