"""GET /: the health check, up and down."""

import pytest
from conftest import problem_body

from flask_rest_service import __version__

# What the health check names: the engine, and the file or database (never a path or URI).
NAMES = {
    "sqlite": ("sqlite", "readings.sqlite3"),
    "mongomock": ("mongodb", "rest"),
    "mongodb": ("mongodb", None),
}


def test_health_reports_ok_store_database_and_version(app, client, store_kind):
    store, database = NAMES[store_kind]
    response = client.get("/")
    assert response.status_code == 200
    assert response.json == {
        "status": "OK",
        "store": store,
        "database": database or app.config["MONGO_DBNAME"],
        "version": __version__,
        "auth": "open",
    }


@pytest.mark.e2e  # the real driver waiting out its timeout on loopback
def test_unreachable_database_gives_503_without_leaking_the_uri(app_factory, dead_port):
    uri = f"mongodb://sensor:s3cret@127.0.0.1:{dead_port}/plant?authSource=admin"
    app = app_factory(
        MONGO_URI=uri,
        MONGO_DBNAME="plant",
        MONGO_TIMEOUT_MS=200,
        MONGO_REQUEST_TIMEOUT_MS=300,
    )
    response = app.test_client().get("/")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json == {
        **problem_body(503, "Service Unavailable", "the database cannot be reached"),
        "store": "mongodb",
        "database": "plant",
        "version": __version__,
    }
    text = response.get_data(as_text=True)
    assert "s3cret" not in text and "127.0.0.1" not in text and str(dead_port) not in text
