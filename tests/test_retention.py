"""Retention and the periodic jobs, the same on every store: bounded deletes under a lease."""

from datetime import timedelta

import pytest
from bson import ObjectId
from conftest import everything

from flask_rest_service import jobs
from flask_rest_service.bsonvalues import utc_now


def seed(readings, now):
    readings.insert(
        [
            {"_id": ObjectId(f"{1:024x}"), "sensor": "k", "value": 1, "timestamp": now - timedelta(days=3)},
            {
                "_id": ObjectId(f"{2:024x}"),
                "sensor": "k",
                "value": 2,
                "timestamp": now - timedelta(days=1, hours=1),
            },
            {"_id": ObjectId(f"{3:024x}"), "sensor": "k", "value": 3, "timestamp": now - timedelta(hours=23)},
            {"_id": ObjectId(f"{4:024x}"), "sensor": "k", "reading": "from 2014"},  # no timestamp: no age
        ]
    )


def test_retention_deletes_older_readings_and_keeps_undated_ones(app_factory):
    app = app_factory(READINGS_RETENTION_DAYS=1)
    readings = app.extensions["store"].readings
    now = utc_now()
    seed(readings, now)
    assert jobs.run_once(app) == {"expired": 2}
    assert [doc["_id"] for doc in everything(readings)] == [ObjectId(f"{4:024x}"), ObjectId(f"{3:024x}")]
    summary = app.test_client().get("/sensors/").json[0]
    assert (summary["count"], summary["first"]) == (
        2,
        {"$date": readings.get(ObjectId(f"{3:024x}"))["timestamp"].isoformat(timespec="milliseconds") + "Z"},
    )
    assert jobs.run_once(app) == {"expired": 0}  # harmless to repeat


def test_without_retention_nothing_is_deleted(app, readings):
    seed(readings, utc_now())
    assert jobs.run_once(app) == {}
    assert readings.count() == 4


def test_retention_deletes_in_bounded_batches(app_factory, monkeypatch):
    for module in ("flask_rest_service.stores.sqlite.readings", "flask_rest_service.stores.mongodb.readings"):
        monkeypatch.setattr(f"{module}.DELETE_BATCH", 2)
    app = app_factory(READINGS_RETENTION_DAYS=1)
    readings = app.extensions["store"].readings
    old = utc_now() - timedelta(days=2)
    readings.insert(
        [{"sensor": f"s{n % 2}", "value": n, "timestamp": old + timedelta(seconds=n)} for n in range(5)]
    )
    assert jobs.run_once(app) == {"expired": 5}
    assert readings.count() == 0
    assert app.test_client().get("/sensors/").json == []


def test_run_jobs_command(app_factory):
    app = app_factory(READINGS_RETENTION_DAYS=1)
    seed(app.extensions["store"].readings, utc_now())
    result = app.test_cli_runner().invoke(args=["run-jobs"])
    assert (result.exit_code, result.output) == (0, "done: {'expired': 2}\n")


def test_one_holder_at_a_time_holds_a_lease(app):
    leases = app.extensions["store"].leases
    now = utc_now()
    assert leases.acquire("jobs", "a", now, 60) is True
    assert leases.acquire("jobs", "b", now + timedelta(seconds=30), 60) is False
    assert leases.acquire("jobs", "a", now + timedelta(seconds=30), 60) is True  # renewed: until now + 90 s
    assert leases.acquire("jobs", "b", now + timedelta(seconds=80), 60) is False
    assert leases.acquire("jobs", "b", now + timedelta(seconds=90), 60) is True  # expired
    assert leases.acquire("other", "a", now, 60) is True


def test_jobs_do_nothing_while_another_process_holds_the_lease(app_factory):
    app = app_factory(READINGS_RETENTION_DAYS=1)
    seed(app.extensions["store"].readings, utc_now())
    assert app.extensions["store"].leases.acquire(jobs.LEASE, "another-process", utc_now(), 60)
    assert jobs.run_once(app) is None
    result = app.test_cli_runner().invoke(args=["run-jobs"])
    assert result.output == "another process holds the jobs' lease; nothing done\n"
    assert app.extensions["store"].readings.count() == 4


@pytest.mark.parametrize("days", ["0", "-1", "soon"])
def test_bad_retention_setting_stops_start_up(days):
    from flask_rest_service.config import ConfigError, from_env

    with pytest.raises(ConfigError, match="READINGS_RETENTION_DAYS"):
        from_env({"READINGS_RETENTION_DAYS": days})
