"""Direct tests of the pure parsing functions."""

import base64
import math
from datetime import datetime, timedelta, timezone

import pytest
from bson import ObjectId
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from flask_rest_service import validation
from flask_rest_service.bsonvalues import bson_time
from flask_rest_service.errors import ValidationError
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


def _bson_time_or_refusal(text: str):
    """What parse_timestamp gives for an ISO 8601 text, found the general way: bson_time of its parse."""
    try:
        return bson_time(datetime.fromisoformat(text))
    except (ValueError, OverflowError) as error:
        return type(error)


# Every offset fromisoformat reads (to the second), UTC's three spellings among them.
OFFSETS = st.one_of(
    st.sampled_from(["", "Z", "+00:00", "-00:00", "+01:00", "-05:00", "+14:00"]),
    st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)).map(
        lambda offset: datetime(2000, 1, 1, tzinfo=timezone(offset)).isoformat()[19:]
    ),
)


@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)),
    st.sampled_from(["auto", "seconds", "milliseconds", "microseconds", "minutes"]),
    st.sampled_from(["T", " "]),
    OFFSETS,
)
@example(datetime(9999, 12, 31, 23, 59, 59, 999999), "auto", "T", "Z")
@example(datetime(1, 1, 1), "auto", "T", "+01:00")
@example(datetime(2026, 3, 1, 10, 0, 0, 1500), "microseconds", "T", "Z")
def test_an_iso_timestamp_in_utc_parses_as_bson_time_of_it(when, timespec, sep, offset):
    """The short cut for UTC (no offset, Z, +00:00) answers as bson_time does for any offset."""
    text = when.isoformat(sep=sep, timespec=timespec) + offset
    expected = _bson_time_or_refusal(text)
    if isinstance(expected, datetime):
        got = parse_timestamp(text)
        assert (got, got.tzinfo, got.fold, type(got)) == (expected, None, 0, datetime)
    else:
        with pytest.raises(ValueError):
            parse_timestamp(text)


def _reference_clean_reading(raw: dict, received: datetime, limits: Limits):
    """clean_reading as it was before its fields were read in one pass: the oracle for it."""
    errors = validation.Problems()
    fields = {k: v for k, v in raw.items() if k not in ("_id", "timestamp")}
    reading = validation._clean(fields, "", 0, limits, errors)
    if "_id" in raw:
        try:
            reading = {"_id": validation.parse_object_id(raw["_id"]), **reading}
        except ValueError as error:
            errors.add({"field": "_id", "detail": str(error)})
    for field in ("sensor", "type"):
        label = raw.get(field)
        if field in raw and not (isinstance(label, str) and 0 < len(label) <= validation.MAX_LABEL_LENGTH):
            errors.add({"field": field, "detail": "must be a string of 1 to 200 characters"})
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
        reading["timestamp"] = bson_time(received)
    return reading, errors


# Names a reading's fields may have, good and bad: each of _key_problem's cases, the
# names clean_reading treats apart, and anything else.
KEYS = st.one_of(
    st.sampled_from(["_id", "timestamp", "sensor", "type", "value", "", "$x", "a.b", "a\x00", "$", ".", "x"]),
    st.text(alphabet=st.sampled_from("ab$.\x00_é"), max_size=4),
)
VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**64), max_value=2**64),
        st.floats(),
        st.text(max_size=3),
        st.sampled_from(["65f0000000000000000000aa", "2026-03-01T10:00:00Z", "0", "x" * 201]),
        st.builds(lambda v: {"$date": v}, st.sampled_from(["2026-03-01T10:00:00Z", 5, "no"])),
        st.builds(lambda v: {"$oid": v}, st.sampled_from(["65f0000000000000000000aa", "no"])),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)


@given(KEYS, st.sampled_from(["top", "nested"]))
@example("$", "top")
@example("a\x00", "nested")
def test_a_field_name_is_refused_as_key_problem_says(key, where):
    """The inline test of a name gives _key_problem's verdict: the same names refused, its words."""
    raw = {key: "v"} if where == "top" else {"n": {key: "v"}}
    if where == "top" and key in ("_id", "timestamp", "sensor", "type", "value"):
        return  # names with checks of their own
    reading, errors = clean_reading(raw, datetime(2026, 1, 1), Limits())
    field = key if where == "top" else f"n.{key}"
    problem = validation._key_problem(key)
    assert errors.listed == ([{"field": field, "detail": problem}] if problem else [])
    if not problem:
        assert (reading if where == "top" else reading["n"])[key] == "v"


