"""What the MongoDB store does of its own: indexes, the sensor summary, the upgrade from 1.0.

On stock mongomock; with TEST_MONGO_URL on that server too.
"""

import json
import math
from datetime import datetime

import pytest
from bson import ObjectId
from conftest import TEST_MONGO_URL, close_app, make_app, next_link, store_settings

from flask_rest_service.stores.base import Filters, StatsQuery
from flask_rest_service.stores.mongodb.readings import stats_pipeline

QUERY_INDEXES = {
    "sensor_timestamp": [("sensor", 1), ("timestamp", -1), ("_id", -1)],
    "timestamp": [("timestamp", -1), ("_id", -1)],
    "type_timestamp": [("type", 1), ("timestamp", -1), ("_id", -1)],
}


@pytest.fixture(params=["mongomock", *(["mongodb"] if TEST_MONGO_URL else [])])
def mongo_settings(request, tmp_path):
    return store_settings(request.param, tmp_path)


@pytest.fixture
def build(mongo_settings):
    built = []

    def build(**config):
        built.append(make_app(mongo_settings, **config))
        return built[-1]

    yield build
    for app in built:
        close_app(app)


def index_keys(app):
    collection = app.extensions["store"].db["readings"]
    return {name: info["key"] for name, info in collection.index_information().items() if name != "_id_"}


def test_indexes_are_created_at_start_up(build):
    assert index_keys(build()) == QUERY_INDEXES


def test_no_indexes_at_start_up_when_turned_off(build):
    assert index_keys(build(CREATE_INDEXES=False)) == {}


def test_init_db_creates_them_and_is_harmless_twice(build):
    app = build(CREATE_INDEXES=False)
    runner = app.test_cli_runner()
    first, second = runner.invoke(args=["init-db"]), runner.invoke(args=["init-db"])
    assert first.exit_code == second.exit_code == 0
    assert (
        first.output
        == f"mongodb store {app.config['MONGO_DBNAME']!r} ready; indexes: sensor_timestamp, timestamp, type_timestamp, name, hash, rule_at, deliveries_due\n"
    )
    assert index_keys(app) == QUERY_INDEXES


def test_the_ttl_index_of_version_1_0_is_dropped(build):
    # Retention is now a job of the service's (so that /sensors/ counts stay
    # right); the TTL index 1.0 made would delete behind its back.
    app = build(CREATE_INDEXES=False)
    app.extensions["store"].db["readings"].create_index(
        "timestamp", name="retention", expireAfterSeconds=86400
    )
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    assert "retention" not in index_keys(app)


def test_the_summary_is_built_from_the_readings_a_1_0_database_holds(mongo_settings):
    # A 1.0 database: readings, no summary (mongomock shares a client, a real server a database).
    app = make_app(mongo_settings, CREATE_INDEXES=False)
    db = app.extensions["store"].db
    db["readings"].insert_many(
        [
            {"sensor": "a", "value": 1, "timestamp": datetime(2026, 1, 1)},
            {"sensor": "a", "value": 2, "timestamp": datetime(2026, 1, 2)},
            {"sensor": "b", "reading": "no timestamp"},
            {"reading": "no sensor"},
        ]
    )
    assert app.test_client().get("/sensors/").json == []
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    assert [(s["sensor"], s["count"]) for s in app.test_client().get("/sensors/").json] == [
        ("a", 2),
        ("b", 1),
    ]
    close_app(app)


