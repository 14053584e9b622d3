"""Readings without a date timestamp (the 2014 tutorial stored {"reading": ...} with none).

They are kept, listed after every dated reading (by id, newest first), exported
before them (oldest first), counted for their sensor, never aged out, and left
out of anything asked for by time. No endpoint answers them with a 5xx.
"""

import json
from datetime import datetime

import pytest
from bson import ObjectId
from conftest import everything

LEGACY = [ObjectId(f"{n:024x}") for n in (1, 2, 3)]
DATED = [ObjectId(f"{n:024x}") for n in (4, 5)]


@pytest.fixture
def mixed(readings):
    readings.insert(
        [
            {"_id": LEGACY[0], "reading": '{"temp": 20}'},  # as the 2014 tutorial stored it
            {"_id": LEGACY[1], "sensor": "old", "value": 3, "timestamp": "yesterday"},  # not a date
            {"_id": LEGACY[2], "sensor": "old", "value": 4},  # none at all
            {"_id": DATED[0], "sensor": "new", "value": 1, "timestamp": datetime(2026, 3, 1, 10)},
            {"_id": DATED[1], "sensor": "new", "value": 2, "timestamp": datetime(2026, 3, 1, 11)},
        ]
    )


def ids(body):
    return [ObjectId(doc["_id"]["$oid"]) for doc in body]


def test_the_list_shows_dated_readings_then_undated_ones(client, mixed):
    response = client.get("/readings/")
    assert response.status_code == 200
    assert ids(response.json) == [DATED[1], DATED[0], LEGACY[2], LEGACY[1], LEGACY[0]]


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
def test_pages_may_end_on_an_undated_reading(client, mixed, limit):
    seen, url = [], f"/readings/?limit={limit}"
    for _ in range(10):
        response = client.get(url)
        assert response.status_code == 200
        seen += ids(response.json)
        if "Link" not in response.headers:
            break
        url = response.headers["Link"].split(">")[0].removeprefix("<http://localhost")
    assert seen == [DATED[1], DATED[0], LEGACY[2], LEGACY[1], LEGACY[0]]


def test_a_sensors_undated_readings_are_listed_for_it(client, mixed):
    assert ids(client.get("/readings/?sensor=old").json) == [LEGACY[2], LEGACY[1]]


def test_anything_asked_for_by_time_leaves_them_out(client, mixed):
    assert ids(client.get("/readings/?since=2000-01-01").json) == [DATED[1], DATED[0]]
    assert client.get("/readings/stats?sensor=old&interval=1w&since=2000-01-01").json["buckets"] == []


def test_the_export_puts_them_first(client, mixed):
    lines = client.get("/readings/export?format=ndjson").get_data(as_text=True).splitlines()
    assert [ObjectId(json.loads(line)["_id"]["$oid"]) for line in lines] == [*LEGACY, *DATED]
    csv = client.get("/readings/export").get_data(as_text=True).splitlines()
    assert csv[0] == "_id,sensor,type,timestamp,value,reading,extra"
    assert csv[2] == f"{LEGACY[1]},old,,yesterday,3,,"


def test_sensors_count_them_and_have_no_dates_without_dated_readings(client, mixed):
    sensors = {entry["sensor"]: entry for entry in client.get("/sensors/").json}
    assert sensors["old"]["count"] == 2
    assert (sensors["old"]["first"], sensors["old"]["last"]) == (None, None)
    assert sensors["old"]["latest"]["_id"] == {"$oid": str(LEGACY[2])}
    assert (sensors["new"]["count"], sensors["new"]["last"]) == (2, {"$date": "2026-03-01T11:00:00Z"})
    assert client.get("/sensors/old/latest").json["_id"] == {"$oid": str(LEGACY[2])}


def test_they_can_be_read_changed_and_deleted_by_id(client, readings, mixed):
    assert client.get(f"/readings/{LEGACY[0]}").json == {
        "_id": {"$oid": str(LEGACY[0])},
        "reading": '{"temp": 20}',
    }
    assert client.patch(f"/readings/{LEGACY[0]}", json={"sensor": "old"}).status_code == 200
    assert client.get("/sensors/").json[1]["count"] == 3
    assert client.delete(f"/readings/{LEGACY[0]}").status_code == 204
    assert [doc["_id"] for doc in everything(readings)] == [LEGACY[1], LEGACY[2], *DATED]


def test_deleting_by_time_keeps_them(client, readings, mixed):
    assert client.delete("/readings/?until=2100-01-01").json == {"deleted": 2}
    assert [doc["_id"] for doc in everything(readings)] == LEGACY
