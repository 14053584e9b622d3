"""Content-Encoding: gzip bodies, and the limit on what they inflate to."""

import gzip
import io
import json
import tracemalloc
import urllib.parse
import zlib

import pytest
from conftest import only, problem_body

READING = {"sensor": "k", "value": 1, "timestamp": "2026-03-01T10:00:00Z"}


def post(client, body, content_type="application/json", encoding="gzip"):
    return client.post(
        "/readings/", data=body, headers={"Content-Type": content_type, "Content-Encoding": encoding}
    )


def test_gzip_json_body_is_accepted(client, readings):
    response = post(client, gzip.compress(json.dumps([READING, READING]).encode()))
    assert response.status_code == 201
    assert readings.count() == 2


def test_gzip_form_body_is_accepted(client, readings):
    body = urllib.parse.urlencode({"reading": json.dumps(READING)}).encode()
    response = post(client, gzip.compress(body), "application/x-www-form-urlencoded")
    assert response.status_code == 201
    assert readings.count() == 1


def test_gzip_put_is_accepted(client, readings):
    oid = client.post("/readings/", json=READING).json["_id"]["$oid"]
    response = client.put(
        f"/readings/{oid}",
        data=gzip.compress(b'{"value": 5}'),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert only(readings)["value"] == 5


BOMB = gzip.compress(b"[" + b" " * (200 * 1024 * 1024) + b"]", compresslevel=9)  # 200 MB of blanks in 200 KB


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_zip_bomb_is_413_without_inflating_it_all(app, client, readings, content_type):
    app.config["MAX_INFLATED_LENGTH"] = 1024 * 1024
    assert len(BOMB) < 300 * 1024
    tracemalloc.start()
    try:
        response = post(client, BOMB, content_type)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert response.json == problem_body(
        413, "Request Entity Too Large", "the body inflates to more than 1048576 bytes"
    )
    # Inflated up to the limit and no further: a few MB at most, not 200.
    assert peak < 8 * 1024 * 1024, peak
    assert readings.count() == 0


def test_data_after_the_gzip_data_is_refused(client, readings):
    response = post(client, gzip.compress(b'{"value": 1}') + b'{"value": 2}')
    assert response.status_code == 400
    assert response.json["errors"] == [
        {"field": "body", "detail": "data follows the gzip data; send one gzip member"}
    ]
    assert readings.count() == 0


def chunked(client, body: bytes, content_type="application/json"):
    """Send a body as a server that ends chunked input hands it on: no Content-Length."""
    return client.post(
        "/readings/", input_stream=io.BytesIO(body), content_type=content_type,
        headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True},
    )  # fmt: skip


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_chunked_body_over_the_limit_is_413_not_cut_short(app, client, readings, content_type):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    batch = json.dumps([READING] * 100).encode()
    body = (
        batch if content_type == "application/json" else urllib.parse.urlencode({"reading": batch}).encode()
    )
    assert len(body) > 2048
    response = chunked(client, body, content_type)
    assert response.status_code == 413
    assert response.json == problem_body(
        413, "Request Entity Too Large", "the body is larger than 2048 bytes"
    )
    assert readings.count() == 0


def test_a_chunked_body_within_the_limit_is_read_whole(app, client, readings):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    body = json.dumps([READING] * 3).encode()
    assert chunked(client, body).status_code == 201
    assert readings.count() == 3


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"not gzip at all", "not valid gzip data"),
        (zlib.compress(b"{}"), "not valid gzip data"),  # zlib, not gzip
        (gzip.compress(b'{"value": 1}')[:-12], "gzip data is cut short"),
    ],
)
def test_broken_gzip_is_400(client, readings, body, detail):
    response = post(client, body)
    assert response.status_code == 400
    assert response.json["errors"] == [{"field": "body", "detail": detail}]
    assert readings.count() == 0


def test_other_encodings_are_415(client, readings):
    response = post(client, b"x", encoding="br")
    assert response.status_code == 415
    assert response.json["detail"] == "Content-Encoding must be gzip or identity; got br"


def test_a_reading_over_the_size_limit_is_refused(app, client, readings):
    app.config["MAX_READING_BYTES"] = 100
    response = client.post("/readings/", json=[READING, {**READING, "note": "x" * 100}])
    assert response.status_code == 400
    assert response.json["errors"] == [{"index": 1, "field": "", "detail": "larger than 100 bytes as JSON"}]
    assert readings.count() == 0
