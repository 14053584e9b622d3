"""The OpenAPI 3.1 document, served at ``/openapi.json`` and read by ``/docs``.

Checked by tests: openapi-spec-validator validates it, and schemathesis calls
every operation with generated valid and invalid input and checks each answer
against it. Limits in it (batch size, page size) come from the app's settings.
"""

from flask import Flask

from .alerts import openapi as alerts

OBJECT_ID = {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}
LABEL = {"type": "string", "minLength": 1, "maxLength": 200}
WHEN = {
    "type": "string",
    "description": "ISO 8601 date-time (no offset: UTC) or Unix epoch seconds",
    "examples": ["2026-03-01T10:00:00Z", "1772359200"],
}
FIELD_NAME = "^[^$.\u0000][^.\u0000]*$"

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
        "properties": {"$oid": OBJECT_ID},
        "additionalProperties": False,
    },
    "Date": {
        "type": "object",
        "required": ["$date"],
        "properties": {"$date": {"type": ["string", "object"]}},
        "additionalProperties": False,
        "examples": [{"$date": "2026-03-01T10:00:00Z"}],
    },
    "ReadingInput": {
        "type": "object",
        "description": "Any JSON object; these fields are checked. Field names must not start "
        "with $ or contain . or NUL, at any depth.",
        "properties": {
            "_id": {"oneOf": [OBJECT_ID, {"$ref": "#/components/schemas/ObjectId"}]},
            "sensor": LABEL,
            "type": LABEL,
            "value": {"type": "number"},
            "timestamp": {
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "number"},
                    {"$ref": "#/components/schemas/Date"},
                ]
            },
        },
        "propertyNames": {"pattern": FIELD_NAME},
        "examples": [
            {"sensor": "kitchen", "type": "temperature", "value": 21.5, "timestamp": "2026-03-01T10:00:00Z"}
        ],
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
            "problems": {"type": "integer", "description": "how many problems, when more than are listed"},
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


PARAMETERS = {
    "sensor": _param("sensor", LABEL, "only this sensor's readings (a literal)"),
    "type": _param("type", LABEL, "only readings of this type (a literal)"),
    "since": _param("since", WHEN, "timestamp at or after this"),
    "until": _param("until", WHEN, "timestamp before this; later than since"),
    "cursor": _param("cursor", {"type": "string"}, "the next page, from the Link header"),
    "id": _param("id", OBJECT_ID, "the reading's id", required=True, where="path"),
}
FILTERS = [{"$ref": f"#/components/parameters/{name}"} for name in ("sensor", "type", "since", "until")]


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
    codes = {"BadRequest": "400", "Unauthorized": "401", "Forbidden": "403", "NotFound": "404",
             "Conflict": "409", "TooLarge": "413", "Unsupported": "415", "TooMany": "429",
             "Unavailable": "503"}  # fmt: skip
    common = ("Unauthorized", "Forbidden", "TooMany", "Unavailable")
    return {codes[name]: {"$ref": f"#/components/responses/{name}"} for name in (*names, *common)}


def _json(schema: dict, description: str, headers: tuple[str, ...] = ()) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in headers}
    return response


READING = {"$ref": "#/components/schemas/Reading"}
READINGS = {"type": "array", "items": READING}


