"""Alert rules over the API, their states, and the notifications they send, on every store.

Time is held still with time-machine; webhooks go to a local receiver
(pytest-httpserver) that checks each signature; deliveries and checks are
run by hand (the web process runs them in its threads).
"""

import contextlib
import hashlib
import hmac
import json
import threading
from datetime import datetime, timedelta

import pytest
from bson import ObjectId
from conftest import ALERTS_T0

from flask_rest_service.alerts import engine as engine_module
from flask_rest_service.alerts.rules import FIELDS

T0 = ALERTS_T0
ADMIN = {"X-API-Key": None}


@pytest.fixture
def app(app_factory, clock):
    return app_factory(RATE_LIMIT=None)


def greenhouse_rule(receiver, **changes):
    """A rule body; a change to None leaves that field out."""
    body = {
        "name": "greenhouse too cold", "kind": "threshold", "sensor": "greenhouse",
        "below": 5, "for": "10m", "hysteresis": 0.5, "notify": [receiver.url_for("/hook")], **changes,
    }  # fmt: skip
    if "sensor_prefix" in changes:
        del body["sensor"]
    return {key: value for key, value in body.items() if value is not None}


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def post(client, value, minutes, sensor="greenhouse"):
    response = client.post("/readings/", json={"sensor": sensor, "value": value, "timestamp": at(minutes)})
    assert response.status_code == 201, response.json
    return response


def received(receiver):
    """The webhooks received: (body, headers), each signature checked against its body."""
    return [(json.loads(request.get_data()), request.headers) for request, _ in receiver.log]


def verify(secret, request_body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), request_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def engine(app):
    return app.extensions["alerts"]


# --- rules over the API ---------------------------------------------------------------------


def test_a_rule_is_made_shown_masked_changed_and_deleted(app, client, receiver):
    made = client.post("/rules/", json=greenhouse_rule(receiver))
    assert made.status_code == 201
    oid = made.json["_id"]["$oid"]
    assert made.headers["Location"] == f"/rules/{oid}"
    body = made.json
    secret = body.pop("secret")
    assert secret.startswith("whsec_") and len(secret) > 30
    shown = {
        "_id": {"$oid": oid}, "name": "greenhouse too cold", "kind": "threshold", "sensor": "greenhouse",
        "field": "value", "below": 5, "hysteresis": 0.5, "for": "10m", "condition": "value below 5 for 10m",
        "notify": ["http://localhost/…"], "enabled": True,
        "created": {"$date": "2026-03-01T10:00:00Z"}, "updated": {"$date": "2026-03-01T10:00:00Z"},
    }  # fmt: skip
    assert body == shown
    assert client.get("/rules/").json == [shown]
    assert client.get(f"/rules/{oid}").json == shown  # no secret, no target in full
    changed = client.patch(f"/rules/{oid}", json={"below": 3, "notify": ["ntfys://ntfy.sh/my-secret-topic"]})
    assert changed.status_code == 200
    assert (changed.json["condition"], changed.json["notify"]) == (
        "value below 3 for 10m",
        ["ntfys://ntfy.sh/…"],
    )
    stored = app.extensions["store"].alerts.get_rule(ObjectId(oid))
    assert (stored["below"], stored["notify"], stored["secret"]) == (
        3,
        ["ntfys://ntfy.sh/my-secret-topic"],
        secret,
    )
    assert client.delete(f"/rules/{oid}").status_code == 204
    assert client.get(f"/rules/{oid}").status_code == 404
    assert app.extensions["store"].alerts.rules() == []


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [{"field": "name", "detail": "required: a string of 1 to 200 characters"},
              {"field": "kind", "detail": "required: one of threshold, quiet"},
              {"field": "sensor", "detail": 'give either sensor (one) or sensor_prefix (every sensor it starts; "" for all)'}]),
        ({"name": "x", "kind": "threshold", "sensor": "a", "above": 1, "below": 2},
         [{"field": "above", "detail": "a threshold rule has exactly one of above and below"}]),
        ({"name": "x", "kind": "threshold", "sensor": "a", "above": "hot", "for": "5 minutes"},
         [{"field": "for", "detail": "must be a whole number and a unit: s, m, h, d or w (30s, 5m, 1h, 1d, 1w)"},
          {"field": "above", "detail": "must be a number"}]),
        ({"name": "x", "kind": "quiet", "sensor_prefix": "", "above": 3},
         [{"field": "for", "detail": "required for a quiet rule: how long without a reading"},
          {"field": "above", "detail": "a quiet rule has none"}]),
        ({"name": "x", "kind": "quiet", "sensor": "a", "for": "1m", "notify": ["ftp://nowhere"], "colour": "red"},
         [{"field": "colour", "detail": "unknown field; a rule has above, below, enabled, field, for, hysteresis, kind, name, notify, sensor, sensor_prefix"},
          {"field": "notify.0", "detail": "neither an https:// webhook nor a URL Apprise can notify (github.com/caronc/apprise/wiki)"}]),
        ({"name": "x", "kind": "threshold", "sensor": "a", "above": 2**63, "hysteresis": 2**64, "field": "a.\u0000"},
         [{"field": "field", "detail": "must be a field name or dotted path (no empty parts, none starting with '$')"},
          {"field": "above", "detail": "integers must fit in 64 bits"},
          {"field": "hysteresis", "detail": "integers must fit in 64 bits"}]),
    ],
)  # fmt: skip
def test_a_bad_rule_is_a_400_listing_every_problem_and_stores_nothing(app, client, body, errors):
    response = client.post("/rules/", json=body)
    assert response.status_code == 400
    assert response.json["errors"] == errors
    assert app.extensions["store"].alerts.rules() == []


