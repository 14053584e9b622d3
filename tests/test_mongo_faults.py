"""The MongoDB path against the faults a real deployment meets, through the real pymongo driver.

A scripted server (tests/mongo_wire.py, mockupdb) stands where MongoDB would:
it answers the handshake, then each command as scripted. What each fault
must answer: an unconfirmed write is a 503 (the device resends with the same
_id, which is safe), every outage a 503 with Retry-After within the request
budget, and never a 500.
"""

import time

import pytest
from bson import ObjectId
from conftest import close_app, make_app, problem_body, run_python
from mongo_wire import HANG, Wire

from flask_rest_service import create_app, maintenance
from flask_rest_service.config import from_env

NOT_CONFIRMED = "the database did not confirm the write; send it again (with the same _id it is stored once)"
UNREACHABLE = "the database cannot be reached; try again shortly"
WRITE_CONCERN_ERROR = {
    "code": 64,
    "codeName": "WriteConcernFailed",
    "errmsg": "waiting for replication timed out",
    "errInfo": {"wtimeout": True},
}
BUDGET_MS = 600  # MONGO_REQUEST_TIMEOUT_MS in these tests
# The real driver over loopback; and mockupdb takes a second to stop its server (it polls for connections).
pytestmark = pytest.mark.e2e


@pytest.fixture
def wire():
    server = Wire()
    yield server
    server.stop()


@pytest.fixture
def app(wire):
    app = make_app(
        {"MONGO_URI": f"{wire.uri}/rest?w=majority"},
        MONGO_TIMEOUT_MS=500, MONGO_REQUEST_TIMEOUT_MS=BUDGET_MS, CREATE_INDEXES=False, RATE_LIMIT=None,
    )  # fmt: skip
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


def unavailable(response, detail=UNREACHABLE):
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "5"
    assert response.json == problem_body(503, "Service Unavailable", detail)
    return True


# --- 1. a write that was not confirmed is never a 2xx ---------------------------------


def test_a_single_write_without_its_write_concern_is_503(wire, client):
    wire.replies["insert"] = lambda request: {"ok": 1, "n": 1, "writeConcernError": WRITE_CONCERN_ERROR}
    assert unavailable(client.post("/readings/", json={"sensor": "k", "value": 1}), NOT_CONFIRMED)
    assert wire.commands("insert")[0]["writeConcern"] == {"w": "majority"}


def test_a_batch_without_its_write_concern_is_503(wire, client):
    wire.replies["insert"] = lambda request: {"ok": 1, "n": 2, "writeConcernError": WRITE_CONCERN_ERROR}
    assert unavailable(client.post("/readings/", json=[{"value": 1}, {"value": 2}]), NOT_CONFIRMED)


def test_a_duplicate_in_a_batch_with_a_write_concern_error_at_once_is_503(wire, client):
    ids = [str(ObjectId()), str(ObjectId())]
    wire.replies["insert"] = {
        "ok": 1, "n": 1, "writeConcernError": WRITE_CONCERN_ERROR,
        "writeErrors": [{"index": 0, "code": 11000, "errmsg": "E11000 duplicate key error"}],
    }  # fmt: skip
    response = client.post("/readings/", json=[{"_id": ids[0], "value": 1}, {"_id": ids[1], "value": 2}])
    assert unavailable(response, NOT_CONFIRMED)


@pytest.mark.parametrize(
    ("code", "name"), [(10107, "NotWritablePrimary"), (11602, "InterruptedDueToReplStateChange")]
)
def test_a_step_down_part_way_through_a_batch_is_503_and_what_was_inserted_is_counted(
    wire, client, code, name
):
    # MongoDB reports a step-down between its own batches of an unordered
    # insert as one writeError per document it did not insert; pymongo does
    # not retry those (only whole-command errors).
    wire.replies["insert"] = lambda request: {
        "ok": 1, "n": 2,
        "writeErrors": [{"index": 2, "code": code, "codeName": name, "errmsg": "not primary"}],
    }  # fmt: skip
    response = client.post(
        "/readings/",
        json=[{"sensor": "a", "value": 1}, {"sensor": "a", "value": 2}, {"sensor": "b", "value": 3}],
    )
    assert unavailable(response, NOT_CONFIRMED)
    counted = [
        (update["q"], update["u"]["$inc"])
        for command in wire.commands("update")
        if command["update"] == "sensor_summaries"
        for update in command["updates"]
    ]
    assert counted == [({"_id": "a"}, {"count": 2})]


