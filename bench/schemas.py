"""What a declared schema costs per request: pydantic 2 against marshmallow 4 (+ apispec).

Two parts, each run where its libraries are installed:

- ``service``: the service's own parsers (``queries.parse_list_query``,
  ``alerts.rules.clean_rule``), built on ``schemas`` (pydantic), per call;
- ``libraries``: the same list query and rule body declared in pydantic and
  in marshmallow, each library's validation per call, and the OpenAPI 3.1
  schema each renders (printed, to compare by eye).

    .venv/bin/python bench/schemas.py            # service (+ libraries if marshmallow is there)
    /tmp/bench-venv/bin/python bench/schemas.py  # libraries only, in a venv with both

Figures: bench/NOTES.md ("Schemas").
"""

import json
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERY = {"sensor": "kitchen", "type": "temperature", "since": "2026-03-01T10:00:00Z", "limit": "50"}
RULE = {
    "name": "too cold",
    "kind": "threshold",
    "sensor": "greenhouse",
    "below": 5,
    "for": "10m",
    "notify": [],
}


def per_call(function, number: int = 20000) -> str:
    """Microseconds a call, best of five runs."""
    best = min(timeit.repeat(function, number=number, repeat=5)) / number
    return f"{best * 1e6:.1f} µs"


def service() -> None:
    sys.path.insert(0, str(ROOT))
    from werkzeug.datastructures import MultiDict

    from flask_rest_service import queries
    from flask_rest_service.alerts import rules

    args = MultiDict(QUERY)
    print("service: parse_list_query", per_call(lambda: queries.parse_list_query(args, 100, 1000)))
    print("service: clean_rule      ", per_call(lambda: rules.clean_rule(RULE)))


def libraries() -> None:
    from typing import Annotated, Literal

    import marshmallow as mm
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin
    from pydantic import BaseModel, ConfigDict, Field, StringConstraints

    label = Annotated[str, StringConstraints(min_length=1, max_length=200)]

    class PListQuery(BaseModel):
        model_config = ConfigDict(extra="forbid")
        sensor: label | None = None
        type: label | None = None
        since: str | None = None
        until: str | None = None
        limit: Annotated[int, Field(ge=1, le=1000)] | None = None
        cursor: str | None = None

    class PRule(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: label
        kind: Literal["threshold", "quiet"]
        sensor: label | None = None
        sensor_prefix: Annotated[str, StringConstraints(max_length=200)] | None = None
        field: str | None = None
        above: float | None = None
        below: float | None = None
        for_: Annotated[str, StringConstraints(pattern="^[1-9][0-9]{0,8}[smhdw]$")] | None = Field(
            None, alias="for"
        )
        hysteresis: Annotated[float, Field(ge=0)] | None = None
        notify: Annotated[list[str], Field(max_length=10)] | None = None
        enabled: bool | None = None

    length = mm.validate.Length(min=1, max=200)

    class MListQuery(mm.Schema):
        class Meta:
            unknown = mm.RAISE

        sensor = mm.fields.String(validate=length)
        type = mm.fields.String(validate=length)
        since = mm.fields.String()
        until = mm.fields.String()
        limit = mm.fields.Integer(validate=mm.validate.Range(min=1, max=1000), strict=False)
        cursor = mm.fields.String()

    class MRule(mm.Schema):
        class Meta:
            unknown = mm.RAISE

        name = mm.fields.String(required=True, validate=length)
        kind = mm.fields.String(required=True, validate=mm.validate.OneOf(["threshold", "quiet"]))
        sensor = mm.fields.String(allow_none=True, validate=length)
        sensor_prefix = mm.fields.String(allow_none=True, validate=mm.validate.Length(max=200))
        field = mm.fields.String(allow_none=True)
        above = mm.fields.Float(allow_none=True)
        below = mm.fields.Float(allow_none=True)
        for_ = mm.fields.String(
            data_key="for", allow_none=True, validate=mm.validate.Regexp("^[1-9][0-9]{0,8}[smhdw]$")
        )
        hysteresis = mm.fields.Float(allow_none=True, validate=mm.validate.Range(min=0))
        notify = mm.fields.List(mm.fields.String(), allow_none=True, validate=mm.validate.Length(max=10))
        enabled = mm.fields.Boolean(allow_none=True)

    mquery, mrule = MListQuery(), MRule()
    print("pydantic: list query   ", per_call(lambda: PListQuery.model_validate(QUERY)))
    print("marshmallow: list query", per_call(lambda: mquery.load(QUERY)))
    print("pydantic: rule         ", per_call(lambda: PRule.model_validate(RULE)))
    print("marshmallow: rule      ", per_call(lambda: mrule.load(RULE)))

    spec = APISpec("bench", "1", "3.1.0", plugins=[MarshmallowPlugin()])
    spec.components.schema("Rule", schema=MRule)
    print(
        "apispec 3.1 Rule.sensor:",
        json.dumps(spec.to_dict()["components"]["schemas"]["Rule"]["properties"]["sensor"]),
    )
    print(
        "pydantic 3.1 Rule.sensor:",
        json.dumps(PRule.model_json_schema(by_alias=True)["properties"]["sensor"]),
    )


if __name__ == "__main__":
    try:
        service()
    except ImportError as error:
        print("service: skipped,", error)
    try:
        libraries()
    except ImportError as error:
        print("libraries: skipped,", error)