def test_arrays_an_older_collection_holds_never_fail(build):
    # MongoDB's $type matches an array holding the type: a sensor ["a", "b"]
    # is a string and a timestamp [date] a date to it (mongomock agrees).
    # SQLite's store cannot hold such documents; here they are left out of
    # the dated order and the counts, never a 500. They were stored before
    # the service's indexes: a real server refuses them under the compound
    # index (171, parallel arrays), and init-db then runs without that index.
    app = build(CREATE_INDEXES=False)
    client = app.test_client()
    db = app.extensions["store"].db
    db["readings"].insert_many(
        [
            {"_id": ObjectId(f"{1:024x}"), "sensor": "a", "value": 1, "timestamp": datetime(2026, 1, 1)},
            {
                "_id": ObjectId(f"{2:024x}"),
                "sensor": ["a", "b"],
                "value": 2,
                "timestamp": [datetime(2026, 1, 2)],
            },
            {"_id": ObjectId(f"{3:024x}"), "sensor": "a", "value": 3, "timestamp": datetime(2026, 1, 3)},
        ]
    )
    assert app.test_cli_runner().invoke(args=["init-db", "--recount"]).exit_code == 0
    assert [(s["sensor"], s["count"]) for s in client.get("/sensors/").json] == [("a", 2)]
    seen, url = [], "/readings/?sensor=a&limit=1"  # newest first, a page at a time
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.json
        seen += [reading["value"] for reading in page.json]
        url = next_link(page)
    assert seen == [3, 1]
    exported = client.get("/readings/export?sensor=a&format=ndjson")  # oldest first
    assert [json.loads(line)["value"] for line in exported.get_data(as_text=True).splitlines()] == [1, 3]
    stats = client.get("/readings/stats?sensor=a&interval=1d&since=2026-01-01&until=2026-01-04")
    assert (stats.status_code, [bucket["count"] for bucket in stats.json["buckets"]]) == (200, [1, 1])


def test_recount_corrects_a_count_a_killed_process_left_off(build):
    app = build()
    app.test_client().post("/readings/", json=[{"sensor": "a", "value": n} for n in range(3)])
    app.extensions["store"].db["sensor_summaries"].update_one({"_id": "a"}, {"$inc": {"count": 5}})  # as if
    assert app.test_client().get("/sensors/").json[0]["count"] == 8
    assert app.test_cli_runner().invoke(args=["init-db", "--recount"]).exit_code == 0
    assert app.test_client().get("/sensors/").json[0]["count"] == 3


def test_counts_follow_edits_that_move_a_reading_to_another_sensor(build):
    app = build()
    client = app.test_client()
    oid = client.post("/readings/", json={"sensor": "a", "value": 1}).json["_id"]["$oid"]
    client.post("/readings/", json={"sensor": "a", "value": 2})
    client.patch(f"/readings/{oid}", json={"sensor": "b"})
    summaries = app.extensions["store"].db["sensor_summaries"]
    assert {doc["_id"]: doc["count"] for doc in summaries.find()} == {"a": 1, "b": 1}
    client.put(f"/readings/{oid}", json={"value": 3})  # no sensor any more
    assert {doc["_id"]: doc["count"] for doc in summaries.find()} == {"a": 1}


def test_a_concurrent_delete_during_a_bulk_delete_is_recounted(build, monkeypatch):
    app = build()
    readings = app.extensions["store"].readings
    readings.insert(
        [
            {"_id": ObjectId(f"{n:024x}"), "sensor": "a", "value": n, "timestamp": datetime(2026, 1, 1)}
            for n in range(4)
        ]
    )
    real_delete_many = readings.collection.delete_many

    def racing(criteria):  # another request deletes one of the batch first
        readings.collection.delete_one({"_id": ObjectId(f"{0:024x}")})
        return real_delete_many(criteria)

    monkeypatch.setattr(readings.collection, "delete_many", racing)
    assert app.test_client().delete("/readings/?until=2027-01-01").json == {"deleted": 3}
    assert list(app.extensions["store"].db["sensor_summaries"].find()) == []


@pytest.mark.parametrize("batch", [1, 3])
def test_a_resend_whose_reading_is_deleted_meanwhile_is_stored_after_all(build, monkeypatch, batch):
    # The ids are looked up before the insert and not found: another request
    # stores them just then, so the insert is refused as a duplicate; before
    # the stored one can be read back, a third deletes it. What was
    # acknowledged must be stored.
    app = build()
    readings = app.extensions["store"].readings
    docs = [{"_id": ObjectId(f"{n:024x}"), "sensor": "a", "value": n} for n in range(batch)]
    readings.insert(docs)
    real_find = readings.collection.find
    raced = []

    def racing(criteria, *args, **kwargs):
        if not raced:  # the look-up before the insert: not there yet
            raced.append("looked up")
            return real_find({"_id": None}, *args, **kwargs)
        if len(raced) == 1:  # after the refusal: deleted first
            raced.append("racing")  # first: mongomock's delete_one may call find itself
            raced[1] = readings.delete(docs[0]["_id"])
        return real_find(criteria, *args, **kwargs)

    monkeypatch.setattr(readings.collection, "find", racing)
    assert readings.insert(docs) == [(docs[0], True), *[(doc, False) for doc in docs[1:]]]
    assert raced == ["looked up", True]
    monkeypatch.undo()
    assert list(readings.collection.find({}, sort=[("_id", 1)])) == docs
    assert list(app.extensions["store"].db["sensor_summaries"].find({}, {"count": 1})) == [
        {"_id": "a", "count": batch}
    ]