def test_a_partial_batch_without_its_write_concern_is_503(wire, client):
    wire.replies["insert"] = lambda request: {"ok": 1, "n": 1, "writeConcernError": WRITE_CONCERN_ERROR}
    assert unavailable(client.post("/readings/?partial=true", json=[{"value": 1}]), NOT_CONFIRMED)


@pytest.mark.parametrize(
    ("method", "command"), [("put", "findAndModify"), ("patch", "findAndModify"), ("delete", "findAndModify")]
)
def test_edits_without_their_write_concern_are_503(wire, client, method, command):
    wire.replies[command] = {"ok": 1, "value": None, "writeConcernError": WRITE_CONCERN_ERROR}
    response = getattr(client, method)(f"/readings/{ObjectId()}", json={"value": 2})
    assert unavailable(response, NOT_CONFIRMED)


def test_a_bulk_delete_without_its_write_concern_is_503(wire, client):
    wire.replies["find", "readings"] = lambda request: {
        "ok": 1,
        "cursor": {"id": 0, "ns": "rest.readings", "firstBatch": [{"_id": ObjectId()}]},
    }
    wire.replies["delete"] = {"ok": 1, "n": 1, "writeConcernError": WRITE_CONCERN_ERROR}
    assert unavailable(client.delete("/readings/?until=2030-01-01"), NOT_CONFIRMED)


# --- 2. names MongoDB refuses are a 400 before the database ------------------------------


@pytest.mark.parametrize(
    ("method", "body"), [("post", {"": 5}), ("put", {"": 5}), ("patch", {"": 5}), ("post", {"a": {"": 1}})]
)
def test_an_empty_field_name_is_a_400_and_reaches_no_database(wire, client, method, body):
    url = "/readings/" if method == "post" else f"/readings/{ObjectId()}"
    response = getattr(client, method)(url, json=body)
    assert response.status_code == 400
    assert {
        "field": body.get("a") and "a." or "",
        "detail": "field names must not be empty",
    } in response.json["errors"]
    assert wire.commands("insert", "update", "findAndModify") == []


# --- 3. the release step on Atlas ----------------------------------------------------------


def test_init_db_passes_where_the_user_may_not_run_coll_mod(wire):
    # Atlas' "read and write" users may not run collMod (code 13). 1.0 changed
    # its TTL index with it when retention changed; now retention is a job and
    # the old index is dropped (dropIndexes is within "read and write").
    app = make_app({"MONGO_URI": f"{wire.uri}/rest"}, READINGS_RETENTION_DAYS=7, CREATE_INDEXES=False)
    wire.replies["listIndexes"] = lambda request: {"ok": 1, "cursor": {"id": 0, "ns": "rest.readings", "firstBatch": [
        {"v": 2, "key": {"_id": 1}, "name": "_id_"},
        {"v": 2, "key": {"timestamp": 1}, "name": "retention", "expireAfterSeconds": 86400}]}}  # fmt: skip
    wire.replies["collMod"] = {
        "ok": 0,
        "code": 13,
        "codeName": "Unauthorized",
        "errmsg": "not authorized on rest to execute command",
    }
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert [doc["index"] for doc in wire.commands("dropIndexes")] == ["retention"]
    assert wire.commands("collMod") == []
    close_app(app)


def _indexes(request, *extra):
    """listIndexes: the _id index and ``extra`` on readings; only _id elsewhere."""
    found = [{"v": 2, "key": {"_id": 1}, "name": "_id_"}]
    return _cursor_of(request, found + (list(extra) if request.doc["listIndexes"] == "readings" else []))


def _cursor_of(request, batch):
    return {"ok": 1, "cursor": {"id": 0, "ns": f"rest.{request.doc['listIndexes']}", "firstBatch": batch}}


