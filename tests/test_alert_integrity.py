"""Alerts that no edit, broken rule or burst can break, silence or lose (issue 17), on every store.

Each test replays a sequence that failed before: a rule edited after it had
fired (its next events reused the ids of its history: a 500 on SQLite, a
notification dropped on MongoDB), a broken rule stopping the periodic check,
the history's prune deleting notifications not yet sent.
"""

from datetime import datetime, timedelta

import pytest
from bson import ObjectId
from conftest import ALERTS_T0

from flask_rest_service import jobs

T0 = ALERTS_T0


@pytest.fixture
def app(app_factory, clock):
    return app_factory(RATE_LIMIT=None)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def post(client, value, minutes, sensor="x"):
    response = client.post("/readings/", json={"sensor": sensor, "value": value, "timestamp": at(minutes)})
    assert response.status_code == 201, response.json
    return response


def rule(client, receiver, **body):
    made = client.post("/rules/", json={"name": "r", "notify": [receiver.url_for("/hook")], **body})
    assert made.status_code == 201, made.json
    return made.json["_id"]["$oid"]


def notified(app, receiver):
    """Deliver what is due; every notification received so far: (transition, sensor, value)."""
    app.extensions["alerts"].deliver(limit=1000)
    return [
        (body["transition"], body["sensor"], body["value"])
        for body in (request.get_json() for request, _ in receiver.log)
    ]


def test_a_rule_edited_after_it_fired_and_resolved_fires_again_once(app, client, receiver):
    oid = rule(client, receiver, kind="threshold", sensor="x", above=10)
    post(client, 20, 0)  # fires
    post(client, 5, 1)  # resolves
    assert client.patch(f"/rules/{oid}", json={"above": 15}).status_code == 200
    post(client, 30, 2)  # fires again: its event must not collide with the first one
    post(client, 31, 3)
    assert notified(app, receiver) == [("firing", "x", 20), ("resolved", "x", 5), ("firing", "x", 30)]
    events = client.get(f"/rules/{oid}/events").json
    assert [event["transition"] for event in events] == ["firing", "resolved", "firing"]
    assert len({event["_id"] for event in events}) == 3


def test_an_edit_restarts_a_firing_alert_at_ok_without_notifying(app, client, receiver):
    oid = rule(client, receiver, kind="threshold", sensor="x", above=10)
    post(client, 20, 0)
    assert client.patch(f"/rules/{oid}", json={"above": 25}).status_code == 200
    alerts = app.extensions["store"].alerts
    [(rule_id, sensor, state)] = alerts.states()
    assert (rule_id, sensor, state.state, state.last_at, state.value) == (
        ObjectId(oid),
        "x",
        "ok",
        None,
        None,
    )
    assert state.version == 2  # the firing wrote 1; the restart goes on from there
    post(client, 30, 1)
    assert notified(app, receiver) == [("firing", "x", 20), ("firing", "x", 30)]


def test_a_quiet_rule_edited_after_it_fired_fires_again_on_the_clock(app, client, receiver, clock):
    oid = rule(client, receiver, kind="quiet", sensor="x", **{"for": "30m"})
    post(client, 1, 0)
    clock.move_to(T0 + timedelta(minutes=31))
    assert jobs.run_once(app) == {}  # fires
    post(client, 1, 32)  # resolves
    assert client.patch(f"/rules/{oid}", json={"for": "10m"}).status_code == 200
    clock.move_to(T0 + timedelta(minutes=43))
    assert jobs.run_once(app) == {}  # fires again
    assert [transition for transition, _, _ in notified(app, receiver)] == ["firing", "resolved", "firing"]


def test_a_broken_rule_leaves_the_check_to_the_other_rules(app, client, receiver, clock, caplog):
    # A rule the engine cannot read (written by hand, or by a future version): the rules after it still move.
    alerts = app.extensions["store"].alerts
    alerts.add_rule({"_id": ObjectId(), "name": "broken", "kind": "quiet", "sensor": "x", "enabled": True,
                     "notify": []})  # fmt: skip
    rule(client, receiver, kind="quiet", sensor="x", **{"for": "30m"})
    post(client, 1, 0)
    clock.move_to(T0 + timedelta(minutes=31))
    jobs.run_once(app)
    assert notified(app, receiver) == [("firing", "x", None)]
    assert "alert rule" in caplog.text and "broken" in caplog.text


def test_a_broken_rule_never_fails_ingest_nor_the_other_rules(app, client, receiver, readings):
    alerts = app.extensions["store"].alerts
    alerts.add_rule({"_id": ObjectId(), "name": "broken", "kind": "threshold", "sensor": "x", "enabled": True,
                     "notify": []})  # fmt: skip
    rule(client, receiver, kind="threshold", sensor="x", above=10)
    response = client.post("/readings/", json={"sensor": "x", "value": 20, "timestamp": at(0)})
    assert response.status_code == 201
    assert readings.count() == 1
    assert notified(app, receiver) == [("firing", "x", 20)]


@pytest.mark.slow
def test_600_sensors_crossing_at_once_are_all_notified_though_the_history_keeps_500(app, client, receiver):
    # One prefix rule, more sensors crossing at once than the history keeps (EVENTS_KEPT):
    # the prune never deletes an event whose notification is still to send.
    from flask_rest_service.stores.alerts import EVENTS_KEPT

    oid = rule(client, receiver, kind="threshold", sensor_prefix="t", above=10)
    batch = [{"sensor": f"t{n:03}", "value": 20, "timestamp": at(0)} for n in range(600)]
    assert client.post("/readings/", json=batch).status_code == 201
    assert jobs.run_once(app) == {}  # the jobs' prune: none sent yet, none may go
    alerts = app.extensions["store"].alerts
    assert app.extensions["alerts"].deliver_due() == 600
    assert sorted(sensor for _, sensor, _ in notified(app, receiver)) == [f"t{n:03}" for n in range(600)]
    assert alerts.prune() == 600 - EVENTS_KEPT  # all sent: the history is bounded again
    assert len(alerts.events(ObjectId(oid), 1000)) == EVENTS_KEPT


def test_deliveries_go_on_past_one_batch_without_waiting_for_the_poll(app, client, receiver, monkeypatch):
    from flask_rest_service.alerts import engine as engine_module

    rule(client, receiver, kind="threshold", sensor_prefix="t", above=10)
    client.post(
        "/readings/", json=[{"sensor": f"t{n:02}", "value": 20, "timestamp": at(0)} for n in range(7)]
    )
    engine = app.extensions["alerts"]
    monkeypatch.setattr(engine_module, "DELIVERY_BATCH", 3)
    assert engine.deliver_due() == 7
    assert len(receiver.log) == 7


def test_a_failing_alert_check_leaves_retention_and_the_prune_to_run(app_factory, clock, monkeypatch, caplog):
    app = app_factory(RATE_LIMIT=None, READINGS_RETENTION_DAYS=1)
    readings = app.extensions["store"].readings
    readings.insert([{"sensor": "old", "value": 1, "timestamp": datetime(2026, 2, 1)}])

    def broken(now):
        raise RuntimeError("a bug in the alert check")

    monkeypatch.setattr(app.extensions["alerts"], "check", broken)
    pruned = []
    monkeypatch.setattr(app.extensions["store"].alerts, "prune", lambda: pruned.append(True) or 0)
    assert jobs.run_once(app) == {"expired": 1}
    assert pruned == [True]
    assert "alert checks failed; the others go on" in caplog.text