def firing_event() -> dict:
    """The event of sensor k's move to firing, as the engine hands it to transition()."""
    return {
        "sensor": "k",
        "transition": "firing",
        "state": "firing",
        "at": datetime(2026, 1, 1),
        "deliveries": [],
    }


def test_an_event_a_dying_process_left_in_its_state_is_published_once(build, monkeypatch):
    # The transition and its event are one update of the state's document; the
    # event's own insert comes after. A process killed between the two leaves
    # the event in the state's outbox: whoever moves the state or runs the
    # jobs next publishes it, under its id, once. Reading the state writes nothing.
    from flask_rest_service.stores.alerts import State

    app = build()
    alerts = app.extensions["store"].alerts
    rule_id = ObjectId()
    event = firing_event()
    monkeypatch.setattr(alerts, "_publish", lambda doc: None)  # dies right after the update
    assert alerts.transition(rule_id, "k", State(), State(state="firing"), event)
    assert alerts.events(rule_id, 10) == []
    assert (
        alerts.transition(rule_id, "k", State(state="firing", version=1), State(), None) is False
    )  # not moved past it
    monkeypatch.undo()
    read = alerts.state(rule_id, "k")
    assert read == State(state="firing", version=1)
    assert alerts.events(rule_id, 10) == []  # a read publishes nothing
    assert alerts.transition(rule_id, "k", read, State(), None)  # the next move publishes it first
    assert [e["_id"] for e in alerts.events(rule_id, 10)] == [f"{rule_id}:k:1"]
    assert alerts.publish() == 0  # and once only
    assert alerts.state(rule_id, "k") == State(version=2)


def test_the_jobs_publish_what_no_reader_has(build, monkeypatch):
    from flask_rest_service.stores.alerts import State

    alerts = build().extensions["store"].alerts
    rule_id = ObjectId()
    event = firing_event()
    monkeypatch.setattr(alerts, "_publish", lambda doc: None)
    alerts.transition(rule_id, "k", State(), State(state="firing"), event)
    monkeypatch.undo()
    assert alerts.publish() == 1
    assert alerts.publish() == 0
    assert [e["_id"] for e in alerts.events(rule_id, 10)] == [f"{rule_id}:k:1"]


def test_a_sum_the_server_overflows_is_summed_again_by_the_store(build):
    # What test_stats' overflow cases rely on here: the server sums doubles in
    # IEEE 754 arithmetic, so 1.7e308 + 1.7e308 - 1.7e308 + 5 comes back inf
    # or NaN (stock mongomock's $sum, a Python sum, does the same), and the
    # store then sums that bucket again from its values.
    app = build()
    store = app.extensions["store"].readings
    store.insert(
        [
            {"sensor": "k", "value": v, "timestamp": datetime(2026, 3, 1, 10, m)}
            for m, v in enumerate([1.7e308, 1.7e308, -1.7e308, 5])
        ]
    )
    query = StatsQuery(
        Filters("k", None, datetime(2026, 3, 1), datetime(2026, 3, 2)), "value", "1h", 3_600_000, "none"
    )
    [raw] = store.collection.aggregate(stats_pipeline(query))
    assert not math.isfinite(raw["sum"])
    [bucket] = store.stats(query)
    assert (bucket["sum"], bucket["avg"]) == (1.7e308, 1.7e308 / 4)


def test_a_sensor_whose_readings_are_gone_is_passed_over_and_paging_goes_on(build):
    # Its summary still counts readings (deleted between the summary's read and
    # its latest's, or a count that drifted): the next sensor fills the page.
    app = build()
    client = app.test_client()
    for sensor in "abcd":
        assert client.post("/readings/", json={"sensor": sensor, "value": 1}).status_code == 201
    app.extensions["store"].db["readings"].delete_many({"sensor": "b"})  # behind the summary's back
    first = client.get("/sensors/?limit=2")
    assert [s["sensor"] for s in first.json] == ["a", "c"]
    second = client.get(next_link(first))
    assert ([s["sensor"] for s in second.json], next_link(second)) == (["d"], None)
