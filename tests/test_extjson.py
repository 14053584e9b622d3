"""The Extended JSON representation equals what bson.json_util writes and reads."""

from datetime import UTC, datetime

import orjson
import pytest
from bson import Decimal128, ObjectId, json_util

from flask_rest_service.extjson import dumps, iso_utc

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