@pytest.mark.parametrize(
    ("patch", "changed"),
    [
        ({"for": None}, {"for": None, "condition": "temp below 5"}),
        ({"hysteresis": None}, {"hysteresis": 0}),
        ({"field": None, "enabled": None, "notify": None},
         {"field": "value", "enabled": True, "notify": [], "condition": "value below 5 for 10m"}),
        ({"below": None, "above": 30}, {"above": 30, "condition": "temp above 30 for 10m"}),
    ],
)  # fmt: skip
def test_null_in_a_rule_patch_puts_a_field_back_to_its_default(app, client, receiver, patch, changed):
    # RFC 7396: null removes the field; a removed field has its default (for: at once).
    made = client.post("/rules/", json=greenhouse_rule(receiver, field="temp", enabled=False))
    before = made.json
    del before["secret"]
    oid = before["_id"]["$oid"]
    response = client.patch(f"/rules/{oid}", json=patch, content_type="application/merge-patch+json")
    assert response.status_code == 200, response.json
    expected = {**before, **changed}
    if "below" not in changed and "below" in patch:
        del expected["below"]
    assert response.json == expected
    assert client.get(f"/rules/{oid}").json == expected


def test_the_document_says_which_rule_fields_take_null(client):
    properties = client.get("/openapi.json").json["components"]["schemas"]["RuleInput"]["properties"]
    # anyOf (pydantic's notation) or oneOf: a null and a non-null schema never both match.
    nullable = {name for name, schema in properties.items() if {"type": "null"} in schema.get("anyOf", [])}
    assert nullable == FIELDS - {"name", "kind"}


def test_null_for_in_a_quiet_rule_patch_is_a_400_naming_it(app, client, receiver):
    made = client.post("/rules/", json={"name": "silent", "kind": "quiet", "sensor": "a", "for": "30m"})
    oid = made.json["_id"]["$oid"]
    response = client.patch(f"/rules/{oid}", json={"for": None})
    assert response.status_code == 400
    assert response.json["errors"] == [
        {"field": "for", "detail": "required for a quiet rule: how long without a reading"}
    ]
    assert client.get(f"/rules/{oid}").json["for"] == "30m"


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/meta-data/", "https://metadata.google.internal/computeMetadata/v1/",
     "http://[fe80::1]/hook", "json://169.254.10.10/hook", "http://[::ffff:169.254.169.254]/"],
)  # fmt: skip
def test_link_local_and_metadata_targets_are_refused(app_factory, url):
    client = app_factory().test_client()
    body = {"name": "x", "kind": "quiet", "sensor": "a", "for": "1m", "notify": [url]}
    response = client.post("/rules/", json=body)
    assert response.status_code == 400
    assert response.json["errors"] == [
        {
            "field": "notify.0",
            "detail": "link-local and metadata addresses are refused (ALERTS_ALLOW_LINK_LOCAL allows them)",
        }
    ]
    allowed = app_factory(ALERTS_ALLOW_LINK_LOCAL=True).test_client()
    assert allowed.post("/rules/", json=body).status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        "json://[::ffff:169.254.169.254]/", "json://[fe80::1]/", "json://[fd00:ec2::254]/",  # brackets kept by Apprise
        "mailtos://user:pass@example.com?smtp=169.254.169.254&to=me@example.com",  # the mail server is a host too
    ],
)  # fmt: skip
def test_every_host_an_apprise_target_names_is_checked(client, url):
    response = client.post(
        "/rules/", json={"name": "x", "kind": "quiet", "sensor": "a", "for": "1m", "notify": [url]}
    )
    assert response.status_code == 400
    assert response.json["errors"][0]["detail"].startswith("link-local and metadata addresses are refused")


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("https://alice:s3cret@hooks.example.com/x", "a webhook URL must not hold credentials: put a token in its path or query"),
        ("https://[::1", "not a URL that can be read: Invalid IPv6 URL"),
        ("https://[zzz]/", "not a URL that can be read: 'zzz' does not appear to be an IPv4 or IPv6 address"),
        ("https://a b/", "a webhook URL's host must be a host name or an IP address"),
        ("http://h:abc/", "not a URL that can be read: Port could not be cast to integer value as 'abc'"),
        ("https://h:99999/", "not a URL that can be read: Port out of range 0-65535"),
    ],
)  # fmt: skip
def test_webhook_urls_that_cannot_be_used_are_a_400(app, client, url, detail):
    response = client.post(
        "/rules/", json={"name": "x", "kind": "quiet", "sensor": "a", "for": "1m", "notify": [url]}
    )
    assert (response.status_code, response.json["errors"]) == (400, [{"field": "notify.0", "detail": detail}])
    assert app.extensions["store"].alerts.rules() == []


def test_rules_need_an_admin_key_and_alerts_a_read_key(app, client):
    keys = {scope: app.extensions["keys"].create(scope, scope) for scope in ("read", "write", "admin")}
    for scope in ("read", "write"):
        assert client.get("/rules/", headers={"X-API-Key": keys[scope]}).status_code == 403
    assert client.get("/rules/", headers={"X-API-Key": keys["admin"]}).status_code == 200
    assert client.get("/alerts/", headers={"X-API-Key": keys["read"]}).status_code == 200


# --- thresholds ----------------------------------------------------------------------------------


