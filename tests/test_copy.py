"""`flask copy-to`: SQLite -> MongoDB (mongomock) -> SQLite, everything equal, safe to repeat or resume."""

import warnings
from datetime import datetime

import mongomock
import pytest
from bson import ObjectId
from conftest import close_app, everything, make_app

from flask_rest_service import migrate
from flask_rest_service.config import from_env
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


@pytest.mark.slow
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
    on_mongo = make_app({"MONGO_URI": "mongodb://db.example/plant", "MONGO_DBNAME": "plant"})
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
    app = make_app({"MONGO_URI": "mongodb://db.example/plant", "MONGO_DBNAME": "plant"})
    result = app.test_cli_runner().invoke(args=["copy-to", str(tmp_path / "t.sqlite3")])
    assert "readings: 1 copied, 0 there already" in result.output
    assert "not copied: 1 readings whose _id is not an ObjectId (7, ...)" in result.stderr
    close_app(app)


def test_copying_a_store_onto_itself_is_refused(sqlite_app):
    result = sqlite_app.test_cli_runner().invoke(args=["copy-to", sqlite_app.config["SQLITE_PATH"]])
    assert result.exit_code == 1
    assert "the target is the store the service is configured with" in result.output


@pytest.fixture
def opens_nothing(monkeypatch):
    """A refused target or source is never opened (nor connected to, nor created)."""

    def refuse(settings):
        raise AssertionError(f"opened {settings}")

    monkeypatch.setattr("flask_rest_service.cli.open_store", refuse)


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("", "TARGET: empty: name a mongodb:// URL or a SQLite file"),
        ("   ", "TARGET: empty: name a mongodb:// URL or a SQLite file"),
        (" x.sqlite3", "TARGET: ' x.sqlite3' starts or ends with blanks (a quoting mistake?)"),
        ("sqlite://", "TARGET: 'sqlite://' names no file: sqlite:///path/to/file.sqlite3"),
        (":memory:", "TARGET: ':memory:': an in-memory SQLite database would vanish with the copy"),
        ("sqlite://:memory:", "TARGET: 'sqlite://:memory:': an in-memory SQLite database would vanish with the copy"),
        ("MONGODB://localhost/rest", "TARGET: 'MONGODB://localhost/rest': write the scheme in lower case, mongodb:// or mongodb+srv://"),
        ("postgres://db.example.com/readings", "TARGET: 'postgres://db.example.com/readings': 'postgres:' is not a scheme this copies to or from; use mongodb://, mongodb+srv://, sqlite:// or a file's path (./name for a file whose name has a colon)"),
        ("file:r.sqlite3", "TARGET: 'file:r.sqlite3': 'file:' is not a scheme this copies to or from; use mongodb://, mongodb+srv://, sqlite:// or a file's path (./name for a file whose name has a colon)"),
        ("./x://y", "TARGET: './x://y': 'that' is not a scheme this copies to or from; use mongodb://, mongodb+srv://, sqlite:// or a file's path (./name for a file whose name has a colon)"),
        ("mongodb+srv//user:s3cret@host/rest", "TARGET: 'mongodb+srv//user:****@host/rest' looks like a mistyped MongoDB URL (mongodb://user:password@host/database); a file with '@' in its name is written sqlite://NAME"),
        ("user:s3cret@host/rest", "TARGET: 'user:****@host/rest' looks like a mistyped MongoDB URL (mongodb://user:password@host/database); a file with '@' in its name is written sqlite://NAME"),
        ("mongodb://", "TARGET: 'mongodb://' is not a connection string the driver accepts: Must provide at least one hostname or IP"),
        ("mongodb+srv://user:s3cret@h1,h2/rest", "TARGET: 'mongodb+srv://user:****@h1,h2/rest' is not a connection string the driver accepts: mongodb+srv:// URIs must include one, and only one, hostname"),
        ("mongodb+srv://user:s3cret@host:27017/rest", "TARGET: 'mongodb+srv://user:****@host:27017/rest' is not a connection string the driver accepts: mongodb+srv:// URIs must not include a port number"),
        # an unescaped '/' or '?' in the password: the driver splits there and quotes the rest
        ("mongodb://user:s3/cret@host/rest", "TARGET: 'mongodb://user:****@host/rest' is not a connection string the driver accepts: Bad database name \"****@host/rest\""),
        ("mongodb://user:s3?cret@host/rest", "TARGET: 'mongodb://user:****@host/rest' is not a connection string the driver accepts: MongoDB URI options are key=value pairs"),
        ("mongodb://user:50%@host/rest", "TARGET: 'mongodb://user:****@host/rest' is not a connection string the driver accepts: Username and password must be escaped according to RFC 3986, use urllib.parse.quote_plus"),
    ],
)  # fmt: skip
def test_a_target_that_names_no_store_is_refused_in_one_line(sqlite_app, opens_nothing, target, problem):
    result = sqlite_app.test_cli_runner().invoke(args=["copy-to", target])
    assert (result.exit_code, result.stdout) == (2, "")
    # ours in full; the driver's reason, after it, as far as its wording is not its own to change
    assert result.stderr.startswith(f"Error: {problem}")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
    assert "s3cret" not in result.stderr


