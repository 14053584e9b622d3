"""DELETE /readings/?until=...: delete old readings of a sensor."""

from datetime import datetime

import pytest
from conftest import everything


@pytest.fixture
def series(readings):
    readings.insert(
        [
            {"sensor": "a", "value": 1, "timestamp": datetime(2026, 1, 1)},
            {"sensor": "a", "value": 2, "timestamp": datetime(2026, 2, 1)},
            {"sensor": "a", "value": 3, "timestamp": datetime(2026, 3, 1)},
            {"sensor": "b", "value": 4, "timestamp": datetime(2026, 1, 1)},
        ]
    )


def remaining(readings):
    return sorted(doc["value"] for doc in everything(readings))


def test_delete_a_sensors_readings_older_than_until(client, readings, series):
    response = client.delete("/readings/?sensor=a&until=2026-03-01T00:00:00Z")
    assert response.status_code == 200
    assert response.json == {"deleted": 2}
    assert remaining(readings) == [3, 4]


def test_delete_older_than_until_for_every_sensor(client, readings, series):
    assert client.delete("/readings/?until=2026-02-01").json == {"deleted": 2}
    assert remaining(readings) == [2, 3]


def test_delete_matching_nothing_deletes_nothing(client, readings, series):
    assert client.delete("/readings/?sensor=zzz&until=2027-01-01").json == {"deleted": 0}
    assert remaining(readings) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("", [{"parameter": "until", "detail": "required"}]),
        ("sensor=a", [{"parameter": "until", "detail": "required"}]),
        (
            "until=soon",
            [{"parameter": "until", "detail": "must be an ISO 8601 date-time or Unix epoch seconds"}],
        ),
        (
            "until=2026-03-01&limit=1",
            [{"parameter": "limit", "detail": "unknown parameter; accepted: sensor, type, since, until"}],
        ),
    ],
)
def test_unfiltered_or_malformed_delete_is_refused_and_deletes_nothing(
    client, readings, series, query, errors
):
    response = client.delete(f"/readings/?{query}")
    assert response.status_code == 400
    assert response.json["errors"] == errors
    assert remaining(readings) == [1, 2, 3, 4]