def test_init_db_uses_an_equivalent_index_made_under_another_name(wire):
    # Made in Atlas's UI: the same keys, the UI's name. Creating ours under
    # our name would be error 85 (IndexOptionsConflict) at every start.
    app = make_app({"MONGO_URI": f"{wire.uri}/rest"}, CREATE_INDEXES=False)
    atlas = {"v": 2, "key": {"sensor": 1, "timestamp": -1, "_id": -1}, "name": "sensor_1_timestamp_-1__id_-1"}
    wire.replies["listIndexes"] = lambda request: _indexes(request, atlas)
    wire.replies["createIndexes"] = lambda request: (
        {"ok": 0, "code": 85, "codeName": "IndexOptionsConflict", "errmsg": "exists with a different name"}
        if request.doc["indexes"][0]["key"] == atlas["key"]
        else {"ok": 1}
    )
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "sensor_1_timestamp_-1__id_-1, timestamp," in result.output
    made = [index["name"] for doc in wire.commands("createIndexes") for index in doc["indexes"]]
    assert made == ["timestamp", "type_timestamp", "name", "hash", "rule_at", "deliveries_due"]
    close_app(app)


def test_init_db_leaves_an_index_of_another_shape_under_our_name_and_makes_ours(wire, caplog):
    app = make_app({"MONGO_URI": f"{wire.uri}/rest"}, CREATE_INDEXES=False)
    theirs = {"v": 2, "key": {"timestamp": 1}, "name": "timestamp"}
    wire.replies["listIndexes"] = lambda request: _indexes(request, theirs)
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    made = [index for doc in wire.commands("createIndexes") for index in doc["indexes"]]
    assert made[1] == {"key": {"timestamp": -1, "_id": -1}, "name": "timestamp_-1__id_-1"}
    assert (
        "the index 'timestamp' has other keys (timestamp 1) than the service's (timestamp -1, _id -1)"
        in caplog.text
    )
    close_app(app)


def test_an_index_legacy_documents_cannot_have_is_logged_and_init_db_goes_on(wire, caplog):
    app = make_app({"MONGO_URI": f"{wire.uri}/rest"}, CREATE_INDEXES=False)
    wire.replies["createIndexes", "readings"] = lambda request: (
        {"ok": 0, "code": 171, "codeName": "CannotIndexParallelArrays", "errmsg": "cannot index parallel arrays [timestamp] [sensor]"}
        if request.doc["indexes"][0]["name"] == "sensor_timestamp"
        else {"ok": 1}
    )  # fmt: skip
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "indexes: timestamp, type_timestamp, name, hash, rule_at, deliveries_due" in result.output
    assert (
        "readings: index sensor_timestamp (sensor 1, timestamp -1, _id -1) not built, the service runs without it: "
        "cannot index parallel arrays [timestamp] [sensor]"
    ) in caplog.text
    close_app(app)


def test_setting_the_store_up_runs_under_its_own_long_deadline_not_a_requests(wire):
    # A build cut by a request's maxTimeMS (about 3999 ms) is undone on the
    # server: on a large collection the indexes would never exist.
    app = make_app(
        {"MONGO_URI": f"{wire.uri}/rest"}, MONGO_REQUEST_TIMEOUT_MS=BUDGET_MS, CREATE_INDEXES=False
    )
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    builds = wire.commands("createIndexes")
    assert len(builds) == 7
    assert all(3_590_000 < doc["maxTimeMS"] <= 3_600_000 for doc in builds), [
        doc["maxTimeMS"] for doc in builds
    ]
    close_app(app)


SERVE_AND_POST = """
import flask_rest_service as m
m.serve(m.app)
print(m.app.test_client().post("/readings/", json={"sensor": "k", "value": 1}).status_code)
print(m.app.extensions["init_due"])
"""


def test_a_web_process_serves_while_its_store_set_up_still_waits(wire):
    # serve() sets the store up in the background: a hung (or slow) index
    # build never keeps the process from answering. (With the request budget
    # this long, a set-up in the foreground would keep it 10 minutes.)
    wire.replies["createIndexes"] = HANG
    result = run_python(
        SERVE_AND_POST, timeout=60, MONGO_URL=f"{wire.uri}/rest", MONGO_REQUEST_TIMEOUT_MS="600000"
    )
    assert result.stdout.splitlines()[-2:] == ["201", "True"]  # answered; the set-up still to do
    assert len(wire.commands("createIndexes")) == 1


