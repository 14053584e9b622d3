"""The request shapes that are not free-form, declared once: query strings and alert rules.

Each query string is a pydantic model whose fields are its parameters, in
the order the service lists them; an alert rule's body is ``RuleInput``.
From them come the OpenAPI document's parameters and ``RuleInput`` component
(``parameters``, ``component``), the docs' tables (``markdown_table``), and
the checks themselves: ``queries`` validates each parameter with its
field's adapter and words pydantic's errors as the service does
(``problem``); ``alerts.rules`` takes its fields, kinds and limits from
``RuleInput``. The limits are ``bounds``' constants, which the hand-tuned
reading validator reads too. Why pydantic 2 rather than marshmallow with
apispec: bench/NOTES.md ("Schemas").
"""

from functools import cache
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter
from pydantic.fields import FieldInfo

from .bounds import (
    DURATION,
    FIELD_PATH,
    MAX_FIELD_PATH,
    MAX_LABEL_LENGTH,
    MAX_TARGETS,
    OBJECT_ID,
    RULE_KINDS,
    anchored,
)

WHEN_TEXT = "ISO 8601 date-time (no offset: UTC) or Unix epoch seconds"
DURATION_TEXT = "a whole number and a unit: s, m, h, d or w (30s, 5m, 1h, 1d, 1w)"
FIELD_PATH_TEXT = "a field name or dotted path (no empty parts, none starting with '$')"

Label = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_LENGTH)]
ObjectIdText = Annotated[str, StringConstraints(pattern=anchored(OBJECT_ID))]
Duration = Annotated[str, StringConstraints(pattern=anchored(DURATION)), Field(examples=["10m"])]
FieldPath = Annotated[
    str, StringConstraints(max_length=MAX_FIELD_PATH, pattern=anchored(FIELD_PATH)), Field(examples=["value"])
]
When = Annotated[str, Field(description=WHEN_TEXT, examples=["2026-03-01T10:00:00Z", "1772359200"])]
# The page size's maximum is a setting (MAX_PAGE_SIZE): the document takes it from the app.
Limit = Annotated[int, Field(ge=1, description="page size")]

# What a pattern means, in the words a 400 uses.
PATTERN_PROBLEMS = {
    anchored(DURATION): f"must be {DURATION_TEXT}",
    anchored(FIELD_PATH): f"must be {FIELD_PATH_TEXT}",
    anchored(OBJECT_ID): 'must be an ObjectId: 24 hexadecimal digits or {"$oid": "<24 hex>"}',
}


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Filters(_Query):
    """The filters every reading query shares."""

    sensor: Label | None = Field(None, description="only this sensor's readings (a literal)")
    type: Label | None = Field(None, description="only readings of this type (a literal)")
    since: When | None = Field(None, description=f"at or after this: {WHEN_TEXT}")
    until: When | None = Field(None, description=f"before this, later than since: {WHEN_TEXT}")


class ListParams(Filters):
    """``GET /readings/``."""

    limit: Limit | None = None
    cursor: str | None = Field(None, description="the next page, from the Link header")


class ExportParams(Filters):
    """``GET /readings/export``."""

    format: Literal["csv", "ndjson"] = Field("csv", description="file format")


class DeleteParams(Filters):
    """``DELETE /readings/``: ``until`` is required."""

    until: When = Field(description="delete readings with a timestamp before this")


class StatsParams(_Query):
    """``GET /readings/stats``."""

    sensor: Label = Field(description="the sensor (a literal)")
    type: Label | None = Field(None, description="only readings of this type (a literal)")
    since: When | None = Field(
        None, description="timestamp at or after this (default: 24 hours before until)"
    )
    until: When | None = Field(None, description="timestamp before this (default: now)")
    field: FieldPath = Field("value", description="numeric field or dotted path")
    interval: Duration = Field(description="bucket width: 30s, 5m, 1h, 1d, 1w")
    fill: Literal["none", "null"] = Field("none", description="null: show empty buckets")


class PostParams(_Query):
    """``POST /readings/``."""

    partial: Literal["true", "false"] = Field("false", description="store every valid item; 207")


class TypeParams(_Query):
    """``GET /sensors/{sensor}/latest``."""

    type: Label | None = Field(None, description="only readings of this type (a literal)")


class SensorParams(_Query):
    """``GET /sensors/``."""

    prefix: Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_LENGTH)] | None = Field(
        None, description="only sensors whose name starts with this (case matters)"
    )
    limit: Limit | None = None
    cursor: str | None = Field(None, description="the next page, from the Link header")


class OverviewParams(SensorParams):
    """``GET /sensors/overview``: the maximum page size is the endpoint's."""

    until: When | None = Field(
        None, description="the window's end, rounded up to the hour (default: now); it starts 24 h before"
    )


class LimitParams(_Query):
    """``GET /rules/{id}/events``: the maximum is the endpoint's."""

    limit: Limit | None = Field(None, description="how many")


class NoParams(_Query):
    """An endpoint that takes no parameter."""


