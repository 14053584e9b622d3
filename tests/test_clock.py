"""Time that devices cannot bend (issue 17): no reading from the future, no state pinned by a gone one.

Before, one reading dated 9999-12-31 made every later reading of its sensor
"late" (its alerts never moved again), and if it breached a rule the alert
stayed firing for ever, even after the reading was deleted.
"""

from datetime import datetime, timedelta

import pytest
from conftest import ALERTS_T0, everything, problem_body

T0 = ALERTS_T0
OID = "65f0000000000000000000aa"
AHEAD = "more than 900 seconds ahead of the server's clock (2026-03-01T10:00:00.000Z); is the device's clock right?"


@pytest.fixture
def app(app_factory, clock):
    return app_factory(RATE_LIMIT=None)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def notified(app, receiver):
    app.extensions["alerts"].deliver(limit=1000)
    return [
        (body["transition"], body["value"]) for body in (request.get_json() for request, _ in receiver.log)
    ]


def rule(client, receiver, **condition):
    body = {
        "name": "r",
        "kind": "threshold",
        "sensor": "x",
        "notify": [receiver.url_for("/hook")],
        **condition,
    }
    assert client.post("/rules/", json=body).status_code == 201


# --- the future limit ---------------------------------------------------------------------------


def test_a_timestamp_at_the_future_limit_is_taken(client, readings):
    response = client.post("/readings/", json={"value": 1, "timestamp": at(900)})
    assert response.status_code == 201
    assert [doc["timestamp"] for doc in everything(readings)] == [datetime(2026, 3, 1, 10, 15)]


def test_a_timestamp_past_the_future_limit_is_a_400_and_stores_nothing(client, readings):
    response = client.post("/readings/", json={"value": 1, "timestamp": at(900.001)})
    assert response.status_code == 400
    assert response.json == problem_body(
        400, "Bad Request", "1 problem in the reading", [{"field": "timestamp", "detail": AHEAD}]
    )
    assert readings.count() == 0


def test_a_batch_with_a_reading_from_the_future_names_it_and_stores_nothing(client, readings):
    batch = [{"value": 1, "timestamp": at(0)}, {"value": 2, "timestamp": "9999-12-31T23:59:59Z"}]
    response = client.post("/readings/", json=batch)
    assert response.status_code == 400
    assert response.json["errors"] == [{"index": 1, "field": "timestamp", "detail": AHEAD}]
    assert readings.count() == 0


def test_a_reading_from_the_future_sent_as_the_legacy_form_field_is_refused(client, readings):
    response = client.post("/readings/", data={"reading": f'{{"value": 1, "timestamp": "{at(901)}"}}'})
    assert response.status_code == 400
    assert response.json["errors"] == [{"field": "timestamp", "detail": AHEAD}]
    assert readings.count() == 0


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_edit_cannot_move_a_reading_into_the_future(client, readings, method):
    client.post("/readings/", json={"_id": OID, "value": 1, "timestamp": at(0)})
    response = getattr(client, method)(f"/readings/{OID}", json={"value": 1, "timestamp": at(3600)})
    assert response.status_code == 400
    assert response.json["errors"] == [{"field": "timestamp", "detail": AHEAD}]
    assert [doc["timestamp"] for doc in everything(readings)] == [datetime(2026, 3, 1, 10)]


def test_the_future_limit_is_a_setting(app_factory, clock):
    client = app_factory(MAX_FUTURE_SECONDS=0).test_client()
    assert client.post("/readings/", json={"timestamp": at(0)}).status_code == 201
    refused = client.post("/readings/", json={"timestamp": at(0.001)})
    assert refused.json["errors"][0]["detail"].startswith("more than 0 seconds ahead of the server's clock")


