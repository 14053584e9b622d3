"""Fixtures: a fresh app and store per test.

By default the store is mongomock. With ``TEST_MONGO_URL=mongodb://...`` the
same tests run against a real server, each in a database of its own that is
dropped afterwards.
"""

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import mongomock
import pytest

from flask_rest_service import create_app

TEST_MONGO_URL = os.environ.get("TEST_MONGO_URL")
ROOT = Path(__file__).resolve().parent.parent
# The environment for subprocesses: no database settings leak in from outside.
ROOT_ENV = {
    k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "MONGODB_URI", "MONGO_URI", "API_KEYS")
}


def run_python(code, check=True, **environ):
    """Run Python code in a fresh process in the project folder."""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**ROOT_ENV, **environ}, capture_output=True, text=True
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def make_app(**config):
    """Build an app for a test on a fresh, empty store."""
    settings = {"TESTING": True, **config}
    if "MONGO_URI" not in settings and "MONGO_CLIENT" not in settings:
        if TEST_MONGO_URL:
            database = f"test_{uuid.uuid4().hex[:12]}"
            settings.update(MONGO_URI=TEST_MONGO_URL, MONGO_DBNAME=database, DROP_AFTER_TEST=True)
        else:
            settings["MONGO_CLIENT"] = mongomock.MongoClient()
    return create_app(settings)


def close_app(app):
    """Drop a test database on a real server and close the app's client."""
    db = app.extensions["readings"].db
    if app.config["STORE_KIND"] == "mongodb":
        if app.config.get("DROP_AFTER_TEST"):
            db.client.drop_database(db.name)
        db.client.close()


@pytest.fixture
def app_factory():
    """Build apps with extra settings; close their clients afterwards."""
    built = []

    def build(**config):
        built.append(make_app(**config))
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
        MONGO_URI=f"mongodb://127.0.0.1:{dead_port}/rest", MONGO_TIMEOUT_MS=200, CREATE_INDEXES=False
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def readings(app):
    """The readings collection, to check what the database holds."""
    return app.extensions["readings"].readings


@pytest.fixture
def dead_port():
    """A loopback port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def problem_body(status, title, detail, errors=None):
    """The problem+json body the service answers with."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return body