def test_an_option_the_driver_only_warns_about_is_refused(sqlite_app, opens_nothing):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as outside the tests: the driver's warning would pass unseen
        result = sqlite_app.test_cli_runner().invoke(
            args=["copy-to", "mongodb://u:s3cret@h/rest?retryWrite=true"]
        )
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: TARGET: 'mongodb://u:****@h/rest?retryWrite=true' is not a connection string the driver "
        "accepts: Unknown option: "
    )


def test_copy_from_refuses_the_same_and_a_missing_file(sqlite_app, opens_nothing, tmp_path):
    runner = sqlite_app.test_cli_runner()
    result = runner.invoke(args=["copy-from", "mongodb+srv//user:s3cret@host/rest"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: SOURCE: 'mongodb+srv//user:****@host/rest' looks like")
    missing = str(tmp_path / "none.sqlite3")
    result = runner.invoke(args=["copy-from", missing])
    assert (result.exit_code, result.stderr) == (2, f"Error: SOURCE: no SQLite file at {missing!r}\n")
    assert not (tmp_path / "none.sqlite3").exists()


@pytest.mark.parametrize(
    ("target", "settings"),
    [
        ("mongodb://localhost/plant", {"MONGO_URI": "mongodb://localhost/plant", "MONGO_DBNAME": "plant"}),
        (
            "mongodb+srv://u:p%40ss@cluster0.example.net/plant?retryWrites=true&w=majority&srvMaxHosts=2",
            {
                "MONGO_URI": "mongodb+srv://u:p%40ss@cluster0.example.net/plant?retryWrites=true&w=majority&srvMaxHosts=2",
                "MONGO_DBNAME": "plant",
            },
        ),
        ("sqlite:///srv/r.sqlite3", {"SQLITE_PATH": "/srv/r.sqlite3"}),
        ("instance/r.sqlite3", {"SQLITE_PATH": "instance/r.sqlite3"}),
        ("./a:b.sqlite3", {"SQLITE_PATH": "./a:b.sqlite3"}),
        ("sqlite://backup@2026.sqlite3", {"SQLITE_PATH": "backup@2026.sqlite3"}),
    ],
)
def test_what_a_target_names(target, settings, monkeypatch):
    def no_lookup(*args, **kwargs):
        raise AssertionError("a DNS look-up")

    monkeypatch.setattr("dns.resolver.resolve", no_lookup)
    named = migrate.store_settings(target, from_env({}))
    assert {name: named[name] for name in settings} == settings
    other = "SQLITE_PATH" if "MONGO_URI" in settings else "MONGO_URI"
    assert named[other] is None


def test_copy_from_copies_into_the_configured_store(sqlite_app, tmp_path, request):
    key = sqlite_app.extensions["keys"].create("pi", "write")
    empty = make_app({"SQLITE_PATH": str(tmp_path / "new.sqlite3")})
    request.addfinalizer(lambda: close_app(empty))
    result = empty.test_cli_runner().invoke(args=["copy-from", sqlite_app.config["SQLITE_PATH"]])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "copying from the sqlite store 'first.sqlite3' to the sqlite store 'new.sqlite3'\n"
        "keys: 1 copied, 0 there already\n"
        "alert rules: 0 copied, 0 there already\n"
        "readings: 2500 copied, 0 there already\n"
    )
    assert everything(empty.extensions["store"].readings) == everything(
        sqlite_app.extensions["store"].readings
    )
    assert empty.extensions["keys"].find(key)["name"] == "pi"


def test_copying_from_the_configured_store_is_refused(sqlite_app):
    result = sqlite_app.test_cli_runner().invoke(args=["copy-from", sqlite_app.config["SQLITE_PATH"]])
    assert result.exit_code == 1
    assert "the source is the store the service is configured with" in result.output


RULE = {
    "name": "cold",
    "kind": "threshold",
    "sensor": "s1",
    "below": 5,
    "notify": ["https://hooks.example.com/r"],
}


@pytest.fixture
def target(tmp_path, request):
    """An app on another SQLite file, holding a key 'pi' of its own."""
    app = make_app({"SQLITE_PATH": str(tmp_path / "target.sqlite3")})
    request.addfinalizer(lambda: close_app(app))
    return app


def keys_of(app):
    return [(key["name"], key["scope"], key["hash"]) for key in app.extensions["store"].keys.records()]


@pytest.mark.parametrize(
    ("theirs", "conflict"),
    [
        ("another key", "key 'pi' is another key there"),
        ("another scope", "key 'pi' has scope admin there, write here"),
        ("another name", "key 'pi' is there as 'kitchen'"),
    ],
)
def test_a_key_the_target_holds_in_another_form_is_a_conflict_and_nothing_is_copied(
    sqlite_app, target, theirs, conflict
):
    sqlite_app.extensions["keys"].create("spare", "read")
    sqlite_app.extensions["keys"].create("pi", "write")
    pi = next(key for key in sqlite_app.extensions["store"].keys.records() if key["name"] == "pi")
    if theirs == "another key":
        target.extensions["keys"].create("pi", "write")
    else:
        name, scope = ("pi", "admin") if theirs == "another scope" else ("kitchen", "write")
        target.extensions["store"].keys.add({**pi, "name": name, "scope": scope})
    before = keys_of(target)
    result = sqlite_app.test_cli_runner().invoke(args=["copy-to", target.config["SQLITE_PATH"]])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: nothing copied: the target holds these in another form: {conflict}; "
        "revoke or delete one side's and run again\n"
    )
    assert pi["hash"] not in result.output
    assert keys_of(target) == before  # not even the key 'spare'
    assert target.extensions["store"].readings.count() == 0


