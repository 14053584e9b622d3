"""One error shape everywhere: RFC 9457 ``application/problem+json``.

Every 4xx and 5xx answer, whether raised by a resource, by routing (404, 405),
by request parsing (413, 415) or by the database driver, goes through
``handle_error`` and comes out as::

    {"type": "about:blank", "title": "Bad Request", "status": 400,
     "detail": "1 problem in the reading", "errors": [{"field": ..., "detail": ...}]}
"""

import orjson
from flask import current_app, request
from flask_restful import Api
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.http import HTTP_STATUS_CODES

from .stores import StoreUnavailable

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    """A request the service refuses, with the status and detail to answer."""

    status = 400

    def __init__(self, detail: str, errors=None, status: int | None = None, extra=None, headers=None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra or {}
        self.headers = headers or {}
        if status is not None:
            self.status = status


class ValidationError(ApiError):
    """Untrusted input that does not hold what it must; lists every problem."""

    def __init__(self, errors: list, what: str = "the request", total: int | None = None, stopped=False):
        count = len(errors) if total is None else total
        noun = "problem" if count == 1 else "problems"
        listed = f"; the first {len(errors)} are listed" if count > len(errors) else ""
        least = "at least " if stopped else ""  # the checker stopped looking: there may be more
        super().__init__(f"{least}{count} {noun} in {what}{listed}", errors)


def problem_body(status: int, detail: str, errors=None, extra=None) -> bytes:
    """The problem+json body, encoded; ``extra`` adds members (RFC 9457 extensions)."""
    body = {
        **(extra or {}),
        "type": "about:blank",
        "title": HTTP_STATUS_CODES[status],  # pinned, unlike http.HTTPStatus across Pythons
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return orjson.dumps(body)


def problem(status: int, detail: str, errors=None, headers=None, extra=None):
    """Build a problem+json response; ``extra`` adds members (RFC 9457 extensions)."""
    response = current_app.response_class(
        problem_body(status, detail, errors, extra), status, mimetype=PROBLEM_JSON
    )
    response.headers.extend(headers or {})
    return response


def _http_detail(error: HTTPException) -> str:
    if isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(error.valid_methods or ()))
        return f"{request.method} is not allowed on {request.path}; allowed: {allowed}"
    if isinstance(error, NotFound) and error.description == NotFound.description:
        return f"nothing at {request.path}"
    return error.description or HTTP_STATUS_CODES[error.code]


def handle_error(error: Exception):
    """Turn any exception into a problem+json response."""
    if isinstance(error, ApiError):
        return problem(error.status, error.detail, error.errors, error.headers, error.extra)
    if isinstance(error, HTTPException) and (error.code < 400 or error.response is not None):
        # A redirect (/docs -> /docs/), or an answer already made (the 429
        # built where the rate limit was breached).
        return error.get_response()
    if isinstance(error, HTTPException):
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return problem(error.code, _http_detail(error), headers=headers)
    if isinstance(error, StoreUnavailable):
        current_app.logger.warning("database unavailable: %s", error.reason())
        return problem(503, error.detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, "internal error; it has been logged")


class ProblemApi(Api):
    """A Flask-RESTful Api whose every error is problem+json."""

    def error_router(self, original_handler, e):
        """Send every error to ``handle_error``.

        Flask-RESTful's own router re-matches the URL to decide whether an
        error is its own, and that re-match can itself raise (a 405 beside a
        converter rule), escaping every handler. Here every error is ours.
        """
        return handle_error(e)

    def handle_error(self, e):
        """Answer an error raised under one of this Api's routes."""
        return handle_error(e)
