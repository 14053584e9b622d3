"""The alerts' part of the OpenAPI document (merged into it by ``openapi.build``)."""

from ..validation import MAX_LABEL_LENGTH
from .rules import KINDS, MAX_TARGETS, REQUIRED

DATE = {"$ref": "#/components/schemas/Date"}
MAYBE_DATE = {"oneOf": [DATE, {"type": "null"}]}
OID = {"$ref": "#/components/schemas/ObjectId"}
NAME = {"type": "string", "minLength": 1, "maxLength": MAX_LABEL_LENGTH}
DURATION = {"type": "string", "pattern": "^[1-9][0-9]{0,8}[smhdw]$", "examples": ["10m"]}
RULE_FIELDS = {
    "name": NAME,
    "kind": {"enum": list(KINDS)},
    "sensor": NAME,
    "sensor_prefix": {"type": "string", "maxLength": MAX_LABEL_LENGTH},
    "field": {"type": "string", "default": "value"},
    "above": {"type": "number"},
    "below": {"type": "number"},
    "hysteresis": {"type": "number", "minimum": 0, "default": 0},
    "enabled": {"type": "boolean", "default": True},
}

INPUT_FIELDS = {
    **RULE_FIELDS,
    "for": DURATION,
    "notify": {
        "type": "array",
        "maxItems": MAX_TARGETS,
        "items": {"type": "string"},
        "description": "https:// webhooks (signed) or Apprise URLs",
    },
}

SCHEMAS = {
    "RuleInput": {
        "type": "object",
        "description": (
            "threshold: sensor or sensor_prefix, above or below, for, hysteresis; quiet: for. "
            "null is a field not given: in a PATCH it puts the field back to its default (for: at once)"
        ),
        "properties": {
            name: schema if name in REQUIRED else {"oneOf": [schema, {"type": "null"}]}
            for name, schema in INPUT_FIELDS.items()
        },
        "additionalProperties": False,
        "examples": [
            {
                "name": "greenhouse too cold",
                "kind": "threshold",
                "sensor": "greenhouse",
                "below": 5,
                "for": "10m",
                "notify": ["https://hooks.example.com/readings"],
            }
        ],
    },  # fmt: skip
    "Rule": {
        "type": "object",
        "required": ["_id", "name", "kind", "for", "condition", "notify", "enabled", "created", "updated"],
        "properties": {
            "_id": OID,
            **RULE_FIELDS,
            "for": {"oneOf": [DURATION, {"type": "null"}]},
            "condition": {"type": "string", "examples": ["value below 5 for 10m"]},
            "notify": {
                "type": "array",
                "items": {"type": "string"},
                "description": "masked: scheme and host",
            },
            "secret": {"type": "string", "description": "only when made: signs the webhooks (HMAC-SHA256)"},
            "created": DATE,
            "updated": DATE,
        },
    },
    "Delivery": {
        "type": "object",
        "required": ["target", "status", "attempts"],
        "properties": {
            "target": {"type": "string"},
            "status": {"enum": ["queued", "sending", "delivered", "failed"]},
            "attempts": {"type": "integer"},
            "next_at": MAYBE_DATE,
            "last_error": {"type": ["string", "null"]},
            "delivered_at": MAYBE_DATE,
        },
    },
    "AlertEvent": {
        "type": "object",
        "required": ["_id", "sensor", "transition", "state", "at", "deliveries"],
        "properties": {
            "_id": {"type": "string"},
            "sensor": {"type": "string"},
            "transition": {"enum": ["firing", "resolved"]},
            "state": {"enum": ["firing", "ok"]},
            "condition": {"type": "string"},
            "value": {},
            "reading_at": MAYBE_DATE,
            "at": DATE,
            "deliveries": {"type": "array", "items": {"$ref": "#/components/schemas/Delivery"}},
        },
    },
    "Alert": {
        "type": "object",
        "required": ["rule", "sensor", "state", "since"],
        "properties": {
            "rule": {
                "type": "object",
                "required": ["_id", "name", "kind", "condition"],
                "properties": {
                    "_id": OID,
                    "name": {"type": "string"},
                    "kind": {"enum": list(KINDS)},
                    "condition": {"type": "string"},
                    "field": {"type": "string"},
                    "above": {"type": "number", "description": "a threshold's limit, to draw"},
                    "below": {"type": "number"},
                },
            },  # fmt: skip
            "sensor": {"type": "string"},
            "state": {"enum": ["pending", "firing"]},
            "since": MAYBE_DATE,
            "value": {},
        },
    },
}


def paths(errors, json, param) -> dict:
    """The alert paths, built with the document's own helpers (``openapi._errors``, ``_json``, ``_param``)."""
    rule = {"$ref": "#/components/schemas/Rule"}
    rule_input = {"$ref": "#/components/schemas/RuleInput"}
    rule_id = param(
        "id", {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}, "the rule's id", required=True, where="path"
    )
    admin = "Needs an admin key."
    return {
        "/rules/": {
            "get": {
                "operationId": "listRules",
                "summary": "Every alert rule, oldest first. " + admin,
                "responses": {
                    "200": json({"type": "array", "items": rule}, "the rules"),
                    **errors("BadRequest"),
                },
            },
            "post": {
                "operationId": "createRule",
                "summary": "Make an alert rule; its webhook secret is in the answer, once. " + admin,
                "requestBody": {"required": True, "content": {"application/json": {"schema": rule_input}}},
                "responses": {
                    "201": json(rule, "made", ("Location",)),
                    **errors("BadRequest", "TooLarge", "Unsupported"),
                },
            },
        },
        "/rules/{id}": {
            "parameters": [rule_id],
            "get": {
                "operationId": "getRule",
                "summary": "One alert rule. " + admin,
                "responses": {"200": json(rule, "the rule"), **errors("NotFound")},
            },
            "patch": {
                "operationId": "patchRule",
                "summary": "Change some of a rule's fields (notify, if given, is replaced). " + admin,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": rule_input},
                        "application/merge-patch+json": {"schema": rule_input},
                    },
                },  # fmt: skip
                "responses": {
                    "200": json(rule, "the changed rule"),
                    **errors("BadRequest", "NotFound", "TooLarge", "Unsupported"),
                },
            },
            "delete": {
                "operationId": "deleteRule",
                "summary": "Delete a rule with its states and history. " + admin,
                "responses": {"204": {"description": "deleted"}, **errors("NotFound")},
            },
        },
        "/rules/{id}/events": {
            "parameters": [rule_id],
            "get": {
                "operationId": "ruleEvents",
                "summary": "A rule's transitions, newest first, and how each notification went. " + admin,
                "parameters": [
                    param(
                        "limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 100}, "how many"
                    )
                ],
                "responses": {
                    "200": json(
                        {"type": "array", "items": {"$ref": "#/components/schemas/AlertEvent"}}, "the events"
                    ),
                    **errors("BadRequest", "NotFound"),
                },
            },
        },
        "/alerts/": {
            "get": {
                "operationId": "listAlerts",
                "summary": "Every rule and sensor that is firing or pending, firing first",
                "responses": {
                    "200": json(
                        {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}, "the alerts now"
                    ),
                    **errors("BadRequest"),
                },
            }
        },
    }
