"""Fixtures: a fresh app on a fresh store per test, on every store.

Every test that uses ``app`` (or ``app_factory``, ``client``, ``readings``)
runs once per store: ``sqlite`` (a file in the test's own folder) and
``mongomock`` (stock mongomock, standing in for MongoDB's query semantics).
With ``TEST_MONGO_URL=mongodb://...`` a third, ``mongodb``, runs the same
tests on a real server, each in a database of its own whose collections are
dropped afterwards (its user needs ``readWriteAnyDatabase``, no more). The database state is read back through the store's own
interface (``readings``), so one assertion holds on every engine.

No test depends on what the caller exported: every variable the service
reads, every proxy variable and Flask's own are removed from the
environment of the tests and of the processes they start, before the
service is imported (``isolation.py`` says why then).

The property tests (Hypothesis, schemathesis) are deterministic unless asked
otherwise: ``HYPOTHESIS_PROFILE`` picks Hypothesis' built-in ``ci`` profile
by default (derandomized: the same examples every run; no example
database), or ``fuzz`` (``make fuzz``): random examples, ``FUZZ_SCALE``
(10) times as many, and any failure kept in ``.hypothesis/`` to be replayed
first next time.
A bug either finds is pinned with an ``@example`` or a test of its own.
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import uuid
import weakref
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import isolation  # noqa: F401 (first: it cleans the environment before the service is imported)
import mongomock
import pymongo
import pytest
import time_machine
from hypothesis import settings as hypothesis_settings

from flask_rest_service import create_app, maintenance
from flask_rest_service.config import from_env
from flask_rest_service.stores.base import Filters

# make fuzz: ten times the examples of make test (Hypothesis' default of 100, and
# each test's own count through ``examples``), random, failures kept.
FUZZ_SCALE = int(os.environ.get("FUZZ_SCALE", "10"))

# Its parent is Hypothesis' "default" profile, named: with CI set in the
# environment (as CI runs), the settings a new profile would inherit are the
# derandomized "ci" profile's.
hypothesis_settings.register_profile(
    "fuzz",
    parent=hypothesis_settings.get_profile("default"),
    deadline=None,
    max_examples=100 * FUZZ_SCALE,
    print_blob=True,
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TEST_MONGO_URL = os.environ.get("TEST_MONGO_URL")
STORES = ["sqlite", "mongomock", *(["mongodb"] if TEST_MONGO_URL else [])]
ROOT = Path(__file__).resolve().parent.parent
# The running Python's own commands (gunicorn, flask, honcho): its environment's, wherever that is.
BIN = Path(sys.executable).parent
# The environment for subprocesses: the tests' own, cleaned (isolation.py), without the test server.
ROOT_ENV = {k: v for k, v in os.environ.items() if k != "TEST_MONGO_URL"}


def examples(wanted: int) -> int:
    """How many examples a property test tries: ``wanted``, scaled as the profile scales the default 100."""
    return wanted * hypothesis_settings().max_examples // 100


def multipart(*parts: tuple[bytes, bytes]) -> bytes:
    """A multipart body (boundary X) of (Content-Disposition parameters, content) parts."""
    body = b"".join(
        b"--X\r\nContent-Disposition: form-data" + params + b"\r\n\r\n" + content + b"\r\n"
        for params, content in parts
    )
    return body + b"--X--\r\n"


def run_python(code, check=True, timeout=120, **environ):
    """Run Python code in a fresh process in the project folder (its SQLite file in a temporary one)."""
    with tempfile.TemporaryDirectory() as folder:
        environ = {"SQLITE_PATH": os.path.join(folder, "readings.sqlite3"), **environ}
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**ROOT_ENV, **environ},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if check:
        assert result.returncode == 0, result.stderr
    return result


# A MongoDB URL on this host opens stock mongomock, one server per URL, kept while
# a store uses it; any other the driver (mockupdb, a real server, a dead port).
MONGOMOCK_HOST = "mongomock.test"
_mongomock_servers = weakref.WeakValueDictionary()
_driver = pymongo.MongoClient


def _mongo_client(host=None, *args, **kwargs):
    """``pymongo.MongoClient`` in the tests: the service opens mongomock through its own URL path."""
    if isinstance(host, str) and (urlsplit(host).hostname or "").endswith(MONGOMOCK_HOST):
        server = _mongomock_servers.get(host)
        if server is None:
            server = _mongomock_servers[host] = mongomock.MongoClient(host)
        return server
    return _driver(host, *args, **kwargs)


pymongo.MongoClient = _mongo_client


def store_settings(kind: str, folder: Path) -> dict:
    """Settings that put apps on one fresh store of this kind (the same dict: the same store)."""
    if kind == "sqlite":
        return {"SQLITE_PATH": str(folder / "readings.sqlite3")}
    if kind == "mongomock":
        # Through the service's own path from a URL to a store, on a server of this test's own.
        return {"MONGO_URI": f"mongodb://{uuid.uuid4().hex}.{MONGOMOCK_HOST}/rest", "MONGO_DBNAME": "rest"}
    return {
        "MONGO_URI": TEST_MONGO_URL,
        "MONGO_DBNAME": f"test_{uuid.uuid4().hex[:12]}",
        "CLEAN_AFTER_TEST": True,
    }


def make_app(settings: dict, **config):
    """Build an app for a test: every setting at its default whatever the environment holds.

    Its store is set up as a web process's is (``serve``), without the
    process's threads: the tests run the jobs and deliveries by hand.
    """
    app = create_app({**from_env({}), "TESTING": True, **settings, **config})
    maintenance.try_init(app)
    return app


def module_app(kind: str, **config):
    """An app on a fresh store of one kind for a whole module (schemathesis, hypothesis)."""
    return make_app(store_settings(kind, Path(tempfile.mkdtemp(prefix=f"{kind}-"))), **config)


def close_app(app):
    """Empty a test database on a real server; close the store's and the rate limiter's connections.

    Each collection is dropped (``dropCollection`` is in the ``readWrite``
    roles; ``dropDatabase`` is not): a database without collections no
    longer exists, so none is left behind to count against Atlas M0's 100.
    """
    store = app.extensions["store"]
    if app.config.get("CLEAN_AFTER_TEST"):
        for name in store.db.list_collection_names():
            store.db.drop_collection(name)
    store.close()
    for limiter in app.extensions.get("limiter", ()):
        client = getattr(limiter.storage, "storage", None)  # limits' Redis storage: its redis client
        if hasattr(client, "close"):
            client.close()  # else its sockets are collected, and warn, during a later test


@pytest.fixture(params=STORES)
def store_kind(request):
    return request.param


@pytest.fixture
def settings(store_kind, tmp_path):
    """The settings of this test's store; every app built with them shares it."""
    return store_settings(store_kind, tmp_path)