def test_a_list_asks_for_undated_readings_only_where_some_may_exist(wire, client):
    # The undated phase's filter (a negated $type) can use no index: on a
    # collection known to hold none, it is never sent.
    wire.replies["find", "service"] = lambda request: _cursor_of_service(
        request, {"_id": "undated", "exist": False}
    )
    assert client.get("/readings/").status_code == 200
    assert client.get("/readings/?type=t").status_code == 200
    sent = [doc["filter"] for doc in wire.commands("find") if doc["find"] == "readings"]
    assert len(sent) == 2
    assert all("$nor" not in query for query in sent), sent


def _cursor_of_service(request, doc):
    return {"ok": 1, "cursor": {"id": 0, "ns": "rest.service", "firstBatch": [doc]}}


# --- 4. names that do not resolve ------------------------------------------------------------


def test_an_srv_name_that_does_not_resolve_is_an_outage_not_a_crash():
    started = time.monotonic()
    app = make_app(
        {"MONGO_URI": "mongodb+srv://cluster0.nowhere.invalid/rest"},
        MONGO_TIMEOUT_MS=500,
        CREATE_INDEXES=False,
    )
    assert time.monotonic() - started < 1  # built without looking the name up
    assert unavailable(app.test_client().get("/readings/"))
    assert app.test_client().get("/").status_code == 503
    close_app(app)


def test_building_the_app_reaches_no_server_the_web_process_sets_it_up(wire):
    app = create_app({**from_env({}), "MONGO_URI": f"{wire.uri}/rest", "MONGO_TIMEOUT_MS": 500})
    assert wire.received == []  # CREATE_INDEXES is on: still nothing until the process serves
    maintenance.try_init(app)  # what serve() does first
    assert {doc["createIndexes"] for doc in wire.commands("createIndexes")} >= {"readings", "api_keys"}
    close_app(app)


# --- 5. a server that stops answering --------------------------------------------------------