@given(st.dictionaries(KEYS, VALUES, max_size=8))
@example({"$x": 1, "_id": "no", "a.b": 2, "sensor": "", "timestamp": "no", "type": 3, "value": True})
@example({"_id": "65f0000000000000000000aa", "b": {"a.b": 1, "c": [{"$d": 2}]}, "x": 2**64})
def test_clean_reading_answers_as_its_reference(raw):
    """The same problems listed, in the same order; unless checking stopped (more than are listed),
    the same count and the same document (field order included)."""
    limits = Limits(max_depth=3)
    reading, errors = clean_reading(raw, datetime(2026, 1, 1), limits)
    expected, expected_errors = _reference_clean_reading(raw, datetime(2026, 1, 1), limits)
    assert errors.listed == expected_errors.listed
    if not errors.full:
        assert list(reading.items()) == list(expected.items())
        assert errors.count == expected_errors.count


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


# --- checking stops once the answer's list is full ---------------------------------------------------


class Counted(dict):
    """A reading that counts the fields the validator looks at (``items`` is how it walks them)."""

    looked = 0

    def items(self):
        for pair in super().items():
            self.looked += 1
            yield pair


BIG = Limits(max_bytes=10**8)  # the size limit would refuse these before any field is looked at
NOW = datetime(2026, 3, 1, 10)


def bad_names(count: int) -> Counted:
    return Counted({f"${n}": 1 for n in range(count)})


def test_a_reading_of_many_bad_names_is_looked_at_until_one_past_the_list():
    reading = bad_names(100_000)
    _, problems = clean_reading(reading, NOW, BIG)
    assert (reading.looked, problems.count, len(problems.listed), problems.full) == (11, 11, 10, True)
    assert problems.listed[0] == {"field": "$0", "detail": "field names must not start with '$'"}


def test_a_nested_list_of_bad_objects_is_looked_at_until_one_past_the_list():
    items = [Counted({"$x": 1}) for _ in range(1000)]
    _, problems = clean_reading({"deep": items}, NOW, BIG)
    assert [item.looked for item in items] == [1] * 11 + [0] * 989
    assert (problems.count, problems.full) == (11, True)
    assert problems.listed[:2] == [
        {"field": "deep.0.$x", "detail": "field names must not start with '$'"},
        {"field": "deep.1.$x", "detail": "field names must not start with '$'"},
    ]


def test_a_batch_is_looked_at_until_one_past_its_list_and_no_further():
    batch = [bad_names(1000) for _ in range(50)]
    with pytest.raises(ValidationError) as raised:
        validation.clean_readings(batch, NOW, BIG)
    assert [reading.looked for reading in batch] == [11] * 10 + [0] * 40
    assert raised.value.detail == "at least 110 problems in 50 readings; the first 100 are listed"
    assert raised.value.errors[:1] + raised.value.errors[-1:] == [
        {"index": 0, "field": "$0", "detail": "field names must not start with '$'"},
        {"index": 9, "field": "$9", "detail": "field names must not start with '$'"},
    ]


def test_each_item_of_a_partial_batch_is_looked_at_until_one_past_its_list():
    batch = [bad_names(1000) for _ in range(3)] + [{"value": 1}]
    checked = validation.check_batch(batch, NOW, BIG)
    assert [reading.looked for reading in batch[:3]] == [11, 11, 11]
    assert [(problems.count, len(problems.listed)) for _, problems in checked] == [(11, 10)] * 3 + [(0, 0)]


def test_a_patch_removing_many_bad_names_is_looked_at_until_one_past_the_list():
    patch = {f"${n}": None for n in range(1000)}
    with pytest.raises(ValidationError) as raised:
        validation.clean_patch(patch, ObjectId(), BIG, NOW)
    assert raised.value.detail == "at least 11 problems in the patch; the first 10 are listed"
    assert raised.value.errors == [
        {"field": f"${n}", "detail": "field names must not start with '$'"} for n in range(10)
    ]
