"""POST /readings/?partial=true: store every valid item, report each by index."""

import pytest
from conftest import everything

OLD = "65f0000000000000000000aa"
NEW = "65f0000000000000000000bb"
T0 = "2026-03-01T10:00:00Z"


def test_partial_batch_stores_the_valid_items_and_answers_207(client, readings):
    client.post("/readings/", json={"_id": OLD, "value": 0, "timestamp": T0})
    batch = [
        {"_id": NEW, "value": 1, "timestamp": T0},
        {"value": "hot", "timestamp": T0},
        {"_id": OLD, "value": 0, "timestamp": T0},
        {"$bad": 1},
    ]
    response = client.post("/readings/?partial=true", json=batch)
    assert response.status_code == 207
    assert response.json == [
        {"index": 0, "status": "stored", "_id": {"$oid": NEW}},
        {"index": 1, "status": "rejected", "errors": [{"field": "value", "detail": "must be a number"}]},
        {"index": 2, "status": "already_stored", "_id": {"$oid": OLD}},
        {
            "index": 3,
            "status": "rejected",
            "errors": [{"field": "$bad", "detail": "field names must not start with '$'"}],
        },
    ]
    assert sorted(str(doc["_id"]) for doc in everything(readings)) == [OLD, NEW]


def test_partial_batch_of_only_bad_items_stores_nothing(client, readings):
    response = client.post("/readings/?partial=true", json=[1, 2])
    assert response.status_code == 207
    assert [item["status"] for item in response.json] == ["rejected", "rejected"]
    assert readings.count() == 0


def test_partial_single_reading_is_a_batch_of_one(client, readings):
    response = client.post("/readings/?partial=true", json={"value": 1})
    assert response.status_code == 207
    assert response.json[0]["status"] == "stored"
    assert readings.count() == 1


def test_partial_false_is_all_or_nothing(client, readings):
    response = client.post("/readings/?partial=false", json=[{"value": 1}, {"value": "x"}])
    assert response.status_code == 400
    assert readings.count() == 0


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("partial=yes", [{"parameter": "partial", "detail": "must be one of: true, false"}]),
        ("atomic=1", [{"parameter": "atomic", "detail": "unknown parameter; accepted: partial"}]),
    ],
)
def test_bad_post_parameters_get_400_and_store_nothing(client, readings, query, errors):
    response = client.post(f"/readings/?{query}", json={"value": 1})
    assert response.status_code == 400
    assert response.json["errors"] == errors
    assert readings.count() == 0
