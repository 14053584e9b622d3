"""The OpenAPI document is valid, and every operation behaves as it says.

schemathesis calls every operation with generated valid and invalid input
(positive and negative modes) and checks each answer: no 5xx, a documented
status, content type, headers and body schema. When an endpoint changes, this
fails until the document follows.
"""

import re

import pytest
import schemathesis
from conftest import STORES, examples, module_app
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flask_rest_service import validation
from flask_rest_service.alerts import resources as alert_resources
from flask_rest_service.alerts import rules
from flask_rest_service.bounds import MAX_OVERVIEW_PAGE_SIZE, OVERVIEW_PAGE_SIZE

# What a 400 may say of input the document calls valid: rules between fields,
# and grammars it gives in words (a timestamp, a cursor), which no JSON Schema
# states exactly. Each entry: where (parameter or field), its name, the detail.
BEYOND_THE_SCHEMA = [
    ("parameter", "cursor", "not a cursor this service issued"),
    ("parameter", "until", "must be later than since"),
    ("parameter", "since", "must be earlier than until"),
    ("parameter", "since|until", "must be an ISO 8601|out of range"),
    ("parameter", "interval", r"\d+ buckets asked for|too long for this window"),
    ("field", "timestamp", 'must be an ISO 8601|out of range|more than|{"\\$date'),
    ("field", r".+\..*", "field names must"),
    ("field", "_id", "must match the id in the URL"),  # at depth: the document names the top level's
    ("field", "sensor", "give either sensor"),
    ("field", "above", "a threshold rule has exactly one of above and below"),
    ("field", "field|above|below|hysteresis", "a quiet rule has none"),
    ("field", "for", "required for a quiet rule|must be at most 366 days"),
    ("field", r"notify\.\d+", ""),  # what a target may be: alerts.targets
    ("field", ".*", "integers must fit in 64 bits"),
]


def _beyond_the_schema(response) -> bool:
    if response.status_code != 400:
        return False
    errors = response.json().get("errors") or [{}]
    return all(
        any(
            re.fullmatch(name, str(error.get(where)), re.S) and re.match(detail, error["detail"])
            for where, name, detail in BEYOND_THE_SCHEMA
        )
        for error in errors
    )


@schemathesis.check
def valid_input_is_accepted(ctx, response, case):
    """positive_data_acceptance, but for a 400 the document cannot foresee (BEYOND_THE_SCHEMA)."""
    if _beyond_the_schema(response):
        return None
    return positive_data_acceptance(ctx, response, case)


@schemathesis.check
def invalid_input_is_refused(ctx, response, case):
    """negative_data_rejection; a 413 (a batch over the limit) refuses too, and so does, with
    partial=true, a 207 that lists an item as rejected."""
    if response.status_code == 413:
        return None
    if response.status_code == 207 and any(item["status"] == "rejected" for item in response.json()):
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    valid_input_is_accepted,
    invalid_input_is_refused,
]


def test_document_is_valid_openapi_3_1(client):
    document = client.get("/openapi.json").json
    validate(document)
    assert document["openapi"] == "3.1.0"


def _parameter(document: dict, path: str, name: str, method: str = "get") -> dict:
    return next(p for p in document["paths"][path][method]["parameters"] if p.get("name") == name)["schema"]


