"""GET /sensors/ and GET /sensors/<sensor>/latest."""

from datetime import UTC, datetime

import pytest
import time_machine
from bson import ObjectId
from conftest import problem_body

RECEIVED = datetime(2026, 3, 2, 0, 0, 1, 250_000, tzinfo=UTC)  # by the server's clock


@pytest.fixture
def series(readings):
    with time_machine.travel(RECEIVED, tick=False):
        _insert_series(readings)


def _insert_series(readings):
    readings.insert(
        [
            {"_id": ObjectId(f"{1:024x}"), "sensor": "kitchen", "value": 20, "timestamp": datetime(2026, 3, 1, 10)},
            {"_id": ObjectId(f"{2:024x}"), "sensor": "kitchen", "value": 22, "timestamp": datetime(2026, 3, 1, 12)},
            {"_id": ObjectId(f"{3:024x}"), "sensor": "kitchen", "type": "hum", "value": 40, "timestamp": datetime(2026, 3, 1, 11)},
            {"_id": ObjectId(f"{4:024x}"), "sensor": "attic/north", "value": 5, "timestamp": datetime(2026, 2, 1)},
            {"_id": ObjectId(f"{5:024x}"), "value": 1, "timestamp": datetime(2026, 3, 2)},  # no sensor
        ]
    )  # fmt: skip


def test_empty_store_has_no_sensors(client):
    assert client.get("/sensors/").json == []


def test_sensors_list_count_first_last_and_latest(client, series):
    response = client.get("/sensors/")
    assert response.status_code == 200
    assert response.json == [
        {
            "sensor": "attic/north", "count": 1,
            "first": {"$date": "2026-02-01T00:00:00Z"}, "last": {"$date": "2026-02-01T00:00:00Z"},
            "latest": {"_id": {"$oid": f"{4:024x}"}, "sensor": "attic/north", "value": 5,
                       "timestamp": {"$date": "2026-02-01T00:00:00Z"}},
            "reported": {"$date": "2026-03-02T00:00:01.250Z"},
        },
        {
            "sensor": "kitchen", "count": 3,
            "first": {"$date": "2026-03-01T10:00:00Z"}, "last": {"$date": "2026-03-01T12:00:00Z"},
            "latest": {"_id": {"$oid": f"{2:024x}"}, "sensor": "kitchen", "value": 22,
                       "timestamp": {"$date": "2026-03-01T12:00:00Z"}},
            "reported": {"$date": "2026-03-02T00:00:01.250Z"},
        },
    ]  # fmt: skip


def test_a_resend_is_reported_though_nothing_is_stored(client, series, readings):
    resend = {
        "_id": ObjectId(f"{4:024x}"),
        "sensor": "attic/north",
        "value": 5,
        "timestamp": datetime(2026, 2, 1),
    }
    with time_machine.travel(datetime(2026, 3, 5, 8, tzinfo=UTC), tick=False):
        readings.insert([resend])  # one, then several: the two ways a store inserts
    with time_machine.travel(datetime(2026, 3, 6, 8, tzinfo=UTC), tick=False):
        readings.insert([{**resend, "_id": ObjectId(f"{2:024x}"), "sensor": "kitchen", "value": 22}, resend])
    sensors = {entry["sensor"]: entry for entry in client.get("/sensors/").json}
    assert {name: (entry["count"], entry["reported"]) for name, entry in sensors.items()} == {
        "attic/north": (1, {"$date": "2026-03-06T08:00:00Z"}),
        "kitchen": (3, {"$date": "2026-03-06T08:00:00Z"}),
    }


def test_sensors_take_no_parameters(client):
    response = client.get("/sensors/?limit=5")
    assert response.status_code == 400
    assert response.json["errors"] == [
        {"parameter": "limit", "detail": "unknown parameter; this endpoint takes none"}
    ]


def test_latest_reading_of_a_sensor(client, series):
    response = client.get("/sensors/kitchen/latest")
    assert response.status_code == 200
    assert response.json["_id"] == {"$oid": f"{2:024x}"}


def test_latest_of_a_type(client, series):
    assert client.get("/sensors/kitchen/latest?type=hum").json["value"] == 40


def test_latest_of_a_sensor_name_with_a_slash(client, series):
    assert client.get("/sensors/attic/north/latest").json["value"] == 5
    assert client.get("/sensors/attic%2Fnorth/latest").json["value"] == 5


@pytest.mark.parametrize(
    "path", ["/sensors//lead/latest", "/sensors/%2Flead/latest", "/sensors/%2flead/latest"]
)
def test_a_sensor_name_starting_with_a_slash_is_reached_not_redirected(client, readings, path):
    readings.insert([{"sensor": "/lead", "value": 1, "timestamp": datetime(2026, 3, 1)},
                     {"sensor": "lead", "value": 2, "timestamp": datetime(2026, 3, 1)}])  # fmt: skip
    response = client.get(path)
    assert response.status_code == 200
    assert (response.json["sensor"], response.json["value"]) == ("/lead", 1)


def test_a_sensor_name_of_slashes_is_reached(client, readings):
    readings.insert([{"sensor": "//a//", "value": 1, "timestamp": datetime(2026, 3, 1)}])
    assert client.get("/sensors///a///latest").json["sensor"] == "//a//"


def test_latest_of_an_unknown_sensor_is_a_json_404(client, series):
    response = client.get("/sensors/garage/latest")
    assert response.status_code == 404
    assert response.json == problem_body(404, "Not Found", "sensor 'garage' has no readings")