class RuleInput(BaseModel):
    """An alert rule, or (PATCH) the changes to one; null is a field not given.

    threshold: sensor or sensor_prefix, above or below, for, hysteresis
    (field defaults to value, hysteresis to 0); quiet: sensor or
    sensor_prefix and for. In a PATCH, null puts a field back to its
    default (for: at once), and name and kind may be left out.
    """

    model_config = ConfigDict(extra="forbid")

    name: Label = Field(description="what the notifications call it")
    kind: Literal[RULE_KINDS] = Field(description="threshold: a value past a limit; quiet: no reading")
    sensor: Label | None = Field(None, description="the one sensor watched; or sensor_prefix")
    sensor_prefix: Annotated[str, StringConstraints(max_length=MAX_LABEL_LENGTH)] | None = Field(
        None, description='every sensor whose name starts with this ("" for all); or sensor'
    )
    field: FieldPath | None = Field(None, description="threshold: the numeric field (default value)")
    above: float | None = Field(None, description="threshold: fire above this; or below")
    below: float | None = Field(None, description="threshold: fire below this; or above")
    for_: Duration | None = Field(
        None, alias="for", description="threshold: for how long (default at once); quiet: required"
    )
    hysteresis: Annotated[float, Field(ge=0)] | None = Field(
        None, description="threshold: how far back past the limit resolves (default 0)"
    )
    notify: Annotated[list[str], Field(max_length=MAX_TARGETS)] | None = Field(
        None, description="https:// webhooks (signed) or Apprise URLs"
    )
    enabled: bool | None = Field(None, description="default true")


def rule_fields() -> tuple[str, ...]:
    """The fields a rule body may hold, as the client writes them."""
    return tuple(info.alias or name for name, info in RuleInput.model_fields.items())


def required_rule_fields() -> tuple[str, ...]:
    """The fields a new rule must give."""
    return tuple(info.alias or name for name, info in RuleInput.model_fields.items() if info.is_required())


# --- checking one parameter ----------------------------------------------


@cache
def adapter(model: type[BaseModel], name: str) -> TypeAdapter:
    """The validator of one field of a model, built once."""
    info = model.model_fields[name]
    return TypeAdapter(Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation)


def problem(info: FieldInfo, error: dict) -> str:
    """One of pydantic's errors in the service's words."""
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "missing":
        return "required"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "string_too_long":  # a field with a pattern says what it must be, whatever is wrong
        return PATTERN_PROBLEMS.get(_pattern(info), f"must be at most {ctx['max_length']} characters")
    if kind == "string_pattern_mismatch":
        return PATTERN_PROBLEMS[ctx["pattern"]]
    if kind == "literal_error":
        choices = next(get_args(arg) for arg in _flat(info.annotation) if get_args(arg))
        return f"must be one of: {', '.join(choices)}"
    if kind == "value_error":
        return str(ctx["error"])
    return error["msg"]


def _flat(annotation: Any) -> list:
    return [annotation, *get_args(annotation)]


def _pattern(info: FieldInfo) -> str | None:
    metadata = [
        *info.metadata,
        *(m for arg in _flat(info.annotation) for m in getattr(arg, "__metadata__", ())),
    ]
    return next((m.pattern for m in metadata if isinstance(m, StringConstraints) and m.pattern), None)


# --- the OpenAPI document and the docs -----------------------------------

REF = "#/components/schemas/{model}"


def component(model: type[BaseModel]) -> dict:
    """A model as an OpenAPI 3.1 schema (JSON Schema 2020-12)."""
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        prop.pop("default", None)  # a default is the server's to apply, not the client's to send
    return schema


def parameters(model: type[BaseModel], **overrides: dict) -> list[dict]:
    """A query string's parameters as OpenAPI parameter objects; ``overrides`` adds to a schema."""
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    required = set(schema.get("required", ()))
    found = []
    for name, prop in schema["properties"].items():
        prop = _not_null(prop)
        description = prop.pop("description", "")
        prop.pop("title", None)
        found.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": description,
                "schema": {**prop, **overrides.get(name, {})},
            }
        )
    return found


def _not_null(prop: dict) -> dict:
    """A parameter left out is how a query string says null: drop the null branch pydantic adds."""
    options = prop.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        outer = {key: value for key, value in prop.items() if key not in ("anyOf", "default")}
        if prop.get("default") is not None:
            outer["default"] = prop["default"]
        return {**rest[0], **outer} if len(rest) == 1 else {"anyOf": rest, **outer}
    return dict(prop)


def markdown_table(model: type[BaseModel]) -> str:
    """A model's fields as a Markdown table (field, required, type, limits, meaning), for the docs."""
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    rows = ["| field | required | type | limits | meaning |", "|---|---|---|---|---|"]
    for name, prop in schema["properties"].items():
        prop = _not_null(prop)
        kind = (
            " or ".join(f"`{choice}`" for choice in prop["enum"]) if "enum" in prop else prop.get("type", "")
        )
        if "minLength" in prop and "maxLength" in prop:
            prop["length"] = f"{prop.pop('minLength')} to {prop.pop('maxLength')}"
        limits = "; ".join(_limit_text(key, value) for key, value in prop.items() if key in LIMIT_TEXT)
        meaning = prop.get("description", "")
        rows.append(f"| `{name}` | {'yes' if name in required else 'no'} | {kind} | {limits} | {meaning} |")
    return "\n".join(rows)


LIMIT_TEXT = {
    "length": "{} characters",
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
    "pattern": "matches `{}`",
    "minimum": "{} or more",
    "maximum": "at most {}",
    "maxItems": "at most {} items",
}


def _limit_text(key: str, value: Any) -> str:
    shown = value.replace("\x00", "\\u0000") if key == "pattern" else value  # not a raw NUL
    return LIMIT_TEXT[key].format(shown).replace("|", "\\|")


# The tables docs/ shows, by the marker that holds each (``<!-- schema:NAME -->``).
TABLES = {
    "RuleInput": RuleInput,
    "ListParams": ListParams,
    "SensorParams": SensorParams,
    "OverviewParams": OverviewParams,
    "StatsParams": StatsParams,
    "ExportParams": ExportParams,
    "DeleteParams": DeleteParams,
}


def docs_tables() -> str:
    """Every table, each between its markers, as docs/ holds them."""
    return "\n\n".join(
        f"<!-- schema:{name} -->\n{markdown_table(model)}\n<!-- /schema -->" for name, model in TABLES.items()
    )
