"""One log line per request, to stdout, in plain text or JSON lines.

Each request gets an id: the router's ``X-Request-ID`` when it sent a usable
one (Heroku's does), else a new one; it is echoed in the response. The line
holds the id, method, path (never the query string), status, duration and,
for ingest, how many readings were taken. Never a key, never a body.
"""

import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

import orjson
from flask import Flask, current_app, g, request

LOGGER = logging.getLogger("flask_rest_service.requests")
_USABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,200}")


class _Stdout(logging.StreamHandler):
    """Write to whatever ``sys.stdout`` is now (gunicorn's, a test's)."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


def init_app(app: Flask) -> None:
    """Log every request of this app."""
    if not LOGGER.handlers:
        LOGGER.addHandler(_Stdout())
        LOGGER.setLevel(logging.INFO)
        LOGGER.propagate = False
    app.before_request(_start)
    app.after_request(_finish)


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _USABLE_ID.fullmatch(given) else uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish(response):
    request_id = g.get("request_id") or uuid.uuid4().hex  # a request refused before _start ran
    response.headers["X-Request-ID"] = request_id
    fields = {
        "request_id": request_id,
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1),
    }
    if "readings" in g:
        fields["readings"] = g.readings
    LOGGER.info(format_line(fields, current_app.config["LOG_FORMAT"]))
    return response


def format_line(fields: dict, style: str) -> str:
    """Render one request's fields as text (key=value) or a JSON line."""
    if style == "json":
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return orjson.dumps({"time": stamp, **fields}).decode()
    return " ".join(f"{key}={value}" for key, value in fields.items())
