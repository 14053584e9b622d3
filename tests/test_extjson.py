"""The Extended JSON representation equals what bson.json_util writes and reads."""

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from bson import Decimal128, ObjectId, json_util
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_rest_service.extjson import dumps, iso_utc, iso_utc_all, lines

DOCS = [
    {
        "_id": ObjectId("65f0000000000000000000aa"),
        "sensor": "kitchen",
        "value": 21.5,
        "n": 2**62,
        "ok": True,
        "none": None,
        "nested": {"list": [1, "two", {"three": 3.0}], "when": datetime(2026, 3, 1, 10, 0, 0, 123000)},
        "timestamp": datetime(2026, 3, 1, 10),
    },
    {"_id": ObjectId("65f0000000000000000000ab"), "old": datetime(1960, 1, 1), "far": datetime(9999, 12, 31)},
]


def test_output_reads_back_as_the_same_documents():
    assert json_util.loads(dumps(DOCS)) == DOCS


def test_output_equals_json_util_relaxed_mode():
    expected = json_util.dumps(DOCS, json_options=json_util.RELAXED_JSON_OPTIONS)
    assert orjson.loads(dumps(DOCS)) == orjson.loads(expected)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 3, 1, 10), "2026-03-01T10:00:00Z"),
        (datetime(2026, 3, 1, 10, 0, 0, 5000), "2026-03-01T10:00:00.005Z"),
        (datetime(2026, 3, 1, 11, tzinfo=UTC).astimezone(), "2026-03-01T11:00:00Z"),
    ],
)
def test_dates_are_utc_with_milliseconds_only_when_non_zero(moment, text):
    assert iso_utc(moment) == text
    assert dumps({"t": moment}) == b'{"t":{"$date":"' + text.encode() + b'"}}'


def test_other_bson_types_fall_back_to_json_util():
    assert orjson.loads(dumps({"d": Decimal128("1.5")})) == {"d": {"$numberDecimal": "1.5"}}


def _readings(**changes):
    base = [
        {"_id": ObjectId(f"65f0000000000000000000{n:02x}"), "sensor": "kitchen", "value": n / 4,
         "timestamp": datetime(2026, 3, 1, 10, 0, n, 1000 * n * 7)}
        for n in range(4)
    ]  # fmt: skip
    return [{**doc, **changes} for doc in base] if changes else base


def _as_json_util(docs):
    return orjson.loads(json_util.dumps(docs, json_options=json_util.RELAXED_JSON_OPTIONS))


def test_a_list_of_readings_is_json_util_output():
    # The path that formats all the timestamps in one call.
    docs = _readings()
    assert orjson.loads(dumps(docs)) == _as_json_util(docs)
    assert json_util.loads(dumps(docs)) == docs
    assert orjson.loads(dumps(docs))[1]["timestamp"] == {"$date": "2026-03-01T10:00:01.007Z"}
    assert orjson.loads(dumps(docs))[0]["timestamp"] == {"$date": "2026-03-01T10:00:00Z"}


def test_the_documents_given_are_left_as_they_were():
    docs = _readings()
    dumps(docs)
    b"".join(lines(docs))
    assert docs == _readings()


def test_the_documents_are_restored_when_a_value_cannot_be_written():
    docs = _readings(tags={"a set"})
    with pytest.raises(TypeError):
        dumps(docs)
    assert docs == _readings(tags={"a set"})


@pytest.mark.parametrize(
    "docs",
    [
        _readings(timestamp=datetime(1969, 12, 31, 23, 59, 59)),  # before 1970: $numberLong
        _readings(timestamp=datetime(2026, 3, 1, 10, 0, 0, 123456)),  # finer than milliseconds
        [*_readings(), {"sensor": "no timestamp"}],
        [*_readings(), {"timestamp": "2026-03-01"}],
        [*_readings(), {"timestamp": datetime(2026, 3, 1, tzinfo=UTC)}],
        _readings(
            meta={"at": datetime(2026, 3, 1, 10, 0, 0, 5000), "id": ObjectId("65f0000000000000000000ff")}
        ),
        [],
    ],
    ids=["pre-1970", "microseconds", "missing", "text", "aware", "nested", "empty"],
)
def test_lists_the_fast_path_cannot_take_are_still_json_util_output(docs):
    assert orjson.loads(dumps(docs)) == _as_json_util(docs)


def test_lists_of_other_values():
    assert (
        dumps([1, "two", None, [ObjectId("65f0000000000000000000aa")]])
        == b'[1,"two",null,[{"$oid":"65f0000000000000000000aa"}]]'
    )


def test_lines_are_one_document_each():
    docs = _readings() * 600  # more than one batch
    assert b"".join(lines(docs)) == b"".join(dumps(doc) + b"\n" for doc in docs)
    assert list(lines([])) == []


# Any list of documents, whichever path it takes: json_util reads back what
# json_util itself would have written.
moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda moment: (
        moment if moment.microsecond % 2 else moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    )
)  # naive (as BSON gives dates back), some in milliseconds and some finer
bson_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    moments,
    st.binary(min_size=12, max_size=12).map(ObjectId),
)
# "$"-keys would read back as Extended JSON wrappers; the service refuses them.
field_names = st.text(max_size=5).filter(lambda name: not name.startswith("$"))
bson_values = st.recursive(
    bson_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(field_names, children, max_size=3)
    ),
    max_leaves=8,
)
documents = st.fixed_dictionaries(
    {"_id": st.binary(min_size=12, max_size=12).map(ObjectId)},
    optional={"timestamp": moments, "value": bson_values, "meta": bson_values},
)


@pytest.mark.slow
@settings(max_examples=examples(300), deadline=None)
@given(st.lists(documents, max_size=6))
def test_any_list_of_documents_reads_back_as_json_util_writes_it(docs):
    ours = dumps(docs)
    assert json_util.loads(ours) == json_util.loads(json_util.dumps(docs))
    assert b"".join(lines(docs)) == b"".join(dumps(doc) + b"\n" for doc in docs)


# Naive dates of any year and fraction, and aware ones: UTC, a zero offset, others.
any_moments = st.one_of(
    st.datetimes(),
    st.datetimes(
        min_value=datetime(2, 1, 1),  # far enough from the years 1 and 9999 to convert to UTC
        max_value=datetime(9998, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(0)), timezone(timedelta(hours=5, minutes=30))]),
    ),
)


@settings(max_examples=examples(300), deadline=None)
@given(st.one_of(st.lists(any_moments, max_size=5), st.lists(moments, max_size=5)))
def test_many_dates_are_formatted_as_iso_utc_formats_each(dates):
    assert iso_utc_all(dates) == list(map(iso_utc, dates))
