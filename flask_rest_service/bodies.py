"""Read request bodies: content types, gzip, and the legacy form field.

Devices of the original tutorial send a form field ``reading`` holding JSON
text; everyone else sends JSON. Anything else is a 415. Any body may be
gzip-compressed (``Content-Encoding: gzip``); it is inflated only up to
``MAX_INFLATED_LENGTH``, so a zip bomb costs that much work at most.
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


def read_json_or_form() -> Any:
    """Return the parsed reading(s) from a JSON body or the ``reading`` form field."""
    if request.mimetype in FORM_TYPES:
        return _form_reading()
    return read_json(JSON, *FORM_TYPES)


def read_json(*accepted: str) -> Any:
    """Return the parsed JSON body; 415 unless it is JSON (``application/*+json`` too)."""
    if not request.is_json:
        got = request.mimetype or "no Content-Type"
        raise ApiError(f"Content-Type must be {' or '.join(accepted or (JSON,))}; got {got}", status=415)
    return parse_json(raw_body(), "body")


def raw_body() -> bytes:
    """Return the request body, inflated if it came gzip-compressed."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return request.get_data(cache=False)
    if encoding not in ("gzip", "x-gzip"):
        raise ApiError(f"Content-Encoding must be gzip or identity; got {encoding}", status=415)
    return inflate(request.get_data(cache=False), current_app.config["MAX_INFLATED_LENGTH"])


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
    return inflated


def _form():
    """Return (fields, files) of a form body, inflating it first if need be."""
    if not request.headers.get("Content-Encoding", "").strip():
        return request.form, request.files
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
    if not values:
        errors.append({"field": FORM_FIELD, "detail": "missing: a form field holding JSON text"})
    elif len(values) > 1:
        errors.append({"field": FORM_FIELD, "detail": "given more than once"})
    if errors:
        raise ValidationError(errors, "the form")
    return parse_json(values[0], FORM_FIELD)
