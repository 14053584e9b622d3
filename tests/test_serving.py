"""The service as an ASGI app (flask_rest_service/serving.py): bodies read whole first, then the Flask app."""

import asyncio
import json

import httpx

from flask_rest_service import serving


class Recorder:
    """An ASGI app that records the messages it received, and answers 204."""

    def __init__(self):
        self.received = []
        self.events = []

    async def __call__(self, scope, receive, send):
        self.events.append("called")
        self.scope = scope
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def scope(headers):
    return {"type": "http", "method": "POST", "path": "/readings/", "headers": headers}


def run(app, headers, chunks, events=None, complete=True):
    """Call ``app`` with a body arriving in ``chunks`` (then nothing more; ``complete``: the
    last chunk ends the body); what it sent back."""
    sent, queue = [], list(chunks)

    async def receive():
        if not queue:
            await asyncio.sleep(3600)  # a client that sends no more
        chunk = queue.pop(0)
        if events is not None:
            events.append(f"chunk {chunk!r}")
        return {"type": "http.request", "body": chunk, "more_body": bool(queue) or not complete}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope(headers), receive, send))
    return sent


def test_a_body_is_read_whole_before_the_app_is_called():
    inner = Recorder()
    sent = run(
        serving.WholeBodies(inner, limit=100),
        [(b"content-length", b"6")],
        [b"ab", b"cd", b"ef"],
        inner.events,
    )
    assert inner.events == ["chunk b'ab'", "chunk b'cd'", "chunk b'ef'", "called"]
    assert b"".join(message["body"] for message in inner.received) == b"abcdef"
    assert sent[0]["status"] == 204


def test_a_chunked_body_is_read_first_too():
    inner = Recorder()
    run(
        serving.WholeBodies(inner, limit=100),
        [(b"transfer-encoding", b"chunked")],
        [b"ab", b"cd"],
        inner.events,
    )
    assert inner.events == ["chunk b'ab'", "chunk b'cd'", "called"]
    # Read whole, it has a length: a2wsgi gives the app no other way to know where a body ends.
    assert inner.scope["headers"] == [(b"content-length", b"4")]


def test_a_chunked_body_past_the_limit_is_answered_413_and_the_app_never_called():
    inner = Recorder()
    sent = run(
        serving.WholeBodies(inner, limit=5), [(b"transfer-encoding", b"chunked")], [b"abc", b"def", b"g"]
    )
    assert inner.events == []
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {
        "type": "about:blank",
        "title": "Request Entity Too Large",
        "status": 413,
        "detail": "the body is larger than 5 bytes",
    }


def test_a_body_announced_over_the_limit_is_left_to_the_app_unread():
    # The app answers 413 without asking for the body, so gunicorn sends no "100 Continue".
    inner = Recorder()
    run(serving.WholeBodies(inner, limit=5), [(b"content-length", b"6")], [b"abcdef"], inner.events)
    assert inner.events == ["called", "chunk b'abcdef'"]


def test_a_body_that_stops_arriving_is_answered_408():
    inner = Recorder()
    sent = run(
        serving.WholeBodies(inner, limit=100, seconds=0.2),
        [(b"content-length", b"6")],
        [b"ab"],
        complete=False,
    )
    assert inner.events == []
    assert sent[0] == {
        "type": "http.response.start",
        "status": 408,
        "headers": [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(sent[1]["body"])).encode()),
            (b"connection", b"close"),
        ],
    }
    assert json.loads(sent[1]["body"]) == {
        "type": "about:blank",
        "title": "Request Timeout",
        "status": 408,
        "detail": "the request's body did not arrive within 0.2 s",
    }


def test_the_flask_app_answers_through_the_asgi_app(app):
    async def talk():
        transport = httpx.ASGITransport(serving.asgi(app, threads=2))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            created = await client.post("/readings/", json={"sensor": "asgi", "value": 2.5})
            page = await client.get("/readings/", params={"sensor": "asgi"})
            too_large = await client.post("/readings/", content=b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
        return created, page, too_large

    created, page, too_large = asyncio.run(talk())
    assert created.status_code == 201
    assert page.status_code == 200
    assert page.json() == [created.json()]
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/problem+json"
