"""The OpenAPI 3.1 document, served at ``/openapi.json`` and read by ``/docs``.

Query parameters and the rule bodies come from ``schemas``, limits and
patterns from ``bounds`` and the app's settings (batch size, page size).
Checked by tests: openapi-spec-validator validates it; schemathesis calls
every operation with generated valid and invalid input, checks each answer
against it, and that valid input is taken and invalid refused; its limits
equal the validators'; a client generated from it (openapi-python-client)
stores, patches, pages, aggregates and exports.
"""

from flask import Flask

from . import schemas
from .alerts import openapi as alerts
from .bounds import (
    FIELD_NAME,
    MAX_LABEL_LENGTH,
    MAX_OVERVIEW_PAGE_SIZE,
    OBJECT_ID,
    OVERVIEW_HOURS,
    OVERVIEW_PAGE_SIZE,
    anchored,
)

OBJECT_ID_SCHEMA = {"type": "string", "pattern": anchored(OBJECT_ID)}
LABEL = {"type": "string", "minLength": 1, "maxLength": MAX_LABEL_LENGTH}
FIELD_NAMES = {"pattern": anchored(FIELD_NAME)}

SCHEMAS = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details: every 4xx and 5xx answer",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["detail"],
                    "properties": {
                        "field": {"type": "string", "description": "dotted path in the body"},
                        "parameter": {"type": "string", "description": "query parameter"},
                        "index": {"type": "integer", "description": "item of a batch"},
                        "detail": {"type": "string"},
                    },
                },
            },
        },
        "examples": [
            {
                "type": "about:blank",
                "title": "Bad Request",
                "status": 400,
                "detail": "1 problem in the reading",
                "errors": [{"field": "value", "detail": "must be a number"}],
            }
        ],
    },
    "ObjectId": {
        "type": "object",
        "required": ["$oid"],
        "properties": {"$oid": OBJECT_ID_SCHEMA},
        "additionalProperties": False,
    },
    "Date": {
        "type": "object",
        "required": ["$date"],
        "properties": {"$date": {"type": ["string", "object"]}},
        "additionalProperties": False,
        "examples": [{"$date": "2026-03-01T10:00:00Z"}],
    },
    "DateInput": {
        "type": "object",
        "description": "Extended JSON: ISO 8601 text, or milliseconds since 1970",
        "required": ["$date"],
        "properties": {
            "$date": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "integer"},
                    {
                        "type": "object",
                        "required": ["$numberLong"],
                        "properties": {
                            "$numberLong": {
                                "oneOf": [{"type": "string", "pattern": "^-?[0-9]+$"}, {"type": "integer"}]
                            }
                        },
                        "additionalProperties": False,
                    },
                ]
            }
        },
        "additionalProperties": False,
        "examples": [{"$date": "2026-03-01T10:00:00Z"}],
    },
    "ReadingInput": {
        "type": "object",
        "description": "Any JSON object; these fields are checked. Field names must not start "
        "with $ or contain . or NUL, at any depth.",
        "properties": {
            "_id": {"oneOf": [OBJECT_ID_SCHEMA, {"$ref": "#/components/schemas/ObjectId"}]},
            "sensor": LABEL,
            "type": LABEL,
            "value": {"type": "number"},
            "timestamp": {
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "number"},
                    {"$ref": "#/components/schemas/DateInput"},
                ]
            },
        },
        "propertyNames": FIELD_NAMES,
        "examples": [
            {"sensor": "kitchen", "type": "temperature", "value": 21.5, "timestamp": "2026-03-01T10:00:00Z"}
        ],
    },
    "ReadingPatch": {
        "type": "object",
        "description": "Top-level fields to set; null removes one (not _id or timestamp)",
        "propertyNames": FIELD_NAMES,
        "examples": [{"value": 22.0, "note": None}],
    },
    "Reading": {
        "type": "object",
        "required": ["_id", "timestamp"],
        "properties": {
            "_id": {"$ref": "#/components/schemas/ObjectId"},
            "sensor": {"type": "string"},
            "type": {"type": "string"},
            "value": {"type": "number"},
            "timestamp": {"$ref": "#/components/schemas/Date"},
        },
        "examples": [
            {
                "_id": {"$oid": "65f1c0ffee0000000000abcd"},
                "sensor": "kitchen",
                "value": 21.5,
                "timestamp": {"$date": "2026-03-01T10:00:00Z"},
            }
        ],
    },
    "PartialResult": {
        "type": "object",
        "required": ["index", "status"],
        "properties": {
            "index": {"type": "integer"},
            "status": {"enum": ["stored", "already_stored", "rejected"]},
            "_id": {"$ref": "#/components/schemas/ObjectId"},
            "errors": {"type": "array", "items": {"type": "object"}},
            "problems": {
                "type": "integer",
                "description": "how many problems were found, when more than are listed: checking "
                "stops at one more, so the reading has at least this many",
            },
        },
    },
    "Sensor": {
        "type": "object",
        "required": ["sensor", "count", "first", "last", "latest", "reported"],
        "properties": {
            "sensor": {"type": "string"},
            "count": {"type": "integer"},
            # null while the sensor has no reading with a date timestamp
            "first": {"oneOf": [{"$ref": "#/components/schemas/Date"}, {"type": "null"}]},
            "last": {"oneOf": [{"$ref": "#/components/schemas/Date"}, {"type": "null"}]},
            "latest": {"$ref": "#/components/schemas/Reading"},
            # when it last sent a reading, by the server's clock; null if it has not since 2.0
            "reported": {"oneOf": [{"$ref": "#/components/schemas/Date"}, {"type": "null"}]},
        },
    },
    "Overview": {
        "type": "object",
        "required": ["field", "interval", "since", "until", "sensors"],
        "properties": {
            "field": {"const": "value"},
            "interval": {"const": "1h"},
            "since": {"$ref": "#/components/schemas/Date"},
            "until": {"$ref": "#/components/schemas/Date"},
            "sensors": {
                "type": "array",
                "items": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Sensor"},
                        {
                            "type": "object",
                            "required": ["averages"],
                            "properties": {
                                # each hour's average from since, null where it has no numeric value
                                "averages": {
                                    "type": "array",
                                    "minItems": OVERVIEW_HOURS,
                                    "maxItems": OVERVIEW_HOURS,
                                    "items": {"type": ["number", "null"]},
                                }
                            },
                        },
                    ]
                },
            },
        },
    },
    "Bucket": {
        "type": "object",
        "required": ["start", "count", "min", "max", "avg", "sum", "first", "last"],
        "properties": {
            "start": {"$ref": "#/components/schemas/Date"},
            "count": {"type": "integer"},
            **{name: {"type": ["number", "null"]} for name in ("min", "max", "avg", "sum", "first", "last")},
        },
    },
    "Stats": {
        "type": "object",
        "required": ["sensor", "field", "interval", "since", "until", "fill", "buckets"],
        "properties": {
            "sensor": {"type": "string"},
            "type": {"type": ["string", "null"]},
            "field": {"type": "string"},
            "interval": {"type": "string"},
            "since": {"$ref": "#/components/schemas/Date"},
            "until": {"$ref": "#/components/schemas/Date"},
            "fill": {"enum": ["none", "null"]},
            "buckets": {"type": "array", "items": {"$ref": "#/components/schemas/Bucket"}},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "store", "database", "version", "auth"],
        "properties": {
            "status": {"const": "OK"},
            "store": {"enum": ["sqlite", "mongodb"]},
            "database": {"type": "string"},
            "version": {"type": "string"},
            "auth": {"enum": ["open", "keys"]},
        },
    },
}


