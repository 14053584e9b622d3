"""Content-Encoding: gzip bodies, and the limit on what they inflate to."""

import gzip
import json
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


def test_zip_bomb_is_413_without_inflating_it_all(app, client, readings):
    app.config["MAX_INFLATED_LENGTH"] = 1024 * 1024
    bomb = gzip.compress(b"[" + b" " * (200 * 1024 * 1024) + b"]", compresslevel=9)  # 200 MB of blanks
    assert len(bomb) < 300 * 1024
    response = post(client, bomb)
    assert response.status_code == 413
    assert response.json == problem_body(
        413, "Request Entity Too Large", "the body inflates to more than 1048576 bytes"
    )
    assert readings.count() == 0


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