ENDPOINTS = [
    ("get", "/"), ("get", "/readings/"), ("post", "/readings/"), ("get", f"/readings/{ObjectId()}"),
    ("patch", f"/readings/{ObjectId()}"), ("get", "/readings/stats?sensor=k&interval=1h"),
    ("get", "/readings/export"), ("get", "/sensors/"), ("delete", "/readings/?until=2030-01-01"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_every_request_on_a_hung_server_is_a_503_within_its_budget(wire, client, method, url):
    for command in HEALTHY_COMMANDS:
        wire.replies[command] = HANG
    started = time.monotonic()
    response = getattr(client, method)(url, json={"value": 1})
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.mimetype == "application/problem+json"
    # One budget for the whole request, retries included (not 20 s a try, doubled).
    assert elapsed < 3 * BUDGET_MS / 1000, elapsed
    sent = [doc for name, doc in wire.received if name not in ("endSessions", "killCursors")]
    assert sent and all("maxTimeMS" in doc for doc in sent if "find" in doc or "aggregate" in doc)


HEALTHY_COMMANDS = ["ping", "find", "aggregate", "insert", "update", "delete", "findAndModify", "listIndexes"]


def test_the_server_is_told_how_long_to_work(wire, client):
    client.get("/readings/")
    find = wire.commands("find")[-1]
    assert 0 < find["maxTimeMS"] <= BUDGET_MS


# --- auth, step-down, cursors, recovery --------------------------------------------------------


def test_an_authentication_failure_is_an_outage_and_logged(wire, caplog):
    wire.replies["saslStart"] = {
        "ok": 0,
        "code": 18,
        "codeName": "AuthenticationFailed",
        "errmsg": "Authentication failed.",
    }
    app = make_app(
        {"MONGO_URI": f"mongodb://sensor:wrong@{wire.uri.removeprefix('mongodb://')}/rest"},
        MONGO_TIMEOUT_MS=500,
        CREATE_INDEXES=False,
    )
    assert unavailable(app.test_client().get("/readings/"))
    assert "AuthenticationFailed" in caplog.text
    close_app(app)


def test_a_primary_stepping_down_is_an_outage(wire, client):
    wire.replies["insert"] = {
        "ok": 0,
        "code": 10107,
        "codeName": "NotWritablePrimary",
        "errmsg": "not primary",
    }
    assert unavailable(client.post("/readings/", json={"value": 1}))


TRANSIENT = [
    {"code": 11601, "codeName": "Interrupted"},
    {"code": 175, "codeName": "QueryPlanKilled"},
    {"code": 24, "codeName": "LockTimeout"},
    {"code": 46, "codeName": "LockBusy"},
    {"code": 279, "codeName": "ClientDisconnect"},
    {"code": 462, "codeName": "IngressRequestRateLimitExceeded"},
    {"code": 2, "codeName": "BadValue", "errorLabels": ["RetryableWriteError"]},
    {"code": 2, "codeName": "BadValue", "errorLabels": ["SystemOverloadedError"]},
]


@pytest.mark.parametrize(
    "error", TRANSIENT, ids=lambda error: error.get("errorLabels", [error["codeName"]])[0]
)
@pytest.mark.parametrize(
    ("method", "url", "command", "body"),
    [("post", "/readings/", "insert", {"value": 1}), ("get", "/readings/", "find", None)],
)
def test_a_transient_server_error_is_an_outage_not_a_bug(wire, client, error, method, url, command, body):
    wire.replies[command] = {"ok": 0, "errmsg": "transient", **error}
    assert unavailable(getattr(client, method)(url, json=body))


def test_a_cursor_lost_during_an_export_is_read_again_from_where_it_stopped(wire, client, monkeypatch):
    monkeypatch.setattr("flask_rest_service.stores.base.EXPORT_BATCH", 2)
    docs = [
        {
            "_id": ObjectId(f"{n:024x}"),
            "value": n,
            "timestamp": __import__("datetime").datetime(2026, 1, 1, n),
        }
        for n in range(1, 6)
    ]
    lost = []

    def find(request):
        after = request.doc["filter"].get("$or")
        start = (
            0
            if after is None
            else next(i for i, d in enumerate(docs) if d["_id"] == after[1]["_id"]["$gt"]) + 1
        )
        batch = docs[start : start + request.doc["limit"]]
        if start == 2 and not lost:  # the second batch: its cursor is gone when read
            lost.append(True)
            return {"ok": 0, "code": 43, "codeName": "CursorNotFound", "errmsg": "cursor id 7 not found"}
        return {"ok": 1, "cursor": {"id": 0, "ns": "rest.readings", "firstBatch": batch}}

    wire.replies["find", "readings"] = find
    response = client.get("/readings/export?format=ndjson")
    assert response.status_code == 200
    values = [
        line.split('"value":')[1].split(",")[0] for line in response.get_data(as_text=True).splitlines()
    ]
    assert values == ["1", "2", "3", "4", "5"] and lost == [True]


def test_the_service_recovers_when_the_server_answers_again(wire, client):
    wire.replies["insert"] = HANG
    assert unavailable(client.post("/readings/", json={"value": 1}))
    del wire.replies["insert"]
    response = client.post("/readings/", json={"value": 1})
    assert response.status_code == 201


# --- 7. documents without a date timestamp, as the 2014 tutorial stored them -----------------


def test_a_page_that_ends_on_a_document_without_a_timestamp_links_to_the_next(wire, client):
    legacy = [{"_id": ObjectId(f"{n:024x}"), "reading": '{"temp": 20}'} for n in (3, 2, 1)]

    def find(request):
        query = request.doc["filter"]
        undated = query.get("$nor") == [{"timestamp": {"$type": "date", "$not": {"$type": "array"}}}]
        after = query.get("_id", {}).get("$lt")
        batch = [doc for doc in legacy if undated and (after is None or doc["_id"] < after)]
        return {
            "ok": 1,
            "cursor": {"id": 0, "ns": "rest.readings", "firstBatch": batch[: request.doc["limit"]]},
        }

    wire.replies["find", "readings"] = find
    first = client.get("/readings/?limit=2")
    assert first.status_code == 200
    assert [doc["_id"]["$oid"] for doc in first.json] == [f"{3:024x}", f"{2:024x}"]
    second = client.get(first.headers["Link"].split(">")[0].removeprefix("<http://localhost"))
    assert [doc["_id"]["$oid"] for doc in second.json] == [f"{1:024x}"]
    assert "Link" not in second.headers
