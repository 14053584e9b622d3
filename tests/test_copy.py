"""`flask copy-to`: SQLite -> MongoDB (mongomock) -> SQLite, everything equal, safe to repeat or resume."""

from datetime import datetime

import mongomock
import pytest
from bson import ObjectId
from conftest import close_app, everything, make_app

from flask_rest_service import migrate
from flask_rest_service.stores.mongodb import MongoStore

READINGS = [
    {"_id": ObjectId(f"{n:024x}"), "sensor": f"s{n % 3}", "value": n * 1.5, "n": n, "timestamp": datetime(2026, 1, 1, n % 24)}
    for n in range(1, 2500)
] + [{"_id": ObjectId(f"{9999:024x}"), "reading": '{"from": 2014}'}]  # fmt: skip


@pytest.fixture
def sqlite_app(tmp_path):
    app = make_app({"SQLITE_PATH": str(tmp_path / "first.sqlite3")}, API_KEYS=[])
    app.extensions["store"].readings.insert(READINGS)
    yield app
    close_app(app)


@pytest.fixture
def mongo(monkeypatch):
    """Every MongoDB URL opens one mongomock server (no MongoDB server runs here)."""
    server = mongomock.MongoClient()
    monkeypatch.setattr("pymongo.MongoClient", lambda *args, **kwargs: server)
    return server


def sensors(app, key):
    """/sensors/ but when each reported: the target heard of each sensor when it was copied."""
    response = app.test_client().get("/sensors/", headers={"X-API-Key": key})
    assert response.status_code == 200
    return [{name: value for name, value in entry.items() if name != "reported"} for entry in response.json]


def test_sqlite_to_mongodb_and_back_keeps_everything(sqlite_app, mongo, tmp_path, request):
    key = sqlite_app.extensions["keys"].create("pi", "write")
    admin = sqlite_app.extensions["keys"].create("me", "admin")
    rule = {
        "name": "cold",
        "kind": "threshold",
        "sensor": "s1",
        "below": 5,
        "notify": ["https://hooks.example.com/r"],
    }
    made = sqlite_app.test_client().post("/rules/", json=rule, headers={"X-API-Key": admin})
    assert made.status_code == 201
    rules = sqlite_app.extensions["store"].alerts.rules()
    result = sqlite_app.test_cli_runner().invoke(args=["copy-to", "mongodb://db.example/plant"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "copying from the sqlite store 'first.sqlite3' to the mongodb store 'plant'\n"
        "keys: 2 copied, 0 there already\n"
        "alert rules: 1 copied, 0 there already\n"
        "readings: 2500 copied, 0 there already\n"
    )
    on_mongo = make_app({"MONGO_CLIENT": mongo, "MONGO_DBNAME": "plant"})
    request.addfinalizer(lambda: close_app(on_mongo))
    assert everything(on_mongo.extensions["store"].readings) == everything(
        sqlite_app.extensions["store"].readings
    )
    assert sensors(on_mongo, key) == sensors(sqlite_app, key)
    assert on_mongo.extensions["keys"].find(key)["name"] == "pi"  # the device's key works there
    assert on_mongo.extensions["store"].alerts.rules() == rules  # its id, targets and secret too

    back = str(tmp_path / "second.sqlite3")
    result = on_mongo.test_cli_runner().invoke(args=["copy-to", back])
    assert result.output.splitlines()[1:] == [
        "keys: 2 copied, 0 there already",
        "alert rules: 1 copied, 0 there already",
        "readings: 2500 copied, 0 there already",
    ]
    again = make_app({"SQLITE_PATH": back})
    request.addfinalizer(lambda: close_app(again))
    assert everything(again.extensions["store"].readings) == everything(
        sqlite_app.extensions["store"].readings
    )
    assert sensors(again, key) == sensors(sqlite_app, key)
    assert again.extensions["keys"].find(key)["scope"] == "write"
    assert again.extensions["store"].alerts.rules() == rules


def test_a_second_run_copies_nothing_twice(sqlite_app, tmp_path):
    target = str(tmp_path / "target.sqlite3")
    runner = sqlite_app.test_cli_runner()
    runner.invoke(args=["copy-to", target])
    result = runner.invoke(args=["copy-to", target])
    assert result.output.splitlines()[1:] == [
        "keys: 0 copied, 0 there already",
        "alert rules: 0 copied, 0 there already",
        "readings: 0 copied, 2500 there already",
    ]
    copied = make_app({"SQLITE_PATH": target})
    assert copied.extensions["store"].readings.count() == 2500
    close_app(copied)


def test_an_interrupted_copy_resumes_where_it_stopped(sqlite_app, tmp_path, monkeypatch):
    target = migrate.open_named(str(tmp_path / "target.sqlite3"), sqlite_app.config)
    real_insert, calls = target.readings.insert, []

    def failing(batch):  # the connection drops during the third batch
        calls.append(len(batch))
        if len(calls) == 3:
            raise ConnectionError("gone")
        return real_insert(batch)

    monkeypatch.setattr(target.readings, "insert", failing)
    with pytest.raises(ConnectionError):
        migrate.copy(sqlite_app.extensions["store"], target)
    assert target.readings.count() == 2 * migrate.BATCH
    monkeypatch.setattr(target.readings, "insert", real_insert)
    done = migrate.copy(sqlite_app.extensions["store"], target)
    assert (done.readings, done.already) == (500, 2000)
    assert everything(target.readings) == everything(sqlite_app.extensions["store"].readings)
    target.close()


def test_readings_whose_id_is_not_an_object_id_are_named_not_lost_silently(mongo, tmp_path):
    source = MongoStore(mongo["plant"])
    source.readings.collection.insert_many(
        [{"_id": 7, "value": 1}, {"_id": ObjectId(f"{1:024x}"), "value": 2}]
    )
    app = make_app({"MONGO_CLIENT": mongo, "MONGO_DBNAME": "plant"})
    result = app.test_cli_runner().invoke(args=["copy-to", str(tmp_path / "t.sqlite3")])
    assert "readings: 1 copied, 0 there already" in result.output
    assert "not copied: 1 readings whose _id is not an ObjectId (7, ...)" in result.stderr
    close_app(app)


def test_copying_a_store_onto_itself_is_refused(sqlite_app):
    result = sqlite_app.test_cli_runner().invoke(args=["copy-to", sqlite_app.config["SQLITE_PATH"]])
    assert result.exit_code == 1
    assert "the target is the store the service is configured with" in result.output
