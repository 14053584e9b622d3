"""Read request bodies: content types, gzip, and the legacy form field.

Devices of the original tutorial send a form field ``reading`` holding JSON
text; everyone else sends JSON. Anything else is a 415. Any body may be
gzip-compressed (``Content-Encoding: gzip``); it is inflated only up to
``MAX_INFLATED_LENGTH``, so a zip bomb costs that much work at most.

A body with a ``Content-Length`` over ``MAX_CONTENT_LENGTH`` is refused before
it is read (``__init__._refuse_large_bodies``); a chunked one, which declares
no length, is read up to one byte past the limit and refused there: 413
either way (werkzeug would cut it at the limit and hand on the rest as if
complete).
"""

import zlib
from typing import Any
from urllib.parse import parse_qsl

from flask import current_app, request
from werkzeug.sansio.multipart import Data, Field, File, MultipartDecoder, NeedData, State

from .errors import ApiError, ValidationError
from .validation import parse_json

JSON = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
FORM_FIELD = "reading"
SEND_AS = f"send the reading as '{FORM_FIELD}'"
UNKNOWN = {FORM_FIELD, None}  # not reported as unknown fields: the one known, the unnamed apart
MAX_FORM_PARTS = 1000  # as werkzeug's form parser: a bound on the work of a body of tiny parts
CHUNK = 64 * 1024


def read_json_or_form() -> Any:
    """Return the parsed reading(s) from a JSON body or the ``reading`` form field."""
    if request.mimetype in FORM_TYPES:
        return _form_reading()
    return read_json(JSON, *FORM_TYPES)


def read_json(*accepted: str) -> Any:
    """Return the parsed JSON body; 415 unless its type is one of ``accepted`` (JSON by default)."""
    accepted = accepted or (JSON,)
    if request.mimetype not in accepted:
        got = request.mimetype or "no Content-Type"
        raise ApiError(f"Content-Type must be {' or '.join(accepted)}; got {got}", status=415)
    return parse_json(raw_body(), "body")


def raw_body() -> bytes:
    """Return the request body, inflated if it came gzip-compressed."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return _received()
    if encoding not in ("gzip", "x-gzip"):
        raise ApiError(f"Content-Encoding must be gzip or identity; got {encoding}", status=415)
    return inflate(_received(), current_app.config["MAX_INFLATED_LENGTH"])


def _received() -> bytes:
    """The body as sent, at most ``MAX_CONTENT_LENGTH`` bytes (413 past it)."""
    if request.content_length is not None:  # declared: already checked against the limit
        return request.get_data(cache=False)
    if not request.environ.get("wsgi.input_terminated"):
        return b""  # no length and a server that does not end the stream: nothing safe to read
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    stream, chunks, size = request.environ["wsgi.input"], [], 0
    while size <= limit and (chunk := stream.read(min(CHUNK, limit + 1 - size))):
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise ApiError(f"the body is larger than {limit} bytes", status=413)
    return b"".join(chunks)


def inflate(data: bytes, limit: int) -> bytes:
    """Gunzip at most ``limit`` bytes; 413 past it, 400 for anything not gzip."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header required
    try:
        inflated = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise ValidationError([{"field": "body", "detail": "not valid gzip data"}]) from None
    if len(inflated) > limit:
        raise ApiError(f"the body inflates to more than {limit} bytes", status=413)
    if not inflater.eof:
        raise ValidationError([{"field": "body", "detail": "gzip data is cut short"}])
    if inflater.unused_data:
        raise ValidationError(
            [{"field": "body", "detail": "data follows the gzip data; send one gzip member"}]
        )
    return inflated


def _form_reading() -> Any:
    pairs = _multipart(raw_body()) if request.mimetype == "multipart/form-data" else _urlencoded(raw_body())
    names = {name for name, _ in pairs}
    errors = (
        [{"field": "body", "detail": f"a part of the form has no name; {SEND_AS}"}] if None in names else []
    )
    errors += [
        {"field": name, "detail": f"unknown form field; {SEND_AS}"} for name in sorted(names - UNKNOWN)
    ]
    values = [value for name, value in pairs if name == FORM_FIELD]
    if not values:
        errors.append({"field": FORM_FIELD, "detail": "missing: a form field holding JSON text"})
    elif len(values) > 1:
        errors.append({"field": FORM_FIELD, "detail": "given more than once"})
    if errors:
        raise ValidationError(errors, "the form")
    return parse_json(values[0], FORM_FIELD)


# A form's values are kept as the bytes sent, so that the reading's JSON text
# is checked for UTF-8 as a JSON body is (werkzeug's form parser would have
# turned bytes that are not UTF-8 into U+FFFD or literal "%FF" text).


def _urlencoded(body: bytes) -> list[tuple[str, bytes]]:
    """The (name, value) pairs of an urlencoded body; a name not UTF-8 shows its bytes as escapes."""
    try:
        text = body.decode()
    except UnicodeDecodeError as error:
        raise _bad_form(f"not valid UTF-8 (byte {error.start})") from None
    pairs = parse_qsl(text, keep_blank_values=True, errors="surrogateescape")  # %FF: a lone surrogate
    return [(_shown(name), value.encode(errors="surrogateescape")) for name, value in pairs]


def _shown(name: str) -> str:
    """A field name as text, any byte of it that is not UTF-8 as an escape (\\xff)."""
    return name.encode(errors="surrogateescape").decode(errors="backslashreplace")


def _multipart(body: bytes) -> list[tuple[str | None, bytes]]:
    """The (name, content) parts of a multipart body, read whole (it is in memory already)."""
    boundary = request.mimetype_params.get("boundary", "")
    if not boundary:
        raise _bad_form("not valid multipart/form-data: no boundary")
    if not boundary.isascii():  # RFC 2046's characters; RFC 2231 (boundary*=utf-8''...) could give any
        raise _bad_form("not valid multipart/form-data: a boundary must be ASCII")
    decoder = MultipartDecoder(boundary.encode(), max_parts=MAX_FORM_PARTS)
    try:
        decoder.receive_data(body)  # not marked complete: a body cut short then asks for more
        parts = []
        while not isinstance(event := decoder.next_event(), NeedData):
            if isinstance(event, Field | File):
                parts.append((event.name, bytearray()))
            elif isinstance(event, Data) and parts:
                parts[-1][1].extend(event.data)
    except UnicodeError:
        raise _bad_form("not valid multipart/form-data: part headers that are not UTF-8") from None
    except ValueError as error:
        raise _bad_form(f"not valid multipart/form-data: {error}") from None
    if decoder.state is not State.EPILOGUE:
        raise _bad_form("not valid multipart/form-data: cut short")
    return [(name, bytes(content)) for name, content in parts]


def _bad_form(detail: str) -> ValidationError:
    return ValidationError([{"field": "body", "detail": detail}], "the form")
