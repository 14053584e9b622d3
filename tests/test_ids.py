"""Reading ids: no client can pre-empt another's, and "already stored" means a resend (issue 17).

Before, a server-made id showed the next ones (bson's ObjectId: random bytes
drawn once per process, then a counter): a write key that stored readings
under them first made another device's POSTs answer 500 (SQLite) or "200
already stored" with the attacker's document (MongoDB).
"""

from datetime import UTC, datetime

import pytest
import time_machine
from bson import ObjectId
from conftest import everything, problem_body

from flask_rest_service.stores import ids

T0 = "2026-03-01T10:00:00Z"
OID = "65f0000000000000000000aa"
CONFLICT = {
    "field": "_id",
    "detail": "a reading with this _id is stored already, with other content: "
    "a resend must be the same reading (its timestamp aside)",
}


@pytest.fixture
def frozen():
    # One second for the whole test: the ids' time bytes do not help them differ.
    with time_machine.travel(datetime(2026, 3, 1, 10, tzinfo=UTC), tick=False):
        yield


def successors(oid: dict, count: int) -> list[str]:
    """The ids bson's ObjectId() would make next after this one: its counter plus 1, 2, ..."""
    raw = ObjectId(oid["$oid"]).binary
    counter = int.from_bytes(raw[9:], "big")
    return [
        str(ObjectId(raw[:9] + ((counter + n) % (1 << 24)).to_bytes(3, "big"))) for n in range(1, count + 1)
    ]


def test_a_device_s_readings_are_its_own_though_another_key_pre_stores_the_predicted_ids(
    client, readings, frozen
):
    seen = client.post("/readings/", json={"sensor": "attacker", "value": 0}).json["_id"]
    for oid in successors(seen, 6):
        assert (
            client.post("/readings/", json={"_id": oid, "sensor": "attacker", "value": -1}).status_code == 201
        )
    for n in range(6):
        response = client.post("/readings/", json={"sensor": "victim", "value": n})
        assert response.status_code == 201
        assert (response.json["sensor"], response.json["value"]) == ("victim", n)
    stored = [doc["value"] for doc in everything(readings) if doc["sensor"] == "victim"]
    assert sorted(stored) == list(range(6))


def test_the_ids_of_one_batch_increase_and_the_next_batch_s_cannot_be_told_from_them(frozen):
    first, second = ids.new(3), ids.new(3)
    assert first == sorted(first) and second == sorted(second)
    assert len({oid.binary[4:9] for oid in first + second}) == 2  # the random part is drawn per batch


@pytest.mark.parametrize("batch", [False, True])
def test_a_new_id_that_meets_a_stored_one_is_drawn_again(client, readings, monkeypatch, batch):
    client.post("/readings/", json={"_id": OID, "sensor": "first", "value": 0, "timestamp": T0})
    drawn = []
    real = ids.new

    def colliding(count):
        drawn.append(count)
        made = real(count)
        return [ObjectId(OID), *made[1:]] if len(drawn) == 1 else made

    monkeypatch.setattr(ids, "new", colliding)
    body = {"sensor": "second", "value": 1, "timestamp": T0}
    response = client.post("/readings/", json=[body, {**body, "value": 2}] if batch else body)
    assert response.status_code == 201
    made = response.json if batch else [response.json]
    assert [doc["value"] for doc in made] == ([1, 2] if batch else [1])
    assert all(doc["_id"] != {"$oid": OID} for doc in made)
    assert sorted((doc["sensor"], doc["value"]) for doc in everything(readings)) == [
        ("first", 0),
        *[("second", doc["value"]) for doc in made],
    ]


def test_a_resend_with_other_content_is_a_409_and_stores_nothing(client, readings):
    client.post("/readings/", json={"_id": OID, "value": 1, "timestamp": T0})
    response = client.post("/readings/", json={"_id": OID, "value": 99, "timestamp": T0})
    assert response.status_code == 409
    assert response.json == problem_body(409, "Conflict", f"_id {OID} is another reading's", [CONFLICT])
    assert [doc["value"] for doc in everything(readings)] == [1]


def test_a_batch_with_a_conflicting_id_is_a_409_and_stores_none_of_it(client, readings):
    client.post("/readings/", json={"_id": OID, "value": 1, "timestamp": T0})
    batch = [{"value": 2, "timestamp": T0}, {"_id": OID, "value": 99, "timestamp": T0}]
    response = client.post("/readings/", json=batch)
    assert response.status_code == 409
    assert response.json == problem_body(
        409, "Conflict", "1 of 2 readings: nothing stored", [{"index": 1, **CONFLICT}]
    )
    assert [doc["value"] for doc in everything(readings)] == [1]


def test_a_resend_of_a_server_timed_reading_is_already_stored(client, readings):
    first = client.post("/readings/", json={"_id": OID, "value": 1})
    again = client.post("/readings/", json={"_id": OID, "value": 1})  # timed again on arrival
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert readings.count() == 1


def test_a_partial_batch_rejects_a_conflicting_id_and_stores_the_rest(client, readings):
    client.post("/readings/", json={"_id": OID, "value": 1, "timestamp": T0})
    batch = [{"_id": OID, "value": 99, "timestamp": T0}, {"value": 2, "timestamp": T0}]
    response = client.post("/readings/?partial=true", json=batch)
    assert response.status_code == 207
    assert response.json[0] == {"index": 0, "status": "rejected", "errors": [CONFLICT]}
    assert response.json[1]["status"] == "stored"
    assert sorted(doc["value"] for doc in everything(readings)) == [1, 2]
