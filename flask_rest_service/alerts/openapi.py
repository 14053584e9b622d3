"""The alerts' part of the OpenAPI document (merged into it by ``openapi.build``)."""

from .. import schemas as shapes
from ..bounds import DURATION, MAX_LABEL_LENGTH, OBJECT_ID, RULE_KINDS, anchored
from .resources import EVENTS_LIMIT

DATE = {"$ref": "#/components/schemas/Date"}
MAYBE_DATE = {"oneOf": [DATE, {"type": "null"}]}
OID = {"$ref": "#/components/schemas/ObjectId"}
NAME = {"type": "string", "minLength": 1, "maxLength": MAX_LABEL_LENGTH}
DURATION_SCHEMA = {"type": "string", "pattern": anchored(DURATION), "examples": ["10m"]}
# A rule as the service answers it: every default applied.
RULE_FIELDS = {
    "name": NAME,
    "kind": {"enum": list(RULE_KINDS)},
    "sensor": NAME,
    "sensor_prefix": {"type": "string", "maxLength": MAX_LABEL_LENGTH},
    "field": {"type": "string"},
    "above": {"type": "number"},
    "below": {"type": "number"},
    "hysteresis": {"type": "number", "minimum": 0},
    "enabled": {"type": "boolean"},
}
RULE_EXAMPLE = {
    "name": "greenhouse too cold",
    "kind": "threshold",
    "sensor": "greenhouse",
    "below": 5,
    "for": "10m",
    "notify": ["https://hooks.example.com/readings"],
}


def schemas() -> dict:
    """The alerts' components: the rule bodies from their schema, the answers."""
    rule_input = {**shapes.component(shapes.RuleInput), "examples": [RULE_EXAMPLE]}
    patch = {key: value for key, value in rule_input.items() if key != "required"}
    patch["description"] = "The fields to change; null puts one back to its default (for: at once)"
    return {
        "RuleInput": rule_input,
        "RulePatch": {**patch, "examples": [{"below": 3, "for": None}]},
        **SCHEMAS,
    }


SCHEMAS = {
    "Rule": {
        "type": "object",
        "required": ["_id", "name", "kind", "for", "condition", "notify", "enabled", "created", "updated"],
        "properties": {
            "_id": OID,
            **RULE_FIELDS,
            "for": {"oneOf": [DURATION_SCHEMA, {"type": "null"}]},
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
                    "kind": {"enum": list(RULE_KINDS)},
                    "condition": {"type": "string"},
                    "field": {"type": "string"},
                    "above": {"type": "number", "description": "a threshold's limit, to draw"},
                    "below": {"type": "number"},
                },
            },
            "sensor": {"type": "string"},
            "state": {"enum": ["pending", "firing"]},
            "since": MAYBE_DATE,
            "value": {},
        },
    },
}


def paths(operation, errors, json) -> dict:
    """The alert paths, built with the document's helpers (``openapi._operation``, ``_errors``, ``_json``)."""
    rule = {"$ref": "#/components/schemas/Rule"}
    rule_id = {
        "name": "id",
        "in": "path",
        "required": True,
        "description": "the rule's id",
        "schema": {"type": "string", "pattern": anchored(OBJECT_ID)},
    }
    admin = "Needs an admin key."
    events = {"limit": {"maximum": EVENTS_LIMIT, "default": EVENTS_LIMIT}}
    return {
        "/rules/": {
            "get": operation(
                "rules",
                "listRules",
                "Every alert rule, oldest first. " + admin,
                {"200": json({"type": "array", "items": rule}, "the rules"), **errors("BadRequest")},
            ),
            "post": operation(
                "rules",
                "createRule",
                "Make an alert rule; its webhook secret is in the answer, once. " + admin,
                {
                    "201": json(rule, "made", ("Location",)),
                    **errors("BadRequest", "TooLarge", "Unsupported"),
                    "409": {
                        "description": "there are MAX_ALERT_RULES rules already; nothing was stored",
                        "content": {
                            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                        },
                    },
                },
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RuleInput"}}},
                },
            ),
        },
        "/rules/{id}": {
            "parameters": [rule_id],
            "get": operation(
                "rules",
                "getRule",
                "One alert rule. " + admin,
                {"200": json(rule, "the rule"), **errors("NotFound")},
            ),
            "patch": operation(
                "rules",
                "patchRule",
                "Change some of a rule's fields (notify, if given, is replaced). " + admin,
                {
                    "200": json(rule, "the changed rule"),
                    **errors("BadRequest", "NotFound", "TooLarge", "Unsupported"),
                },
                description="Sent as application/merge-patch+json (RFC 7396) or application/json.",
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RulePatch"}}},
                },
            ),
            "delete": operation(
                "rules",
                "deleteRule",
                "Delete a rule with its states and history. " + admin,
                {"204": {"description": "deleted"}, **errors("NotFound")},
            ),
        },
        "/rules/{id}/events": {
            "parameters": [rule_id],
            "get": operation(
                "rules",
                "ruleEvents",
                "A rule's transitions, newest first, and how each notification went. " + admin,
                {
                    "200": json(
                        {"type": "array", "items": {"$ref": "#/components/schemas/AlertEvent"}}, "the events"
                    ),
                    **errors("BadRequest", "NotFound"),
                },
                parameters=shapes.parameters(shapes.LimitParams, **events),
            ),
        },
        "/alerts/": {
            "get": operation(
                "alerts",
                "listAlerts",
                "Every rule and sensor that is firing or pending, firing first",
                {
                    "200": json(
                        {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}, "the alerts now"
                    ),
                    **errors("BadRequest"),
                },
            )
        },
    }