def test_a_threshold_held_long_enough_fires_once_and_resolves_once_signed(app, client, receiver, clock):
    made = client.post("/rules/", json=greenhouse_rule(receiver)).json
    post(client, 4, 0)  # crossed: pending
    post(client, 3, 5)
    assert client.get("/alerts/").json == [
        {"rule": {"_id": made["_id"], "name": "greenhouse too cold", "kind": "threshold", "condition": "value below 5 for 10m",
                  "field": "value", "below": 5},
         "sensor": "greenhouse", "state": "pending", "since": {"$date": "2026-03-01T10:00:00Z"}, "value": 3}
    ]  # fmt: skip
    post(client, 2.5, 10)  # held for 10 minutes: firing
    clock.move_to(T0 + timedelta(minutes=10, seconds=1))
    assert engine(app).deliver() == 1
    post(client, 5.2, 12)  # back over 5, not by the hysteresis: still firing
    post(client, 6, 13)  # resolved
    assert engine(app).deliver() == 1
    assert engine(app).deliver() == 0  # each notification once
    (firing, firing_headers), (resolved, _) = received(receiver)
    assert firing == {
        "event": f"{made['_id']['$oid']}:greenhouse:3", "transition": "firing", "state": "firing",
        "rule": {"id": made["_id"]["$oid"], "name": "greenhouse too cold", "kind": "threshold",
                 "condition": "value below 5 for 10m"},
        "sensor": "greenhouse", "value": 2.5, "reading_at": "2026-03-01T10:10:00Z",
        "at": "2026-03-01T10:00:00Z", "sent_at": "2026-03-01T10:10:01Z",
    }  # fmt: skip
    assert (resolved["transition"], resolved["state"], resolved["value"]) == ("resolved", "ok", 6)
    body = receiver.log[0][0].get_data()
    assert firing_headers["X-Readings-Event"] == firing["event"]
    assert verify(made["secret"], body, firing_headers["X-Readings-Signature"])
    assert not verify("whsec_wrong", body, firing_headers["X-Readings-Signature"])
    assert client.get("/alerts/").json == []


def test_a_pending_threshold_fires_on_the_clock_without_another_reading(app, client, receiver, clock):
    client.post("/rules/", json=greenhouse_rule(receiver))
    post(client, 4, 0)
    clock.move_to(T0 + timedelta(minutes=9))
    engine(app).check()
    assert client.get("/alerts/").json[0]["state"] == "pending"
    clock.move_to(T0 + timedelta(minutes=10))
    engine(app).check()
    assert client.get("/alerts/").json[0]["state"] == "firing"
    engine(app).deliver()
    assert [body["transition"] for body, _ in received(receiver)] == ["firing"]


def test_a_threshold_without_a_duration_fires_on_the_first_reading_and_a_recovery_before_is_silent(
    app, client, receiver
):
    client.post("/rules/", json=greenhouse_rule(receiver, **{"for": None}) | {"hysteresis": 0})
    post(client, 4, 0)
    assert client.get("/alerts/").json[0]["state"] == "firing"
    pending_only = greenhouse_rule(receiver, sensor="shed")
    client.post("/rules/", json=pending_only)
    post(client, 4, 0, sensor="shed")
    post(client, 6, 5, sensor="shed")  # back before 10 minutes: never fired, nothing to say
    engine(app).deliver()
    assert [(body["sensor"], body["transition"]) for body, _ in received(receiver)] == [
        ("greenhouse", "firing")
    ]


def test_readings_older_than_the_last_one_seen_do_not_move_the_state(app, client, receiver):
    client.post("/rules/", json=greenhouse_rule(receiver, **{"for": None}) | {"hysteresis": 0})
    post(client, 4, 10)
    post(client, 9, 5)  # arrives late, from before: ignored
    assert client.get("/alerts/").json[0]["state"] == "firing"


def test_a_late_reading_does_not_fire_a_rule_that_is_ok(app, client, receiver):
    # An ok state is not written for each reading; the late one is known late
    # by the sensor's newest stored reading.
    client.post("/rules/", json=greenhouse_rule(receiver, **{"for": None}) | {"hysteresis": 0})
    post(client, 9, 10)
    post(client, 4, 5)  # from before the 9: late, ignored
    assert client.get("/alerts/").json == []
    post(client, 4, 11)
    assert [alert["state"] for alert in client.get("/alerts/").json] == ["firing"]


def test_a_batch_that_fires_and_resolves_from_pending_tells_no_one(app, client, receiver):
    made = client.post("/rules/", json=greenhouse_rule(receiver) | {"hysteresis": 0}).json
    post(client, 4, 0)  # pending
    batch = [
        {"sensor": "greenhouse", "value": value, "timestamp": at(minutes)}
        for value, minutes in ((3, 10), (6, 11))
    ]
    assert client.post("/readings/", json=batch).status_code == 201  # fires at 10, resolves at 11
    assert client.get("/alerts/").json == []
    assert client.get(f"/rules/{made['_id']['$oid']}/events").json == []
    engine(app).deliver()
    assert received(receiver) == []


def test_a_batch_that_resolves_and_fires_again_tells_no_one(app, client, receiver):
    made = client.post("/rules/", json=greenhouse_rule(receiver, **{"for": None}) | {"hysteresis": 0}).json
    post(client, 4, 0)  # firing
    batch = [
        {"sensor": "greenhouse", "value": value, "timestamp": at(minutes)}
        for value, minutes in ((6, 1), (3, 2))
    ]
    client.post("/readings/", json=batch)
    assert [event["transition"] for event in client.get(f"/rules/{made['_id']['$oid']}/events").json] == [
        "firing"
    ]
    assert [(alert["state"], alert["value"]) for alert in client.get("/alerts/").json] == [("firing", 3)]