def test_a_key_there_already_in_the_same_form_is_no_conflict(sqlite_app, target):
    sqlite_app.extensions["keys"].create("pi", "write")
    target.extensions["store"].keys.add(sqlite_app.extensions["store"].keys.records()[0])
    result = sqlite_app.test_cli_runner().invoke(args=["copy-to", target.config["SQLITE_PATH"]])
    assert result.exit_code == 0, result.output
    assert "keys: 0 copied, 1 there already" in result.output


def test_a_rule_the_target_holds_with_other_content_is_a_conflict(sqlite_app, target):
    admin = sqlite_app.extensions["keys"].create("me", "admin")
    made = sqlite_app.test_client().post("/rules/", json=RULE, headers={"X-API-Key": admin})
    assert made.status_code == 201
    rule = sqlite_app.extensions["store"].alerts.rules()[0]
    target.extensions["store"].alerts.add_rule({**rule, "below": 3})
    result = sqlite_app.test_cli_runner().invoke(args=["copy-to", target.config["SQLITE_PATH"]])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: nothing copied: the target holds these in another form: alert rule {rule['_id']} ('cold') "
        "differs there; revoke or delete one side's and run again\n"
    )
    assert target.extensions["store"].alerts.rules() == [{**rule, "below": 3}]
    assert keys_of(target) == []
    assert target.extensions["store"].readings.count() == 0


@pytest.mark.slow
def test_a_rule_and_keys_copied_before_are_no_conflict_on_either_engine(sqlite_app, mongo, tmp_path, request):
    admin = sqlite_app.extensions["keys"].create("me", "admin")
    made = sqlite_app.test_client().post("/rules/", json=RULE, headers={"X-API-Key": admin})
    assert made.status_code == 201
    runner = sqlite_app.test_cli_runner()
    assert runner.invoke(args=["copy-to", "mongodb://db.example/plant"]).exit_code == 0
    again = runner.invoke(args=["copy-to", "mongodb://db.example/plant"])
    assert again.output.splitlines()[1:3] == [
        "keys: 0 copied, 1 there already",
        "alert rules: 0 copied, 1 there already",
    ]
    on_mongo = make_app({"MONGO_URI": "mongodb://db.example/plant", "MONGO_DBNAME": "plant"})
    request.addfinalizer(lambda: close_app(on_mongo))
    back = on_mongo.test_cli_runner()
    assert back.invoke(args=["copy-to", str(tmp_path / "back.sqlite3")]).exit_code == 0
    again = back.invoke(args=["copy-to", str(tmp_path / "back.sqlite3")])
    assert again.output.splitlines()[1:3] == [
        "keys: 0 copied, 1 there already",
        "alert rules: 0 copied, 1 there already",
    ]


def test_a_reading_edited_since_an_earlier_copy_is_named_and_each_side_keeps_its_own(sqlite_app, tmp_path):
    target = str(tmp_path / "target.sqlite3")
    runner = sqlite_app.test_cli_runner()
    assert runner.invoke(args=["copy-to", target]).exit_code == 0
    edited = READINGS[0]["_id"]
    sqlite_app.extensions["store"].readings.update(edited, {"value": -1}, [])
    result = runner.invoke(args=["copy-to", target])
    assert result.exit_code == 1
    assert result.output.splitlines()[1:] == [
        "keys: 0 copied, 0 there already",
        "alert rules: 0 copied, 0 there already",
        "readings: 0 copied, 2499 there already",
        f"Error: not copied: 1 readings whose _id the target holds with other content ({edited}); "
        "each side keeps its own",
    ]
    copied = make_app({"SQLITE_PATH": target})
    assert copied.extensions["store"].readings.get(edited)["value"] == READINGS[0]["value"]
    close_app(copied)