def test_served_limits_are_the_validators_constants(app, client):
    document = client.get("/openapi.json").json
    schemas = document["components"]["schemas"]
    reading, rule = schemas["ReadingInput"]["properties"], schemas["RuleInput"]["properties"]
    labels = [
        reading["sensor"],
        reading["type"],
        rule["name"],
        rule["sensor"]["anyOf"][0],
        rule["sensor_prefix"]["anyOf"][0],
        _parameter(document, "/readings/", "sensor"),
        _parameter(document, "/readings/stats", "sensor"),
        _parameter(document, "/sensors/{sensor}/latest", "type"),
    ]
    assert {label["maxLength"] for label in labels} == {validation.MAX_LABEL_LENGTH}
    assert rule["notify"]["anyOf"][0]["maxItems"] == rules.MAX_TARGETS
    assert rule["kind"]["enum"] == list(rules.KINDS)
    assert set(rule) == rules.FIELDS and schemas["RuleInput"]["required"] == list(rules.REQUIRED)
    assert schemas["RulePatch"]["properties"] == rule and "required" not in schemas["RulePatch"]
    # A generated client sends a schema's defaults, and a quiet rule refuses field and hysteresis.
    assert not [
        name for name, prop in rule.items() for part in [prop, *prop.get("anyOf", [])] if "default" in part
    ]
    batch = document["paths"]["/readings/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert batch["oneOf"][1]["maxItems"] == app.config["MAX_BATCH_SIZE"]
    limit = _parameter(document, "/readings/", "limit")
    assert (limit["maximum"], limit["default"]) == (
        app.config["MAX_PAGE_SIZE"],
        app.config["DEFAULT_PAGE_SIZE"],
    )
    sensors = _parameter(document, "/sensors/", "limit")
    assert (sensors["maximum"], sensors["default"]) == (limit["maximum"], limit["default"])
    overview = _parameter(document, "/sensors/overview", "limit")
    assert (overview["maximum"], overview["default"]) == (MAX_OVERVIEW_PAGE_SIZE, OVERVIEW_PAGE_SIZE)
    assert _parameter(document, "/sensors/", "prefix")["maxLength"] == validation.MAX_LABEL_LENGTH
    events = _parameter(document, "/rules/{id}/events", "limit")
    assert events["maximum"] == alert_resources.EVENTS_LIMIT
    assert schemas["ObjectId"]["properties"]["$oid"]["pattern"] == f"^{validation.ObjectIdConverter.regex}$"


# Each pattern in the document accepts exactly what its validator accepts.
SAMPLES = ["", "a", "0" * 24, "0" * 23, "g" * 24, "10m", "0m", "1234567890s", "5x", "5", "1w", "a.b",
           "a..b", "$a", "a.$b", ".a", "a.", "a\x00", "env.temp", "a$", "x" * 201]  # fmt: skip


def _accepts(parse, raw) -> bool:
    try:
        parse(raw)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("where", "parse"),
    [
        (("ObjectId", "$oid"), validation.parse_object_id),
        (("RuleInput", "for"), validation.parse_duration),
        (("RuleInput", "field"), validation.parse_field_path),
    ],
)
def test_served_patterns_accept_what_the_validators_accept(client, where, parse):
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    schema = schemas[where[0]]["properties"][where[1]]
    schema = schema.get("anyOf", [schema])[0]
    for raw in SAMPLES:
        served = re.fullmatch(schema["pattern"], raw) is not None and len(raw) <= schema.get(
            "maxLength", len(raw)
        )
        assert served == _accepts(parse, raw), raw


def test_document_describes_every_route(app, client):
    documented = {
        path.replace("{", "<").replace("}", ">") for path in client.get("/openapi.json").json["paths"]
    }
    routes = {
        rule.rule.replace("<ObjectId:", "<").replace("<sensor:", "<")
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in ("static", "openapidocument", "dashboard.page")
        and not rule.endpoint.startswith("swagger_ui")
    }
    assert routes == documented


def test_docs_page_is_served_from_the_package_without_a_cdn(client):
    page = client.get("/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/docs/swagger-ui-bundle.js" in html
    assert "https://" not in html and "http://" not in html.replace("http://localhost", "")
    with client.get("/docs/swagger-ui-bundle.js") as script:
        assert script.status_code == 200


# One app a store for the whole module (schemathesis' fixture-based loader
# does not run on pytest 9): each store fills with what the requests write.
def _conformance(kind: str):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", module_app(kind, RATE_LIMIT=None))
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])

    @pytest.mark.slow
    @schema.parametrize()
    @settings(max_examples=examples(25), deadline=None, suppress_health_check=list(HealthCheck))
    def test(case):
        case.call_and_validate(checks=CHECKS)

    return test


for _kind in STORES:
    globals()[f"test_every_operation_conforms_to_the_document_on_{_kind}"] = _conformance(_kind)
