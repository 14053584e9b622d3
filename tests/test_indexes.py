"""Indexes and retention: at start-up, with `flask init-db`, and when the database is away."""

from datetime import datetime, timedelta

import mongomock
import pytest

from flask_rest_service.cli import init_db_command
from flask_rest_service.readings import retention_command

QUERY_INDEXES = {
    "sensor_timestamp": [("sensor", 1), ("timestamp", -1), ("_id", -1)],
    "timestamp": [("timestamp", -1), ("_id", -1)],
}


def index_keys(readings):
    return {name: info["key"] for name, info in readings.index_information().items() if name != "_id_"}


def test_indexes_are_created_at_start_up(readings):
    assert index_keys(readings) == QUERY_INDEXES


def test_no_indexes_at_start_up_when_turned_off(app_factory):
    app = app_factory(CREATE_INDEXES=False)
    assert index_keys(app.extensions["readings"].readings) == {}


def test_init_db_command_creates_them_and_is_harmless_twice(app_factory):
    app = app_factory(CREATE_INDEXES=False)
    runner = app.test_cli_runner()
    first = runner.invoke(init_db_command)
    second = runner.invoke(init_db_command)
    assert first.exit_code == second.exit_code == 0
    assert first.output == "indexes ready: sensor_timestamp, timestamp\n"
    assert index_keys(app.extensions["readings"].readings) == QUERY_INDEXES


def test_retention_adds_a_ttl_index_and_changes_it_in_place(app_factory):
    client = mongomock.MongoClient()
    app = app_factory(MONGO_CLIENT=client, READINGS_RETENTION_DAYS=30)
    readings = app.extensions["readings"].readings
    assert readings.index_information()["retention"]["expireAfterSeconds"] == 30 * 86400
    app_factory(MONGO_CLIENT=client, READINGS_RETENTION_DAYS=7)  # a restart with a new setting
    assert readings.index_information()["retention"]["key"] == [("timestamp", 1)]
    assert readings.index_information()["retention"]["expireAfterSeconds"] == 7 * 86400
    app_factory(MONGO_CLIENT=client, READINGS_RETENTION_DAYS=None)  # retention turned off
    assert "retention" not in readings.index_information()


def test_retention_change_uses_collmod_as_mongodb_documents_it():
    # mongomock has no collMod (the store falls back to drop-and-create there);
    # on MongoDB the index is changed in place with this command.
    assert retention_command(7 * 86400) == {
        "collMod": "readings",
        "index": {"name": "retention", "expireAfterSeconds": 604800},
    }


def test_expired_readings_are_removed_by_the_ttl_index(app_factory):
    # Relies on mongomock expiring TTL documents when read, as MongoDB's TTL
    # monitor does within about a minute.
    app = app_factory(READINGS_RETENTION_DAYS=1)
    readings = app.extensions["readings"].readings
    readings.insert_many(
        [
            {"value": 1, "timestamp": datetime.utcnow() - timedelta(days=2)},
            {"value": 2, "timestamp": datetime.utcnow()},
        ]
    )
    assert [doc["value"] for doc in readings.find()] == [2]


def test_service_starts_when_the_database_is_away_and_retries_later(app_factory, dead_port, caplog):
    app = app_factory(MONGO_URI=f"mongodb://127.0.0.1:{dead_port}/rest", MONGO_TIMEOUT_MS=200)
    assert "could not create indexes (ServerSelectionTimeoutError)" in caplog.text
    assert app.extensions["indexes_due"] is not None


@pytest.mark.parametrize("days", ["0", "-1", "soon"])
def test_bad_retention_setting_stops_start_up(days):
    from flask_rest_service.config import ConfigError, from_env

    with pytest.raises(ConfigError, match="READINGS_RETENTION_DAYS"):
        from_env({"READINGS_RETENTION_DAYS": days})