def _param(name: str, schema: dict, description: str, required: bool = False, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


# Query strings come from their schemas (schemas.*Params); the path's ids are here.
PARAMETERS = {
    "id": _param("id", OBJECT_ID_SCHEMA, "the reading's id", required=True, where="path"),
}


def _problem(description: str, headers: tuple[str, ...] = ()) -> dict:
    response = {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if headers:
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in headers}
    return response


RESPONSES = {
    "BadRequest": _problem("invalid input; errors names each problem"),
    "Unauthorized": _problem("no API key, or an unknown one", ("WWW-Authenticate",)),
    "Forbidden": _problem("the key's scope does not allow this"),
    "NotFound": _problem("no such reading, sensor or URL"),
    "Conflict": _problem("an _id the client chose is stored already with other content"),
    "TooLarge": _problem("body, inflated body or batch too large"),
    "Unsupported": _problem("content type or encoding not accepted"),
    "TooMany": _problem("over the rate limit", ("Retry-After",)),
    "Unavailable": _problem("the database cannot be reached", ("Retry-After",)),
}
HEADERS = {
    "WWW-Authenticate": {"schema": {"type": "string"}, "description": "how to authenticate"},
    "Retry-After": {"schema": {"type": "string"}, "description": "seconds to wait"},
    "Location": {"schema": {"type": "string"}, "description": "the stored reading's URL"},
    "Link": {"schema": {"type": "string"}, "description": 'the next page: <url>; rel="next" (RFC 8288)'},
}


def _errors(*names: str) -> dict:
    codes = {
        "BadRequest": "400",
        "Unauthorized": "401",
        "Forbidden": "403",
        "NotFound": "404",
        "Conflict": "409",
        "TooLarge": "413",
        "Unsupported": "415",
        "TooMany": "429",
        "Unavailable": "503",
    }
    common = ("Unauthorized", "Forbidden", "TooMany", "Unavailable")
    return {codes[name]: {"$ref": f"#/components/responses/{name}"} for name in (*names, *common)}


def _json(schema: dict, description: str, headers: tuple[str, ...] = ()) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in headers}
    return response