def test_after_a_reading_from_the_future_is_refused_the_sensor_s_alerts_still_move(app, client, receiver):
    rule(client, receiver, below=5)
    assert (
        client.post(
            "/readings/", json={"sensor": "x", "value": 9, "timestamp": "9999-12-31T23:59:59Z"}
        ).status_code
        == 400
    )
    for n, value in enumerate([1, 0, -5]):
        assert (
            client.post("/readings/", json={"sensor": "x", "value": value, "timestamp": at(n)}).status_code
            == 201
        )
    assert notified(app, receiver) == [("firing", 1)]


# --- states re-derived from what is stored ---------------------------------------------------------


@pytest.fixture
def far_app(app_factory, clock):
    """An app that takes readings years ahead (MAX_FUTURE_SECONDS set high, as for forecasts)."""
    return app_factory(RATE_LIMIT=None, MAX_FUTURE_SECONDS=10**12)


def test_deleting_the_future_reading_that_fired_resolves_and_later_readings_count(far_app, receiver):
    client = far_app.test_client()
    rule(client, receiver, above=10)
    client.post("/readings/", json={"sensor": "x", "value": 5, "timestamp": at(0)})
    client.post(
        "/readings/", json={"_id": OID, "sensor": "x", "value": 20, "timestamp": "9999-12-31T23:59:59Z"}
    )
    client.post("/readings/", json={"sensor": "x", "value": 6, "timestamp": at(60)})  # late: before 9999
    assert client.delete(f"/readings/{OID}").status_code == 204
    client.post("/readings/", json={"sensor": "x", "value": 30, "timestamp": at(120)})
    assert notified(far_app, receiver) == [("firing", 20), ("resolved", 6), ("firing", 30)]


@pytest.mark.parametrize(
    ("method", "body"),
    [("put", {"sensor": "x", "value": 3, "timestamp": at(60)}), ("patch", {"value": 3})],
)
def test_editing_the_reading_that_fired_re_derives_the_alert(app, client, receiver, method, body):
    rule(client, receiver, above=10)
    client.post("/readings/", json={"sensor": "x", "value": 5, "timestamp": at(0)})
    client.post("/readings/", json={"_id": OID, "sensor": "x", "value": 20, "timestamp": at(60)})
    assert getattr(client, method)(f"/readings/{OID}", json=body).status_code == 200
    assert notified(app, receiver) == [("firing", 20), ("resolved", 3)]
    assert client.get("/alerts/").json == []


def test_moving_the_reading_that_fired_to_another_sensor_re_derives_both(app, client, receiver):
    rule(client, receiver, above=10)
    client.post("/readings/", json={"sensor": "x", "value": 5, "timestamp": at(0)})
    client.post("/readings/", json={"_id": OID, "sensor": "x", "value": 20, "timestamp": at(60)})
    assert client.patch(f"/readings/{OID}", json={"sensor": "y"}).status_code == 200
    assert notified(app, receiver) == [("firing", 20), ("resolved", 5)]


def test_a_bulk_delete_of_the_reading_that_fired_re_derives_the_alert(app, client, receiver):
    rule(client, receiver, above=10)
    client.post("/readings/", json={"sensor": "x", "value": 5, "timestamp": at(-3600)})
    client.post("/readings/", json={"sensor": "x", "value": 20, "timestamp": at(0)})
    response = client.delete(
        f"/readings/?sensor=x&since={at(-60).replace('+00:00', 'Z')}&until={at(1).replace('+00:00', 'Z')}"
    )
    assert response.json == {"deleted": 1}
    assert notified(app, receiver) == [("firing", 20), ("resolved", 5)]


def test_a_delete_that_leaves_the_alert_as_it_was_notifies_nothing(app, client, receiver):
    rule(client, receiver, above=10)
    client.post("/readings/", json={"_id": OID, "sensor": "x", "value": 15, "timestamp": at(0)})
    client.post("/readings/", json={"sensor": "x", "value": 20, "timestamp": at(60)})
    assert client.delete(f"/readings/{OID}").status_code == 204  # the older breach: still firing
    assert notified(app, receiver) == [("firing", 15)]
    assert [alert["state"] for alert in client.get("/alerts/").json] == ["firing"]
