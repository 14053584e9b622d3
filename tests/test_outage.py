"""Database outages, for real: on MongoDB nothing listens or a peer hangs up; on SQLite
the file is not a database, or another process holds the write lock."""

import errno
import socket
import sqlite3
import threading

import pytest
from conftest import close_app, make_app, problem_body

ENDPOINTS = [
    ("get", "/readings/"),
    ("post", "/readings/"),
    ("get", "/readings/65f0000000000000000000aa"),
    ("put", "/readings/65f0000000000000000000aa"),
    ("patch", "/readings/65f0000000000000000000aa"),
    ("delete", "/readings/65f0000000000000000000aa"),
    ("delete", "/readings/?until=2026-01-01"),
    ("get", "/readings/stats?sensor=k&interval=1h"),
    ("get", "/readings/export"),
    ("get", "/sensors/"),
    ("get", "/sensors/k/latest"),
]


@pytest.fixture
def dropping_port():
    """A loopback port that accepts connections and closes them at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


UNREACHABLE = "the database cannot be reached; try again shortly"


@pytest.fixture(
    params=[
        # the real driver waiting out its timeouts on loopback
        pytest.param("mongodb, nothing listens", marks=pytest.mark.e2e),
        pytest.param("mongodb, connections dropped", marks=pytest.mark.e2e),
        "sqlite, not a database",
    ]
)
def outage_app(request, tmp_path, dead_port, dropping_port):
    if request.param.startswith("mongodb"):
        port = dead_port if request.param.endswith("nothing listens") else dropping_port
        settings = {
            "MONGO_URI": f"mongodb://127.0.0.1:{port}/rest",
            "MONGO_TIMEOUT_MS": 300,
            "MONGO_REQUEST_TIMEOUT_MS": 300,
        }
    else:
        path = tmp_path / "readings.sqlite3"
        path.write_bytes(b"these bytes are not a SQLite database\n" * 200)
        settings = {"SQLITE_PATH": str(path)}
    app = make_app(settings, CREATE_INDEXES=False)
    yield app
    close_app(app)


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_every_endpoint_answers_503_with_retry_after(outage_app, method, url):
    response = getattr(outage_app.test_client(), method)(url, json={"value": 1})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json == problem_body(503, "Service Unavailable", UNREACHABLE)


def test_health_says_the_database_is_unreachable(outage_app):
    response = outage_app.test_client().get("/")
    assert response.status_code == 503
    assert response.json["detail"] == "the database cannot be reached"


@pytest.mark.e2e
def test_each_outage_log_line_names_the_host_port_and_cause_never_the_password(dead_port, caplog):
    app = make_app(
        {"MONGO_URI": f"mongodb://reader:s3cret@127.0.0.1:{dead_port}/rest"},
        MONGO_TIMEOUT_MS=300, MONGO_REQUEST_TIMEOUT_MS=300, CREATE_INDEXES=False,
    )  # fmt: skip
    client = app.test_client()
    assert client.get("/").status_code == 503
    assert client.get("/readings/").status_code == 503
    cause = (
        f"ServerSelectionTimeoutError: 127.0.0.1:{dead_port}: [Errno {errno.ECONNREFUSED}] Connection refused"
    )
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert warnings == [
        f"health check: the database cannot be reached ({cause})",
        f"database unavailable: {cause}",
    ]
    assert "s3cret" not in caplog.text
    close_app(app)


@pytest.mark.e2e
@pytest.mark.parametrize("args", [["init-db"], ["keys", "list"], ["rules", "list"], ["run-jobs"]])
def test_a_command_on_a_database_that_is_away_says_so_in_one_line_and_exits_1(dead_port, args):
    app = make_app(
        {"MONGO_URI": f"mongodb://127.0.0.1:{dead_port}/rest"},
        MONGO_TIMEOUT_MS=300, MONGO_REQUEST_TIMEOUT_MS=300, CREATE_INDEXES=False,
    )  # fmt: skip
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1
    assert result.output == (
        "Error: the database cannot be reached; try again shortly (ServerSelectionTimeoutError: "
        f"127.0.0.1:{dead_port}: [Errno {errno.ECONNREFUSED}] Connection refused)\n"
    )
    close_app(app)


def test_keys_are_checked_against_the_database_so_an_outage_is_503_not_401(outage_app):
    response = outage_app.test_client().get("/readings/", headers={"X-API-Key": "rk_whatever"})
    assert response.status_code == 503


def test_sqlite_writes_wait_for_the_lock_then_answer_503_while_reads_go_on(tmp_path):
    app = make_app({"SQLITE_PATH": str(tmp_path / "r.sqlite3")}, SQLITE_BUSY_TIMEOUT_MS=200)
    client = app.test_client()
    assert client.post("/readings/", json={"sensor": "k", "value": 1}).status_code == 201
    other = sqlite3.connect(tmp_path / "r.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the busy timeout
    try:
        response = client.post("/readings/", json={"sensor": "k", "value": 2})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json == problem_body(
            503, "Service Unavailable", "the database is busy; try again shortly"
        )
        assert [doc["value"] for doc in client.get("/readings/").json] == [1]  # WAL: readers never wait
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert client.post("/readings/", json={"sensor": "k", "value": 3}).status_code == 201
    assert app.extensions["store"].readings.count() == 2
    close_app(app)
