"""The service as an ASGI app, for gunicorn's asgi worker: sockets on an event loop, requests on threads.

gunicorn's ``asgi`` worker holds every connection on one asyncio loop, so an
idle or trickling socket costs the loop a file descriptor, not a thread.
``a2wsgi`` runs the Flask app (WSGI) on a pool of ``threads`` threads. A
request body is read whole on the loop before the app is called (up to the
service's body limit), so a client that sends its body a byte at a time does
not hold a thread either; a body announced larger than the limit is left to
the app, which answers 413 without reading it (and so without a
``100 Continue``: gunicorn sends one only when the body is first asked for).
"""

import asyncio

from a2wsgi import WSGIMiddleware

from .errors import PROBLEM_JSON, problem_body

BODY_SECONDS = 30  # a request's body must arrive whole within this, or it is answered 408


def asgi(app, threads: int):
    """The Flask ``app`` as an ASGI app, its requests run on ``threads`` threads."""
    return WholeBodies(WSGIMiddleware(app, workers=threads), app.config["MAX_CONTENT_LENGTH"])


class WholeBodies:
    """ASGI middleware: read a request's body whole (at most ``limit`` bytes) before calling ``app``."""

    def __init__(self, app, limit: int, seconds: float = BODY_SECONDS):
        self.app, self.limit, self.seconds = app, limit, seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not _has_body(scope, self.limit):
            return await self.app(scope, receive, send)
        read, size, more = [], 0, True
        try:
            async with asyncio.timeout(self.seconds):
                while more and size <= self.limit:
                    message = await receive()
                    read.append(message)
                    if message["type"] != "http.request":
                        break  # the client left: the app sees the disconnect
                    size += len(message.get("body", b""))
                    more = message.get("more_body", False)
        except TimeoutError:
            detail = f"the request's body did not arrive within {self.seconds:g} s"
            return await _problem(send, 408, detail)
        if size > self.limit:  # chunked, so not refused before: the limit is passed now
            return await _problem(send, 413, f"the body is larger than {self.limit} bytes")

        async def replay():
            return read.pop(0) if read else await receive()

        await self.app(_with_length(scope, size), replay, send)


def _has_body(scope, limit: int) -> bool:
    """A body to read first: announced within the limit, or chunked (read up to the limit)."""
    headers = dict(scope["headers"])
    length = headers.get(b"content-length")
    if length is not None:
        return length.isdigit() and 0 < int(length) <= limit
    return b"chunked" in headers.get(b"transfer-encoding", b"").lower()


def _with_length(scope, size: int):
    """The request as the app sees it: a body read whole has a length (a chunked one had none).

    a2wsgi does not end ``wsgi.input`` for a body without one (no
    ``wsgi.input_terminated``), so the app could not tell where it ends.
    """
    headers = [(name, value) for name, value in scope["headers"] if name != b"transfer-encoding"]
    if not any(name == b"content-length" for name, _ in headers):
        headers.append((b"content-length", str(size).encode()))
    return {**scope, "headers": headers}


async def _problem(send, status: int, detail: str) -> None:
    """An answer in the problem+json shape; gunicorn then closes the connection (its body is unread)."""
    body = problem_body(status, detail)
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
