"""What a store keeps is what was sent: the same on every store, read back through the API and the store."""

import json
from datetime import datetime

import pytest
from bson import ObjectId, json_util
from conftest import everything, only

T0 = "2026-03-01T10:00:00Z"


def test_documents_round_trip_exactly(client, readings):
    ref = ObjectId("65f000000000000000000001")
    reading = {
        "sensor": "gps-ü-北",  # unicode in values
        "zeta": 1,  # key order as sent, not sorted
        "alpha": 1.0,  # a double stays a double
        "big": 2**63 - 1,  # the largest int64
        "small": -(2**63),
        "nested": {
            "ts": {"$date": "1969-12-31T23:59:59.999Z"},
            "ids": [{"$oid": str(ref)}, [1, 2.5, None, True]],
        },
        "ключ": "значение",  # unicode in names
        "empty": {},
        "list": [],
        "timestamp": T0,
    }
    body = json.dumps(reading)  # sent as the text itself: the test client would sort the keys
    response = client.post("/readings/", data=body, content_type="application/json")
    assert response.status_code == 201
    stored = only(readings)
    expected = {
        "_id": stored["_id"],
        "sensor": "gps-ü-北",
        "zeta": 1,
        "alpha": 1.0,
        "big": 2**63 - 1,
        "small": -(2**63),
        "nested": {"ts": datetime(1969, 12, 31, 23, 59, 59, 999000), "ids": [ref, [1, 2.5, None, True]]},
        "ключ": "значение",
        "empty": {},
        "list": [],
        "timestamp": datetime(2026, 3, 1, 10),
    }
    assert stored == expected
    assert list(stored) == list(expected)
    assert isinstance(stored["alpha"], float) and isinstance(stored["zeta"], int)
    again = client.get(f"/readings/{stored['_id']}")
    assert json_util.loads(again.get_data(as_text=True)) == expected
    assert list(json.loads(again.get_data(as_text=True))) == list(expected)
    assert again.get_data() == response.get_data()


def test_patch_appends_new_fields_in_mongodbs_order(client, readings, store_kind):
    # MongoDB 5.0+ "update operators process document fields with string-based
    # names in lexicographic order"; mongomock appends them in the order given.
    if store_kind == "mongomock":
        pytest.skip(
            "mongomock appends $set fields in the order given; MongoDB (and the SQLite store) sort them"
        )
    oid = client.post("/readings/", json={"value": 1, "timestamp": T0}).json["_id"]["$oid"]
    body = json.dumps({"zulu": 1, "alpha": 2, "value": 3, "mike": 4})
    response = client.patch(f"/readings/{oid}", data=body, content_type="application/json")
    assert list(response.json) == ["_id", "value", "timestamp", "alpha", "mike", "zulu"]
    assert list(only(readings)) == ["_id", "value", "timestamp", "alpha", "mike", "zulu"]
    assert only(readings)["value"] == 3


def test_patch_keeps_fields_in_place_and_removes_with_null(client, readings):
    oid = client.post(
        "/readings/", data=json.dumps({"b": 1, "a": 2, "timestamp": T0}), content_type="application/json"
    ).json["_id"]["$oid"]
    response = client.patch(f"/readings/{oid}", json={"b": 5, "a": None})
    assert list(response.json) == ["_id", "b", "timestamp"]
    assert only(readings) == {"_id": ObjectId(oid), "b": 5, "timestamp": datetime(2026, 3, 1, 10)}


@pytest.mark.parametrize(
    ("field", "expected_sum"),
    [("value", 6), ("pos.lat", 4.5), ("battery", 7)],
)
def test_stats_on_any_numeric_field(client, readings, field, expected_sum):
    readings.insert(
        [
            {
                "sensor": "k",
                "value": 1,
                "pos": {"lat": 1.5},
                "battery": 3,
                "timestamp": datetime(2026, 3, 1, 10),
            },
            {
                "sensor": "k",
                "value": 2,
                "pos": {"lat": 3.0},
                "battery": "low",
                "timestamp": datetime(2026, 3, 1, 10, 1),
            },
            {
                "sensor": "k",
                "value": 3,
                "pos": [{"lat": 9}],
                "battery": 4,
                "timestamp": datetime(2026, 3, 1, 10, 2),
            },
        ]
    )
    query = f"sensor=k&interval=1h&field={field}&since=2026-03-01T10:00:00Z&until=2026-03-01T11:00:00Z"
    response = client.get(f"/readings/stats?{query}")
    assert response.status_code == 200
    assert [bucket["sum"] for bucket in response.json["buckets"]] == [expected_sum]


def test_ids_made_by_the_store_are_object_ids(client, readings):
    client.post("/readings/", json={"value": 1})
    assert isinstance(only(readings)["_id"], ObjectId)


def test_every_store_lists_in_the_same_order(client, readings):
    same = datetime(2026, 3, 1, 10)
    readings.insert(
        [
            {
                "_id": ObjectId(f"{n:024x}"),
                "value": n,
                "timestamp": same if n % 2 else datetime(2026, 3, 1, n),
            }
            for n in (5, 1, 4, 2, 3)
        ]
    )
    # Oldest first by (timestamp, _id): 02:00, 04:00, then the three at 10:00 by id.
    assert [doc["value"] for doc in everything(readings)] == [2, 4, 1, 3, 5]
    assert [doc["value"] for doc in client.get("/readings/").json] == [5, 3, 1, 4, 2]
