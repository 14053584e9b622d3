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

import io
import zlib
from typing import Any

from flask import current_app, request
from werkzeug.formparser import FormDataParser

from .errors import ApiError, ValidationError
from .validation import parse_json

JSON = "application/json"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
FORM_FIELD = "reading"
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


def _form():
    """Return (fields, files) of a form body, read (and inflated) within the limits."""
    body = raw_body()
    parser = FormDataParser(
        max_form_memory_size=current_app.config["MAX_FORM_MEMORY_SIZE"],
        max_content_length=current_app.config["MAX_INFLATED_LENGTH"],
    )
    _, fields, files = parser.parse(io.BytesIO(body), request.mimetype, len(body), request.mimetype_params)
    return fields, files


def _form_reading() -> Any:
    fields, files = _form()
    names = set(fields) | set(files)
    errors = [
        {"field": name, "detail": f"unknown form field; send the reading as '{FORM_FIELD}'"}
        for name in sorted(names - {FORM_FIELD})
    ]
    values = fields.getlist(FORM_FIELD)
    values += [upload.read() for upload in files.getlist(FORM_FIELD)]
    for _, upload in files.items(multi=True):  # parsed here, not by Flask: closed here too
        upload.close()
    if not values:
        errors.append({"field": FORM_FIELD, "detail": "missing: a form field holding JSON text"})
    elif len(values) > 1:
        errors.append({"field": FORM_FIELD, "detail": "given more than once"})
    if errors:
        raise ValidationError(errors, "the form")
    return parse_json(values[0], FORM_FIELD)
