"""One log line per request, to stdout, in plain text or JSON lines.

Each request gets an id: the router's ``X-Request-ID`` when it sent a usable
one (Heroku's does), else a new one; it is echoed in the response. The line
holds the id, method, path (never the query string), status, duration and,
for ingest, how many readings were taken. Never a key, never a body.

In the text format a value is written bare when it holds only characters
that cannot end a line or a field (letters, digits, ``/._:-``), else in double
quotes with ``"``, ``\\``, control characters and line separators escaped
(logfmt's quoting): a path like ``/x%0Arequest_id=FORGED`` stays inside its
own field, on its own line. JSON lines are escaped by JSON itself.
"""

import itertools
import re
import secrets
import sys
import time
from datetime import UTC, datetime

import orjson
from flask import Flask, current_app, g, request

_USABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,200}")
_BARE = re.compile(r"[A-Za-z0-9/._:-]*")
# Inside quotes: the quote, the backslash, C0 and C1 controls, DEL, and
# Unicode's own line and paragraph separators (some log viewers break lines there).
_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f-\x9f\u2028\u2029]')
# Ids made here: a random prefix per process and a counter (unique without a
# system call per request, unlike uuid4; measured in bench/RESULTS.md).
_PREFIX = secrets.token_hex(6)
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    """Return an id unique across processes and requests."""
    return f"{_PREFIX}-{next(_COUNTER):x}"


def init_app(app: Flask) -> None:
    """Log every request of this app."""
    app.before_request(_start)
    app.after_request(_finish)


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _USABLE_ID.fullmatch(given) else new_request_id()
    g.started = time.perf_counter()


def _finish(response):
    request_id = g.get("request_id") or new_request_id()  # a request refused before _start ran
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
    # Straight to stdout, one write and flush a line: the logging module's
    # record-building cost a tenth of a small request (bench/RESULTS.md).
    sys.stdout.write(format_line(fields, current_app.config["LOG_FORMAT"]) + "\n")
    sys.stdout.flush()
    return response


def format_line(fields: dict, style: str) -> str:
    """Render one request's fields as text (key=value) or a JSON line."""
    if style == "json":
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return orjson.dumps({"time": stamp, **fields}).decode()
    return " ".join(f"{key}={_text_value(value)}" for key, value in fields.items())


def _text_value(value) -> str:
    text = str(value)
    if _BARE.fullmatch(text):
        return text
    return '"' + _ESCAPE.sub(_escaped, text) + '"'


def _escaped(match: re.Match) -> str:
    char = match.group()
    return {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\u{ord(char):04x}")
