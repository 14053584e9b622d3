"""One log line per request, with a request id; text or JSON; never keys or bodies."""

import json
import re

import pytest

KEY = "rk_" + "s" * 43


@pytest.fixture
def app(app_factory):
    return app_factory(AUTH_CACHE_SECONDS=0)


def lines(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if "request_id" in line]


def test_text_line_per_request(client, capsys):
    client.post(
        "/readings/?partial=false", json=[{"value": 1}, {"value": 2}], headers={"X-Request-ID": "abc-123"}
    )
    [line] = lines(capsys)
    assert re.fullmatch(
        r"request_id=abc-123 method=POST path=/readings/ status=201 duration_ms=\d+\.\d readings=2", line
    )


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/", headers={"X-Request-ID": "router-id-1"}).headers["X-Request-ID"] == "router-id-1"
    generated = client.get("/").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", generated)
    assert client.get("/").headers["X-Request-ID"] != generated
    assert (
        client.get("/", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
        != "bad id with spaces"
    )


def test_json_lines(app_factory, capsys):
    client = app_factory(LOG_FORMAT="json").test_client()
    client.get("/readings/?sensor=secret-query", headers={"X-Request-ID": "r1"})
    [line] = lines(capsys)
    record = json.loads(line)
    assert set(record) == {"time", "request_id", "method", "path", "status", "duration_ms"}
    assert (record["request_id"], record["method"], record["path"], record["status"]) == (
        "r1",
        "GET",
        "/readings/",
        200,
    )


def test_errors_are_logged_too_with_their_status(client, capsys):
    client.get("/nowhere")
    assert " status=404 " in lines(capsys)[0]


def test_keys_and_bodies_never_reach_the_log(app, client, capsys):
    app.extensions["keys"].create("k", "write")
    client.post("/readings/", json={"value": 1, "note": "body-secret"}, headers={"X-API-Key": KEY})
    client.post(
        "/readings/", json={"value": 1, "note": "body-secret"}, headers={"Authorization": f"Bearer {KEY}"}
    )
    out = capsys.readouterr()
    assert KEY not in out.out + out.err
    assert "body-secret" not in out.out + out.err


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (
            "/x%0Arequest_id=FORGED%20method=DELETE%20path=/readings/%20status=204",
            r'"/x\nrequest_id=FORGED method=DELETE path=/readings/ status=204"',
        ),
        ("/x%0D%0A%1B[2J", r'"/x\r\n\u001b[2J"'),
        ("/x%E2%80%A8y", r'"/x\u2028y"'),
        ('/a"b\\c', r'"/a\"b\\c"'),
    ],
)
def test_text_lines_cannot_be_forged_from_the_path(client, capsys, path, logged):
    client.get(path, headers={"X-Request-ID": "real-1"})
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one line, whatever the path holds
    assert (
        out
        == f"request_id=real-1 method=GET path={logged} status=404 duration_ms={out.split('duration_ms=')[1]}"
    )
