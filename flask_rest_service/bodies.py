"""Read request bodies: which content types are accepted, and the form field.

Devices of the original tutorial send a form field ``reading`` holding JSON
text; everyone else sends JSON. Anything else is a 415.
"""

from typing import Any

from flask import request

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
    return parse_json(request.get_data(cache=False), "body")


def _form_reading() -> Any:
    names = set(request.form) | set(request.files)
    errors = [
        {"field": name, "detail": f"unknown form field; send the reading as '{FORM_FIELD}'"}
        for name in sorted(names - {FORM_FIELD})
    ]
    values = request.form.getlist(FORM_FIELD)
    values += [upload.read() for upload in request.files.getlist(FORM_FIELD)]
    if not values:
        errors.append({"field": FORM_FIELD, "detail": "missing: a form field holding JSON text"})
    elif len(values) > 1:
        errors.append({"field": FORM_FIELD, "detail": "given more than once"})
    if errors:
        raise ValidationError(errors, "the form")
    return parse_json(values[0], FORM_FIELD)