def test_a_rule_that_watches_something_else_starts_afresh(app, client, receiver):
    made = client.post("/rules/", json=greenhouse_rule(receiver, **{"for": None})).json
    oid = made["_id"]["$oid"]
    post(client, 4, 0)
    client.patch(f"/rules/{oid}", json={"name": "renamed"})  # the same condition: still firing
    assert [(alert["rule"]["name"], alert["state"]) for alert in client.get("/alerts/").json] == [
        ("renamed", "firing")
    ]
    client.patch(f"/rules/{oid}", json={"sensor": "shed"})
    assert client.get("/alerts/").json == []
    assert [state.state for _, _, state in app.extensions["store"].alerts.states()] == ["ok"]
    post(client, 4, 1, sensor="shed")
    assert [(alert["sensor"], alert["state"]) for alert in client.get("/alerts/").json] == [
        ("shed", "firing")
    ]


def test_alerts_lists_no_sensor_a_rule_no_longer_watches(app, client, receiver):
    # A state another process wrote just as the rule changed: left over, not shown.
    from flask_rest_service.alerts.machine import State

    made = client.post("/rules/", json=greenhouse_rule(receiver, sensor_prefix="house/")).json
    alerts = app.extensions["store"].alerts
    alerts.transition(ObjectId(made["_id"]["$oid"]), "garden", State(), State(state="firing"), None)
    alerts.transition(ObjectId(made["_id"]["$oid"]), "house/attic", State(), State(state="firing"), None)
    assert [alert["sensor"] for alert in client.get("/alerts/").json] == ["house/attic"]


def test_a_prefix_rule_watches_every_sensor_it_starts_and_disabled_rules_none(app, client, receiver):
    client.post(
        "/rules/", json=greenhouse_rule(receiver, sensor_prefix="house/", **{"for": None}) | {"hysteresis": 0}
    )
    client.post("/rules/", json=greenhouse_rule(receiver, sensor="shed", enabled=False, **{"for": None}))
    for sensor in ("house/kitchen", "house/attic", "garden", "shed"):
        post(client, 1, 0, sensor=sensor)
    assert sorted(alert["sensor"] for alert in client.get("/alerts/").json) == [
        "house/attic",
        "house/kitchen",
    ]


# --- quiet sensors ----------------------------------------------------------------------------------


def test_a_quiet_sensor_is_reported_and_resolves_when_it_reports_again(app, client, receiver, clock):
    client.post("/rules/", json={"name": "silent", "kind": "quiet", "sensor_prefix": "", "for": "30m",
                                 "notify": [receiver.url_for("/hook")]})  # fmt: skip
    post(client, 20, 0, sensor="freezer")
    clock.move_to(T0 + timedelta(minutes=29))
    engine(app).check()
    assert client.get("/alerts/").json == []
    clock.move_to(T0 + timedelta(minutes=31))
    engine(app).check()
    engine(app).check()  # checked again: still one notification
    [alert] = client.get("/alerts/").json
    assert (alert["sensor"], alert["state"], alert["rule"]["condition"]) == (
        "freezer",
        "firing",
        "no reading for 30m",
    )
    post(client, 21, 32, sensor="freezer")  # it reports again: resolved at once
    engine(app).deliver()
    assert [(body["transition"], body["sensor"]) for body, _ in received(receiver)] == [
        ("firing", "freezer"),
        ("resolved", "freezer"),
    ]


def test_a_sensor_is_quiet_by_the_server_s_clock_not_its_readings_times(app_factory, receiver, clock):
    # A device whose clock is years ahead (taken where MAX_FUTURE_SECONDS allows it): its last
    # reading's time is no proof it still reports.
    app = app_factory(RATE_LIMIT=None, MAX_FUTURE_SECONDS=5 * 366 * 86400)
    client = app.test_client()
    client.post("/rules/", json={"name": "silent", "kind": "quiet", "sensor": "freezer", "for": "30m",
                                 "notify": [receiver.url_for("/hook")]})  # fmt: skip
    post(client, 20, 60 * 24 * 365 * 4, sensor="freezer")  # dated 2030
    clock.move_to(T0 + timedelta(minutes=31))
    engine(app).check()
    assert [(alert["sensor"], alert["state"]) for alert in client.get("/alerts/").json] == [
        ("freezer", "firing")
    ]
    post(client, 20, -60 * 24 * 365, sensor="freezer")  # dated a year ago, sent now: it reports
    assert client.get("/alerts/").json == []


def test_the_periodic_jobs_report_a_quiet_sensor(app, client, receiver, clock):
    from flask_rest_service import jobs

    client.post("/rules/", json={"name": "silent", "kind": "quiet", "sensor": "freezer", "for": "30m",
                                 "notify": [receiver.url_for("/hook")]})  # fmt: skip
    post(client, 20, 0, sensor="freezer")
    clock.move_to(T0 + timedelta(minutes=31))
    assert app.test_cli_runner().invoke(args=["run-jobs"]).output == "done: {}\nnotifications tried: 1\n"
    assert jobs.run_once(app) == {}
    assert [body["transition"] for body, _ in received(receiver)] == ["firing"]


# --- exactly once, whatever the processes ---------------------------------------------------------


