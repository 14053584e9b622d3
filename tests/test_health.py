"""GET /: the health check, up and down."""

import mongomock
from conftest import problem_body

from flask_rest_service import __version__


def test_health_reports_ok_store_database_and_version(app, client):
    response = client.get("/")
    expected = {
        "status": "OK",
        "store": app.config["STORE_KIND"],
        "database": app.config["MONGO_DBNAME"],
        "version": __version__,
        "auth": "open",
    }
    if app.config["STORE_KIND"] == "embedded":
        expected["warning"] = "data is not persisted; set MONGO_URL"
    assert response.status_code == 200
    assert response.json == expected


def test_health_warns_that_the_embedded_store_is_not_persisted(app_factory):
    response = app_factory(MONGO_CLIENT=mongomock.MongoClient()).test_client().get("/")
    assert response.json == {
        "status": "OK",
        "store": "embedded",
        "database": "rest",
        "version": __version__,
        "warning": "data is not persisted; set MONGO_URL",
        "auth": "open",
    }


def test_unreachable_database_gives_503_without_leaking_the_uri(app_factory, dead_port):
    uri = f"mongodb://sensor:s3cret@127.0.0.1:{dead_port}/plant?authSource=admin"
    app = app_factory(MONGO_URI=uri, MONGO_DBNAME="plant", MONGO_TIMEOUT_MS=200)
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