def build(app: Flask) -> dict:
    """Build the document for this app's settings."""
    config = app.config
    batch = {"type": "array", "minItems": 1, "maxItems": config["MAX_BATCH_SIZE"],
             "items": {"$ref": "#/components/schemas/ReadingInput"}}  # fmt: skip
    one_or_batch = {"oneOf": [{"$ref": "#/components/schemas/ReadingInput"}, batch]}
    form = {
        "type": "object",
        "required": ["reading"],
        "properties": {"reading": {"type": "string", "description": "JSON text: a reading or a batch"}},
        "additionalProperties": False,
    }
    limit = {
        "type": "integer",
        "minimum": 1,
        "maximum": config["MAX_PAGE_SIZE"],
        "default": config["DEFAULT_PAGE_SIZE"],
    }
    gzip_note = "Any body may be sent with Content-Encoding: gzip."
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
        "paths": {
            "/": {
                "get": {
                    "operationId": "health",
                    "summary": "Health check (pings the database)",
                    "security": [{}],
                    "responses": {
                        "200": _json(
                            {"$ref": "#/components/schemas/Health"}, "the service and its database are up"
                        ),
                        "429": {"$ref": "#/components/responses/TooMany"},
                        "503": {"$ref": "#/components/responses/Unavailable"},
                    },
                }
            },
            "/readings/": {
                "get": {
                    "operationId": "listReadings",
                    "summary": "List readings, newest first, one keyset page at a time",
                    "parameters": [
                        *FILTERS,
                        _param("limit", limit, "page size"),
                        {"$ref": "#/components/parameters/cursor"},
                    ],  # fmt: skip
                    "responses": {
                        "200": _json(READINGS, "a page of readings", ("Link",)),
                        **_errors("BadRequest"),
                    },
                },
                "post": {
                    "operationId": "createReadings",
                    "summary": "Store a reading or a batch",
                    "parameters": [
                        _param("partial", {"enum": ["true", "false"]}, "store every valid item; 207")
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": one_or_batch},
                            "application/x-www-form-urlencoded": {"schema": form},
                            "multipart/form-data": {"schema": form},
                        },
                    },
                    "responses": {
                        "200": _json(
                            READING, "its _id was already stored: the stored reading", ("Location",)
                        ),
                        "201": _json({"oneOf": [READING, READINGS]}, "stored", ("Location",)),
                        "207": _json(
                            {"type": "array", "items": {"$ref": "#/components/schemas/PartialResult"}},
                            "partial=true: one result per item",
                        ),  # fmt: skip
                        **_errors("BadRequest", "Conflict", "TooLarge", "Unsupported"),
                    },
                },
                "delete": {
                    "operationId": "deleteReadings",
                    "summary": "Delete readings older than until",
                    "parameters": [*FILTERS[:3], {**PARAMETERS["until"], "required": True}],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["deleted"],
                                "properties": {"deleted": {"type": "integer"}},
                            },
                            "how many were deleted",
                        ),  # fmt: skip
                        **_errors("BadRequest"),
                    },
                },
            },
            "/readings/{id}": {
                "parameters": [{"$ref": "#/components/parameters/id"}],
                "get": {
                    "operationId": "getReading",
                    "summary": "One reading",
                    "responses": {"200": _json(READING, "the reading"), **_errors("NotFound")},
                },
                "put": {
                    "operationId": "replaceReading",
                    "summary": "Replace a reading; the id stays",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/ReadingInput"}}
                        },
                    },  # fmt: skip
                    "responses": {
                        "200": _json(READING, "the stored reading"),
                        **_errors("BadRequest", "NotFound", "TooLarge", "Unsupported"),
                    },  # fmt: skip
                },
                "patch": {
                    "operationId": "patchReading",
                    "summary": "Merge top-level fields; null removes one",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/merge-patch+json": {
                                "schema": {"type": "object", "propertyNames": {"pattern": FIELD_NAME}}
                            },
                            "application/json": {
                                "schema": {"type": "object", "propertyNames": {"pattern": FIELD_NAME}}
                            },
                        },
                    },  # fmt: skip
                    "responses": {
                        "200": _json(READING, "the stored reading"),
                        **_errors("BadRequest", "NotFound", "TooLarge", "Unsupported"),
                    },  # fmt: skip
                },
                "delete": {
                    "operationId": "deleteReading",
                    "summary": "Delete a reading",
                    "responses": {"204": {"description": "deleted"}, **_errors("NotFound")},
                },
            },
            "/readings/stats": {
                "get": {
                    "operationId": "readingStats",
                    "summary": "Downsampled statistics of one sensor's numeric field",
                    "parameters": [
                        {**PARAMETERS["sensor"], "required": True},
                        _param(
                            "interval",
                            {"type": "string", "pattern": "^[1-9][0-9]{0,8}[smhdw]$"},
                            "bucket width: 30s, 5m, 1h, 1d, 1w",
                            required=True,
                        ),  # fmt: skip
                        _param(
                            "field", {"type": "string", "default": "value"}, "numeric field or dotted path"
                        ),
                        _param(
                            "fill", {"enum": ["none", "null"], "default": "none"}, "null: show empty buckets"
                        ),
                        *FILTERS[1:],
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Stats"}, "the buckets"),
                        **_errors("BadRequest"),
                    },  # fmt: skip
                }
            },
            "/readings/export": {
                "get": {
                    "operationId": "exportReadings",
                    "summary": "Every matching reading, oldest first, streamed",
                    "parameters": [
                        *FILTERS,
                        _param("format", {"enum": ["csv", "ndjson"], "default": "csv"}, "file format"),
                    ],  # fmt: skip
                    "responses": {
                        "200": {
                            "description": "the file (Content-Disposition names it)",
                            "content": {
                                "text/csv": {"schema": {"type": "string"}},
                                "application/x-ndjson": {"schema": {"type": "string"}},
                            },  # fmt: skip
                        },
                        **_errors("BadRequest"),
                    },
                }
            },
            "/sensors/": {
                "get": {
                    "operationId": "listSensors",
                    "summary": "Every sensor: count, first, last and latest reading",
                    "responses": {
                        "200": _json(
                            {"type": "array", "items": {"$ref": "#/components/schemas/Sensor"}},
                            "the sensors, by name",
                        ),
                        **_errors("BadRequest"),
                    },  # fmt: skip
                }
            },
            "/sensors/{sensor}/latest": {
                "get": {
                    "operationId": "latestReading",
                    "summary": "The newest reading of a sensor",
                    "parameters": [
                        _param("sensor", LABEL, "the sensor", required=True, where="path"),
                        {"$ref": "#/components/parameters/type"},
                    ],  # fmt: skip
                    "responses": {
                        "200": _json(READING, "the newest reading"),
                        **_errors("BadRequest", "NotFound"),
                    },
                }
            },
            **alerts.paths(_errors, _json, _param),
        },
        "components": {
            "schemas": {**SCHEMAS, **alerts.SCHEMAS},
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "headers": HEADERS,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