READING = {"$ref": "#/components/schemas/Reading"}
READINGS = {"type": "array", "items": READING}
FORMS = (
    " Devices may send the same JSON text in a form field named reading "
    "(application/x-www-form-urlencoded or multipart/form-data); the document lists JSON only, "
    "since a generated client cannot tell a batch from a form."
)


def _operation(tag: str, operation_id: str, summary: str, responses: dict, **more) -> dict:
    return {"tags": [tag], "operationId": operation_id, "summary": summary, **more, "responses": responses}


def build(app: Flask) -> dict:
    """Build the document for this app's settings."""
    config = app.config
    page = {"limit": {"maximum": config["MAX_PAGE_SIZE"], "default": config["DEFAULT_PAGE_SIZE"]}}
    list_page = (
        f"a page of readings: at most limit, fewer once they reach {config['PAGE_BYTES']} bytes (as "
        "stored); follow the Link header's next page until there is none"
    )
    overview_page = {"limit": {"maximum": MAX_OVERVIEW_PAGE_SIZE, "default": OVERVIEW_PAGE_SIZE}}
    gzip_note = "Any body may be sent with Content-Encoding: gzip."
    reading_input = {"$ref": "#/components/schemas/ReadingInput"}
    batch = {"type": "array", "minItems": 1, "maxItems": config["MAX_BATCH_SIZE"], "items": reading_input}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sensor readings service",
            "version": config["VERSION"],
            "description": "Devices POST readings; people list, aggregate and export them. Answers are "
            "BSON Extended JSON (relaxed). " + gzip_note,
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}, {"bearer": []}, {}],
        "tags": [
            {"name": "readings", "description": "store, list, change, aggregate and export readings"},
            {"name": "sensors", "description": "what each sensor sent"},
            {"name": "rules", "description": "alert rules and their history (admin keys)"},
            {"name": "alerts", "description": "what is firing now"},
            {"name": "health", "description": "is the service up"},
        ],
        "paths": {
            "/": {
                "get": _operation(
                    "health",
                    "health",
                    "Health check (pings the database)",
                    {
                        "200": _json(
                            {"$ref": "#/components/schemas/Health"}, "the service and its database are up"
                        ),
                        "429": {"$ref": "#/components/responses/TooMany"},
                        "503": {"$ref": "#/components/responses/Unavailable"},
                    },
                    security=[{}],
                )
            },
            "/readings/": {
                "get": _operation(
                    "readings",
                    "listReadings",
                    "List readings, newest first, one keyset page at a time",
                    {"200": _json(READINGS, list_page, ("Link",)), **_errors("BadRequest")},
                    parameters=schemas.parameters(schemas.ListParams, **page),
                ),
                "post": _operation(
                    "readings",
                    "createReadings",
                    "Store a reading or a batch",
                    {
                        "200": _json(
                            READING, "its _id was already stored: the stored reading", ("Location",)
                        ),
                        "201": _json({"oneOf": [READING, READINGS]}, "stored", ("Location",)),
                        "207": _json(
                            {"type": "array", "items": {"$ref": "#/components/schemas/PartialResult"}},
                            "partial=true: one result per item",
                        ),
                        **_errors("BadRequest", "Conflict", "TooLarge", "Unsupported"),
                    },
                    description="A JSON object is one reading, an array a batch (atomic unless partial=true)."
                    + FORMS,
                    parameters=schemas.parameters(schemas.PostParams),
                    requestBody={
                        "required": True,
                        "content": {"application/json": {"schema": {"oneOf": [reading_input, batch]}}},
                    },
                ),
                "delete": _operation(
                    "readings",
                    "deleteReadings",
                    "Delete readings older than until",
                    {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["deleted"],
                                "properties": {"deleted": {"type": "integer"}},
                            },
                            "how many were deleted",
                        ),
                        **_errors("BadRequest"),
                    },
                    parameters=schemas.parameters(schemas.DeleteParams),
                ),
            },
            "/readings/{id}": {
                "parameters": [{"$ref": "#/components/parameters/id"}],
                "get": _operation(
                    "readings",
                    "getReading",
                    "One reading",
                    {"200": _json(READING, "the reading"), **_errors("NotFound")},
                ),
                "put": _operation(
                    "readings",
                    "replaceReading",
                    "Replace a reading; the id stays",
                    {
                        "200": _json(READING, "the stored reading"),
                        **_errors("BadRequest", "NotFound", "TooLarge", "Unsupported"),
                    },
                    requestBody={
                        "required": True,
                        "content": {"application/json": {"schema": reading_input}},
                    },
                ),
                "patch": _operation(
                    "readings",
                    "patchReading",
                    "Merge top-level fields; null removes one",
                    {
                        "200": _json(READING, "the stored reading"),
                        **_errors("BadRequest", "NotFound", "TooLarge", "Unsupported"),
                    },
                    description="Sent as application/merge-patch+json (RFC 7396) or application/json.",
                    requestBody={
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/ReadingPatch"}}
                        },
                    },
                ),
                "delete": _operation(
                    "readings",
                    "deleteReading",
                    "Delete a reading",
                    {"204": {"description": "deleted"}, **_errors("NotFound")},
                ),
            },
            "/readings/stats": {
                "get": _operation(
                    "readings",
                    "readingStats",
                    "Downsampled statistics of one sensor's numeric field",
                    {
                        "200": _json({"$ref": "#/components/schemas/Stats"}, "the buckets"),
                        **_errors("BadRequest"),
                    },
                    parameters=schemas.parameters(schemas.StatsParams),
                )
            },
            "/readings/export": {
                "get": _operation(
                    "readings",
                    "exportReadings",
                    "Every matching reading, oldest first, streamed",
                    {
                        "200": {
                            "description": "the file (Content-Disposition names it)",
                            "content": {
                                "text/csv": {"schema": {"type": "string"}},
                                "application/x-ndjson": {"schema": {"type": "string"}},
                            },
                        },
                        **_errors("BadRequest"),
                    },
                    parameters=schemas.parameters(schemas.ExportParams),
                )
            },
            "/sensors/": {
                "get": _operation(
                    "sensors",
                    "listSensors",
                    "The sensors by name, a keyset page at a time: count, first, last and latest reading",
                    {
                        "200": _json(
                            {"type": "array", "items": {"$ref": "#/components/schemas/Sensor"}},
                            "a page of sensors, by name",
                            ("Link",),
                        ),
                        **_errors("BadRequest"),
                    },
                    parameters=schemas.parameters(schemas.SensorParams, **page),
                )
            },
            "/sensors/overview": {
                "get": _operation(
                    "sensors",
                    "sensorOverview",
                    "The dashboard's overview: a page of sensors, each with its last 24 hours",
                    {
                        "200": _json(
                            {"$ref": "#/components/schemas/Overview"}, "a page of sensors, by name", ("Link",)
                        ),
                        **_errors("BadRequest"),
                    },
                    description="One request for what would be a /readings/stats request per sensor: "
                    "each sensor of the page with its hourly averages of value over the window. "
                    "Pages as GET /sensors/ does; its alert states are GET /alerts/'.",
                    parameters=schemas.parameters(schemas.OverviewParams, **overview_page),
                )
            },
            "/sensors/{sensor}/latest": {
                "get": _operation(
                    "sensors",
                    "latestReading",
                    "The newest reading of a sensor",
                    {"200": _json(READING, "the newest reading"), **_errors("BadRequest", "NotFound")},
                    parameters=[
                        _param("sensor", LABEL, "the sensor", required=True, where="path"),
                        *schemas.parameters(schemas.TypeParams),
                    ],
                )
            },
            **alerts.paths(_operation, _errors, _json),
        },
        "components": {
            "schemas": {**SCHEMAS, **alerts.schemas()},
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "headers": HEADERS,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
