"""Direct tests of the pure parsing functions."""

import base64
from datetime import datetime

import pytest
from bson import ObjectId
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from flask_rest_service.queries import Filters, ListQuery, decode_cursor, encode_cursor, parse_list_query
from flask_rest_service.stores import Position
from flask_rest_service.validation import Limits, clean_reading, parse_timestamp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10)),
        ("2026-03-01T10:00:00-05:00", datetime(2026, 3, 1, 15)),
        ("2026-03-01", datetime(2026, 3, 1)),
        ("1772359200", datetime(2026, 3, 1, 10)),
        ("1772359200.5", datetime(2026, 3, 1, 10, 0, 0, 500000)),
        (0, datetime(1970, 1, 1)),
        (-86400, datetime(1969, 12, 31)),
    ],
)
def test_parse_timestamp(value, expected):
    assert parse_timestamp(value) == expected


@pytest.mark.parametrize("value", ["", "now", True, None, [], {"$date": None}, {"a": 1}, 10**20])
def test_parse_timestamp_refuses(value):
    with pytest.raises(ValueError):
        parse_timestamp(value)


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 3, 1, 10, 0, 0, 123000),
        None,  # a reading without a date timestamp
        datetime(1960, 1, 1, 0, 0, 0, 1000),
        # Past 2^33 s (2242) a float of seconds no longer holds every millisecond:
        # the cursor once lost this one, and a page skipped or repeated a reading.
        datetime(2250, 1, 27, 17, 1, 1, 81000),
        datetime(9999, 12, 31, 23, 59, 59, 999000),
    ],
)
def test_cursor_round_trips_exactly(when):
    position = Position(when, ObjectId("65f0000000000000000000aa"))
    assert decode_cursor(encode_cursor(position)) == position


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999000)))
def test_every_millisecond_round_trips(when):
    position = Position(when.replace(microsecond=when.microsecond // 1000 * 1000), ObjectId())
    assert decode_cursor(encode_cursor(position)) == position


@pytest.mark.parametrize(
    "raw",
    [
        "1" + "0" * 400 + ":65f0000000000000000000aa",
        "-99999999999999999:65f0000000000000000000aa",
        "x:y",
        "1:2:3",
        "1_0:65f0000000000000000000aa",  # int() takes these three
        " 10:65f0000000000000000000aa",
        "١٠:65f0000000000000000000aa",
    ],
)
def test_forged_cursor_is_refused(raw):
    token = base64.urlsafe_b64encode(raw.encode()).decode()
    with pytest.raises(ValueError, match="not a cursor this service issued"):
        decode_cursor(token)


def test_clean_reading_keeps_order_id_first_and_timestamp_last():
    raw = {"value": 1, "timestamp": 0, "_id": "65f0000000000000000000aa", "sensor": "s"}
    reading, errors = clean_reading(raw, datetime(2026, 1, 1), Limits())
    assert (errors.count, errors.listed) == (0, [])
    assert list(reading) == ["_id", "value", "sensor", "timestamp"]


def test_parse_list_query_defaults():
    assert parse_list_query(MultiDict(), 100, 1000) == ListQuery(limit=100)


def test_parse_list_query_values():
    args = MultiDict({"sensor": "a", "type": "t", "since": "0", "until": "1", "limit": "5"})
    filters = Filters(sensor="a", type="t", since=datetime(1970, 1, 1), until=datetime(1970, 1, 1, 0, 0, 1))
    assert parse_list_query(args, 100, 1000) == ListQuery(filters, limit=5)
