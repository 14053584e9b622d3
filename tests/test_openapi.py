"""The OpenAPI document is valid, and every operation behaves as it says.

schemathesis calls every operation with generated valid and invalid input
(positive and negative modes) and checks each answer: no 5xx, a documented
status, content type, headers and body schema. When an endpoint changes, this
fails until the document follows.
"""

import pytest
import schemathesis
from conftest import STORES, examples, module_app
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_document_is_valid_openapi_3_1(client):
    document = client.get("/openapi.json").json
    validate(document)
    assert document["openapi"] == "3.1.0"


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