def test_two_processes_seeing_the_same_change_send_one_notification(app_factory, store_kind, receiver, clock):
    # Two apps on one store stand for two workers or dynos, in two threads at
    # once. Not on mongomock, which is not thread-safe (an update deep-copies a
    # document another thread is changing: "dictionary changed size during
    # iteration"); there they take turns, and the race itself is run on SQLite
    # and, with TEST_MONGO_URL, on MongoDB.
    first, second = app_factory(RATE_LIMIT=None), app_factory(RATE_LIMIT=None)
    first.test_client().post("/rules/", json=greenhouse_rule(receiver, **{"for": None}) | {"hysteresis": 0})
    turns = threading.Lock() if store_kind == "mongomock" else contextlib.nullcontext()
    start = threading.Barrier(2)

    def report(app, value):
        start.wait(timeout=5)
        with turns:
            post(app.test_client(), value, 0 if value == 4 else 1)

    threads = [threading.Thread(target=report, args=(app, value)) for app, value in ((first, 4), (second, 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    start = threading.Barrier(2)

    def check(app):
        start.wait(timeout=5)
        with turns:
            engine(app).check()
            engine(app).deliver()

    threads = [threading.Thread(target=check, args=(app,)) for app in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    [rule] = first.extensions["store"].alerts.rules()
    assert [event["transition"] for event in first.extensions["store"].alerts.events(rule["_id"], 10)] == [
        "firing"
    ]
    assert [body["transition"] for body, _ in received(receiver)] == ["firing"]


def test_a_delivery_is_claimed_by_one_process(app_factory, receiver, clock, monkeypatch):
    # Both processes find the delivery due before either takes it: only the
    # claim keeps it to one.
    first, second = app_factory(RATE_LIMIT=None), app_factory(RATE_LIMIT=None)
    first.test_client().post("/rules/", json=greenhouse_rule(receiver, **{"for": None}))
    post(first.test_client(), 1, 0)
    both_looked = threading.Barrier(2)
    for app in (first, second):
        alerts = app.extensions["store"].alerts
        monkeypatch.setattr(
            alerts,
            "due",
            lambda now, limit, leave_out=(), real=alerts.due: [
                real(now, limit, leave_out),
                both_looked.wait(5),
            ][0],
        )
    tried = []
    threads = [
        threading.Thread(target=lambda app=app: tried.append(engine(app).deliver()))
        for app in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(tried) == [0, 1]
    assert len(receiver.log) == 1


def test_a_claim_s_lease_runs_from_when_it_was_made(app_factory, receiver, clock, monkeypatch):
    # Two rules, one target: its two deliveries are sent in turn. The first
    # send is slow, past the lease; the second is claimed after it, so its
    # lease is still good while another process looks.
    first, second = app_factory(RATE_LIMIT=None), app_factory(RATE_LIMIT=None)
    for name in ("one", "two"):
        first.test_client().post("/rules/", json=greenhouse_rule(receiver, name=name, **{"for": None}))
    post(first.test_client(), 1, 0)
    real_send = engine_module.notify.send
    other = []

    def send(url, *args):
        if not other and not receiver.log:
            clock.shift(engine(first).lease_seconds + 1)
        else:
            other.append(engine(second).deliver())  # looks while the first sends the second
        return real_send(url, *args)

    monkeypatch.setattr(engine_module.notify, "send", send)
    assert engine(first).deliver() == 2
    assert other == [0]
    assert sorted(body["rule"]["name"] for body, _ in received(receiver)) == ["one", "two"]


def test_an_outcome_is_kept_only_while_the_lease_is_held(app_factory, httpserver, clock, monkeypatch):
    # A send outlasts its lease; another process takes it over and delivers.
    # The late outcome of the first must not undo what the second recorded.
    httpserver.expect_request("/hook").respond_with_data("ok")
    first, second = app_factory(RATE_LIMIT=None), app_factory(RATE_LIMIT=None)
    made = first.test_client().post("/rules/", json=greenhouse_rule(httpserver, **{"for": None})).json
    post(first.test_client(), 1, 0)
    real_send = engine_module.notify.send
    calls = []

    def send(*args):
        calls.append(args[0])
        if len(calls) == 1:  # the first process, stuck
            clock.shift(engine(first).lease_seconds + 1)
            assert engine(second).deliver() == 1
            return "timed out"
        return real_send(*args)

    monkeypatch.setattr(engine_module.notify, "send", send)
    engine(first).deliver()
    [event] = first.test_client().get(f"/rules/{made['_id']['$oid']}/events").json
    assert [
        (delivery["status"], delivery["attempts"], delivery["last_error"]) for delivery in event["deliveries"]
    ] == [("delivered", 1, None)]


# --- deliveries ---------------------------------------------------------------------------------------


def test_a_failed_delivery_is_tried_again_later_and_its_outcome_kept(app, client, httpserver, clock):
    httpserver.expect_ordered_request("/hook").respond_with_data("down", status=503)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok")
    made = client.post("/rules/", json=greenhouse_rule(httpserver, **{"for": None})).json
    post(client, 1, 0)
    assert engine(app).deliver() == 1
    [event] = client.get(f"/rules/{made['_id']['$oid']}/events").json
    assert event["deliveries"] == [{"target": "http://localhost/…", "status": "queued", "attempts": 1,
                                    "next_at": {"$date": "2026-03-01T10:00:30Z"}, "last_error": "HTTP 503",
                                    "delivered_at": None}]  # fmt: skip
    clock.move_to(T0 + timedelta(seconds=29))
    assert engine(app).deliver() == 0  # not yet
    clock.move_to(T0 + timedelta(seconds=30))
    assert engine(app).deliver() == 1
    [event] = client.get(f"/rules/{made['_id']['$oid']}/events").json
    assert {key: event[key] for key in ("sensor", "transition", "state", "value")} == {
        "sensor": "greenhouse",
        "transition": "firing",
        "state": "firing",
        "value": 1,
    }
    assert event["deliveries"][0] | {"next_at": None} == {"target": "http://localhost/…", "status": "delivered", "attempts": 2,
                                                          "next_at": None, "last_error": None,
                                                          "delivered_at": {"$date": "2026-03-01T10:00:30Z"}}  # fmt: skip


def test_a_delivery_that_keeps_failing_stops_after_its_tries(app, client, httpserver, clock):
    httpserver.expect_request("/hook").respond_with_data("no", status=500)
    made = client.post("/rules/", json=greenhouse_rule(httpserver, **{"for": None})).json
    post(client, 1, 0)
    when = T0
    for wait in (0, *engine_module.BACKOFF_SECONDS):
        when += timedelta(seconds=wait)
        clock.move_to(when)
        assert engine(app).deliver() == 1
    clock.move_to(when + timedelta(days=1))
    assert engine(app).deliver() == 0
    [event] = client.get(f"/rules/{made['_id']['$oid']}/events").json
    assert (event["deliveries"][0]["status"], event["deliveries"][0]["attempts"]) == ("failed", 6)


def test_a_webhook_that_redirects_is_not_followed(app, client, httpserver):
    httpserver.expect_request("/hook").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/"}
    )
    made = client.post("/rules/", json=greenhouse_rule(httpserver, **{"for": None})).json
    post(client, 1, 0)
    engine(app).deliver()
    [event] = client.get(f"/rules/{made['_id']['$oid']}/events").json
    assert event["deliveries"][0]["last_error"] == "HTTP 302"
    assert len(httpserver.log) == 1


def test_apprise_urls_are_delivered_by_apprise(app, client, httpserver):
    httpserver.expect_request("/apprise", method="POST").respond_with_data("ok")
    target = f"json://{httpserver.host}:{httpserver.port}/apprise"
    client.post("/rules/", json=greenhouse_rule(httpserver, notify=[target], **{"for": None}))
    post(client, 1, 0)
    assert engine(app).deliver() == 1
    [(body, _)] = received(httpserver)
    assert body["title"] == "FIRING: greenhouse too cold: greenhouse, value below 5 (value 1)"
    assert body["type"] == "failure"


def test_a_target_that_now_resolves_to_a_link_local_address_is_not_sent_to(
    app, client, receiver, monkeypatch
):
    client.post("/rules/", json=greenhouse_rule(receiver, **{"for": None}))
    post(client, 1, 0)
    monkeypatch.setattr("socket.getaddrinfo", lambda *args, **kwargs: [(2, 1, 6, "", ("169.254.169.254", 0))])
    engine(app).deliver()
    [rule] = app.extensions["store"].alerts.rules()
    [event] = app.extensions["store"].alerts.events(rule["_id"], 1)
    assert (
        event["deliveries"][0]["last_error"]
        == "refused: the target connects to 169.254.169.254, a link-local or metadata address"
    )
    assert receiver.log == []


def test_a_redirect_apprise_follows_to_a_metadata_address_is_refused_as_it_connects(app, client, httpserver):
    # Apprise follows redirects itself; the connection to the address is what is refused.
    httpserver.expect_request("/apprise").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    target = f"json://{httpserver.host}:{httpserver.port}/apprise"
    made = client.post("/rules/", json=greenhouse_rule(httpserver, notify=[target], **{"for": None})).json
    post(client, 1, 0)
    engine(app).deliver()
    [event] = client.get(f"/rules/{made['_id']['$oid']}/events").json
    assert (
        event["deliveries"][0]["last_error"]
        == "refused: the target connects to 169.254.169.254, a link-local or metadata address"
    )


def test_the_history_is_bounded(app, client, receiver, monkeypatch):
    made = client.post("/rules/", json=greenhouse_rule(receiver, **{"for": None}) | {"hysteresis": 0}).json
    for minute in range(6):
        post(client, 1 if minute % 2 == 0 else 9, minute)  # fires, resolves, ...
    assert len(client.get(f"/rules/{made['_id']['$oid']}/events").json) == 6
    engine(app).deliver()  # an event is kept until its notifications are sent
    assert app.extensions["store"].alerts.prune(keep=4) == 2
    events = client.get(f"/rules/{made['_id']['$oid']}/events").json
    assert [event["_id"].rsplit(":", 1)[1] for event in events] == ["6", "5", "4", "3"]  # the newest


# --- what ingest costs ------------------------------------------------------------------------------


def test_with_no_rule_ingest_asks_nothing_of_the_alert_store(app, client, monkeypatch):
    asked = []
    monkeypatch.setattr(app.extensions["store"].alerts, "state", lambda *args: asked.append(args))
    post(client, 1, 0)
    client.post("/readings/", json=[{"sensor": f"s{n}", "value": n} for n in range(50)])
    assert asked == []


def test_readings_that_cannot_move_a_rule_do_not_look_up_the_sensor_s_newest(
    app, client, receiver, monkeypatch
):
    # An ok threshold that no value crosses, and a quiet rule that is not
    # firing, stay as they are whichever readings are late: no slice of the
    # readings is asked for. A value past the limit needs it.
    client.post("/rules/", json=greenhouse_rule(receiver))
    client.post("/rules/", json={"name": "silent", "kind": "quiet", "sensor_prefix": "", "for": "30m"})
    readings, asked = app.extensions["store"].readings, []
    slice_ = readings.slice
    monkeypatch.setattr(
        readings, "slice", lambda *args, **kwargs: asked.append(args) or slice_(*args, **kwargs)
    )
    post(client, 9, 0)
    client.post("/readings/", json=[{"sensor": f"s{n}", "value": n, "timestamp": at(n)} for n in range(50)])
    assert asked == []
    post(client, 4, 1)
    assert len(asked) == 1


def test_a_late_reading_in_a_batch_of_several_sensors_is_left_out(app, client, receiver):
    client.post("/rules/", json=greenhouse_rule(receiver, **{"for": None}) | {"hysteresis": 0})
    post(client, 9, 10)
    batch = [{"sensor": f"s{n}", "value": 1, "timestamp": at(12)} for n in range(5)]
    batch.insert(2, {"sensor": "greenhouse", "value": 4, "timestamp": at(5)})  # from before the 9
    assert client.post("/readings/", json=batch).status_code == 201
    assert client.get("/alerts/").json == []


@pytest.mark.parametrize(
    ("rule", "state", "values", "expected"),
    [
        ({"kind": "threshold", "field": "value", "below": 5}, "ok", [9, 5, "x", None, True], True),
        ({"kind": "threshold", "field": "value", "below": 5}, "ok", [9, 4.5], False),
        ({"kind": "threshold", "field": "value", "above": 5}, "ok", [1, 6], False),
        ({"kind": "threshold", "field": "value", "below": 5}, "pending", [9], False),
        ({"kind": "threshold", "field": "value", "below": 5}, "firing", [9], False),
        ({"kind": "quiet"}, "ok", [1], True),
        ({"kind": "quiet"}, "firing", [1], False),
    ],
)
def test_unmoved_is_true_only_where_the_machine_leaves_the_state_as_it_is(rule, state, values, expected):
    from flask_rest_service.alerts.machine import State, on_reading, unmoved

    rule = {"for_seconds": 0, "hysteresis": 0, **rule}
    before = State(state=state, last_at=T0 if state != "ok" else None)
    readings = [
        {"value": value, "timestamp": T0 + timedelta(minutes=n + 1)} for n, value in enumerate(values)
    ]
    assert unmoved(rule, before, readings) is expected
    if expected:
        assert all(on_reading(rule, before, reading).state == before for reading in readings)


def test_a_rule_made_by_another_process_is_seen_once_the_cache_expires(app_factory, receiver, monkeypatch):
    monkeypatch.setattr(engine_module, "RULES_CACHE_SECONDS", 0)
    first, second = app_factory(RATE_LIMIT=None), app_factory(RATE_LIMIT=None)
    post(first.test_client(), 1, 0)  # the rules (none) are now cached
    second.test_client().post("/rules/", json=greenhouse_rule(receiver, **{"for": None}))
    post(first.test_client(), 1, 1)
    assert first.test_client().get("/alerts/").json[0]["state"] == "firing"


@pytest.mark.slow
def test_a_rule_made_while_another_thread_reads_the_rules_is_used_next(app, client, receiver, monkeypatch):
    # gthread: one thread reads the rules (from before the change) while another
    # makes a rule; the rule must not wait for the cache to expire.
    alerts = app.extensions["store"].alerts
    reading, resume, before = threading.Event(), threading.Event(), alerts.rules_version

    def version_slowly():
        version = before()
        reading.set()
        resume.wait(10)
        return version

    post(client, 8, 0, sensor="cellar")  # the rules (none) are cached
    monkeypatch.setattr(alerts, "rules_version", version_slowly)
    engine(app).invalidate()
    reader = threading.Thread(target=engine(app).matching, args=("greenhouse",))
    reader.start()
    assert reading.wait(10)
    maker = threading.Thread(
        target=lambda: app.test_client().post("/rules/", json=greenhouse_rule(receiver, **{"for": None}))
    )
    maker.start()
    maker.join(timeout=1)  # made, or waiting for the reader: either way before the reader ends
    resume.set()
    reader.join(timeout=10)
    maker.join(timeout=10)
    monkeypatch.setattr(alerts, "rules_version", before)
    post(client, 1, 1)
    assert [(a["rule"]["name"], a["state"]) for a in client.get("/alerts/").json] == [
        ("greenhouse too cold", "firing")
    ]


# --- the CLI ----------------------------------------------------------------------------------------


def test_rules_from_the_cli(app, receiver, tmp_path):
    body = tmp_path / "rule.json"
    body.write_text(json.dumps(greenhouse_rule(receiver)))
    runner = app.test_cli_runner()
    made = runner.invoke(args=["rules", "create", str(body)])
    assert made.exit_code == 0, made.output
    oid = made.output.split()[2]
    assert made.output.splitlines()[-1].startswith("whsec_")
    listed = runner.invoke(args=["rules", "list"]).output
    assert listed == f"{oid}\tgreenhouse too cold\tgreenhouse\tvalue below 5 for 10m\thttp://localhost/…\n"
    bad = runner.invoke(args=["rules", "create", "-"], input='{"name": "x"}')
    assert bad.exit_code == 1 and "kind: required: one of threshold, quiet" in bad.output
    assert runner.invoke(args=["rules", "delete", oid]).output == f"deleted rule {oid}\n"
    assert runner.invoke(args=["rules", "list"]).output == ""


def test_a_state_moves_only_from_the_version_it_was_read_at(app):
    # Two processes read version 1 and both want it firing: one writes it and
    # its event, the other is told it lost and writes nothing.
    from flask_rest_service.alerts.machine import State

    alerts = app.extensions["store"].alerts
    rule = ObjectId()
    assert alerts.transition(rule, "k", State(), State(state="pending"), None)
    read = alerts.state(rule, "k")
    assert read.version == 1
    event = {
        "sensor": "k",
        "transition": "firing",
        "state": "firing",
        "at": T0.replace(tzinfo=None),
        "deliveries": [],
    }
    assert alerts.transition(rule, "k", read, State(state="firing"), event) is True
    assert alerts.transition(rule, "k", read, State(state="firing"), event) is False
    assert alerts.transition(rule, "k", State(), State(state="ok"), None) is False  # "never written": it was
    assert (alerts.state(rule, "k").state, alerts.state(rule, "k").version) == ("firing", 2)
    assert [e["_id"] for e in alerts.events(rule, 10)] == [f"{rule}:k:2"]


# --- the machine's boundaries -----------------------------------------------------------------------


def post_at(client, value, when: datetime, sensor="greenhouse"):
    reading = {"sensor": sensor, "value": value, "timestamp": when.isoformat()}
    assert client.post("/readings/", json=reading).status_code == 201


def states(client) -> list[tuple[str, object]]:
    return [(alert["state"], alert["value"]) for alert in client.get("/alerts/").json]


@pytest.mark.parametrize(("side", "limit", "past"), [("above", 30, 30.5), ("below", 5, 4.5)])
def test_a_value_at_the_limit_does_not_fire_and_one_past_it_does(app, client, receiver, side, limit, past):
    sides = {"above": None, "below": None, side: limit}
    client.post("/rules/", json=greenhouse_rule(receiver, **sides, **{"for": None}) | {"hysteresis": 0})
    post(client, limit, 0)
    assert states(client) == []
    post(client, past, 1)
    assert states(client) == [("firing", past)]


@pytest.mark.parametrize(
    ("side", "limit", "fired", "held", "cleared"),
    [("above", 30, 31, 28.5, 28), ("below", 5, 4, 5.4, 5.5)],  # hysteresis 2 above, 0.5 below
)
def test_a_firing_threshold_resolves_exactly_at_the_hysteresis_not_before(
    app, client, receiver, side, limit, fired, held, cleared
):
    hysteresis = 2 if side == "above" else 0.5
    sides = {"above": None, "below": None, side: limit}
    client.post("/rules/", json=greenhouse_rule(receiver, **sides, hysteresis=hysteresis, **{"for": None}))
    post(client, fired, 0)
    post(client, held, 1)  # back past the limit, not yet by the hysteresis
    assert states(client) == [("firing", held)]
    post(client, cleared, 2)  # back by exactly the hysteresis
    assert states(client) == []


def test_a_reading_at_the_time_of_the_last_one_seen_is_not_taken_again(app, client, receiver):
    made = client.post("/rules/", json=greenhouse_rule(receiver, **{"for": None}) | {"hysteresis": 0}).json
    post(client, 4, 0)  # firing
    post(client, 9, 0)  # the same moment: the state has taken a reading of it
    assert states(client) == [("firing", 4)]
    assert [e["transition"] for e in client.get(f"/rules/{made['_id']['$oid']}/events").json] == ["firing"]


def test_a_reading_at_the_time_of_the_sensor_s_newest_is_not_late(app, client, receiver):
    # The floor that makes a reading late is the sensor's newest stored time,
    # exclusive: a reading of that same moment is taken.
    client.post("/rules/", json=greenhouse_rule(receiver, **{"for": None}) | {"hysteresis": 0})
    newest = T0 + timedelta(minutes=10)
    post_at(client, 9, newest)  # ok: no state is written
    post_at(client, 4, newest)
    assert states(client) == [("firing", 4)]


def test_a_reading_a_millisecond_before_the_sensor_s_newest_is_late(app, client, receiver):
    client.post("/rules/", json=greenhouse_rule(receiver, **{"for": None}) | {"hysteresis": 0})
    newest = T0 + timedelta(minutes=10)
    post_at(client, 9, newest)
    post_at(client, 4, newest - timedelta(milliseconds=1))
    assert states(client) == []


@pytest.mark.parametrize(("waited", "state"), [(timedelta(minutes=10) - timedelta(milliseconds=1), "pending"),
                                              (timedelta(minutes=10), "firing")])  # fmt: skip
def test_a_threshold_fires_once_held_exactly_for_its_duration(app, client, receiver, waited, state):
    client.post("/rules/", json=greenhouse_rule(receiver))
    post_at(client, 4, T0)
    post_at(client, 4, T0 + waited)
    assert [alert["state"] for alert in client.get("/alerts/").json] == [state]


@pytest.mark.parametrize(("waited", "state"), [(timedelta(minutes=30) - timedelta(seconds=1), []),
                                              (timedelta(minutes=30), ["firing"])])  # fmt: skip
def test_a_sensor_is_quiet_once_silent_exactly_for_its_duration(app, client, receiver, clock, waited, state):
    client.post("/rules/", json={"name": "silent", "kind": "quiet", "sensor": "greenhouse", "for": "30m"})
    post(client, 1, 0)
    clock.move_to(T0 + waited)
    engine(app).check()
    assert [alert["state"] for alert in client.get("/alerts/").json] == state
