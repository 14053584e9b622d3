"""One problem+json shape for every error status."""

import json
import re

import pytest
from conftest import problem_body
from werkzeug.test import EnvironBuilder, run_wsgi_app


def test_unknown_url_is_a_json_404(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json == problem_body(404, "Not Found", "nothing at /nowhere")


def test_wrong_method_is_a_json_405_with_allow(client):
    response = client.put("/readings/")
    assert response.status_code == 405
    assert response.json == problem_body(
        405,
        "Method Not Allowed",
        "PUT is not allowed on /readings/; allowed: DELETE, GET, HEAD, OPTIONS, POST",
    )
    assert set(response.headers["Allow"].split(", ")) == {"DELETE", "GET", "HEAD", "OPTIONS", "POST"}


def test_oversized_body_is_refused_from_content_length_alone(app, readings):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    environ = EnvironBuilder("/readings/", method="POST", content_type="application/json").get_environ()
    environ.update({"CONTENT_LENGTH": "5000", "wsgi.input": _Unreadable()})
    body, status, headers = run_wsgi_app(app, environ)
    assert status == "413 REQUEST ENTITY TOO LARGE"
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(b"".join(body)) == problem_body(
        413, "Request Entity Too Large", "the body is 5000 bytes; the limit is 1024"
    )
    assert readings.count() == 0


class _Unreadable:
    """A request body that fails the test if anyone reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_wrong_method_on_a_static_route_beside_the_id_route_is_405(client):
    # Found by hypothesis: POST /readings/stats used to fall through to /readings/<id>.
    response = client.post("/readings/stats", json={})
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"


def test_options_allows_just_the_methods_of_each_route(app, client):
    # /readings/stats and /readings/export once listed PUT, PATCH and DELETE
    # too: /readings/<ObjectId:id> matched them before its converter refused.
    values = {"ObjectId": "65f0000000000000000000aa", "sensor": "k", "path": "x"}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:(\w+):)?\w+>", lambda match: values[match.group(1)], rule.rule)
        response = client.options(path)
        assert set(response.headers["Allow"].split(", ")) == rule.methods, path
        assert rule.methods >= {"HEAD", "OPTIONS"}


@pytest.mark.parametrize("path", ["/readings/stats", "/readings/export"])
def test_a_wrong_method_beside_the_id_route_lists_just_the_route_s_methods(client, path):
    response = client.post(path, json={})
    assert response.status_code == 405
    assert response.json["detail"] == f"POST is not allowed on {path}; allowed: GET, HEAD, OPTIONS"


def test_unsupported_media_type_is_a_json_415(client):
    response = client.post("/readings/", data="x", content_type="text/csv")
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


def test_unexpected_error_is_a_json_500_that_reveals_nothing(app, client, caplog, monkeypatch):
    def explode(*args):
        raise RuntimeError("secret internals at mongodb://db.internal")

    monkeypatch.setattr(app.extensions["store"].readings, "get", explode)
    response = client.get("/readings/65f0000000000000000000aa")
    assert response.status_code == 500
    assert response.json == problem_body(500, "Internal Server Error", "internal error; it has been logged")
    assert "secret internals" in caplog.text  # the traceback is logged


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/readings/", None),
        ("post", "/readings/", {"value": 1}),
        ("get", "/readings/65f0000000000000000000aa", None),
        ("delete", "/readings/65f0000000000000000000aa", None),
    ],
)
@pytest.mark.e2e  # the real driver waiting out its timeout on loopback
def test_unreachable_database_gives_503_with_retry_after(down_app, method, url, body):
    response = getattr(down_app.test_client(), method)(url, json=body)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json == problem_body(
        503, "Service Unavailable", "the database cannot be reached; try again shortly"
    )


@pytest.mark.parametrize(("path", "target"), [("/docs", "/docs/"), ("/readings", "/readings/")])
def test_missing_trailing_slash_redirects(client, path, target):
    response = client.get(path)
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost" + target