@pytest.fixture
def app_factory(settings):
    """Build apps on this test's store with extra settings; close them afterwards."""
    built = []

    def build(**config):
        built.append(make_app(settings, **config))
        return built[-1]

    yield build
    for app in built:
        close_app(app)


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def down_app(app_factory, dead_port):
    """An app whose database is a loopback port where nothing listens."""
    return app_factory(
        MONGO_URI=f"mongodb://127.0.0.1:{dead_port}/rest",
        MONGO_TIMEOUT_MS=200,
        MONGO_REQUEST_TIMEOUT_MS=300,
        CREATE_INDEXES=False,
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def readings(app):
    """The app's readings, read and written through the store's interface."""
    return app.extensions["store"].readings


def everything(readings) -> list[dict]:
    """Every stored reading in the store's order: undated by id, then by (timestamp, id)."""
    return list(readings.export(Filters()))


def only(readings) -> dict:
    """The one stored reading."""
    docs = everything(readings)
    assert len(docs) == 1, docs
    return docs[0]


@pytest.fixture
def dead_port():
    """A loopback port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def next_link(response) -> str | None:
    """The path of the page after this one (its Link rel=next), None on the last page."""
    if "Link" not in response.headers:
        return None
    match = re.fullmatch(r'<http://localhost(/[a-z/]+\?[^>]*)>; rel="next"', response.headers["Link"])
    return match.group(1)


def problem_body(status, title, detail, errors=None):
    """The problem+json body the service answers with."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return body


# --- alerts: a still clock and a webhook receiver ------------------------------------------------

ALERTS_T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """The clock held at ALERTS_T0 (time-machine), moved by the test: alert durations, deliveries."""
    with time_machine.travel(ALERTS_T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def receiver(httpserver):
    """A local webhook receiver: POST /hook answers ok (pytest-httpserver)."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return httpserver
