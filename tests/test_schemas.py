"""The declared shapes (schemas, bounds) and what is built from them."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import problem_body

from flask_rest_service import bounds, schemas, validation
from flask_rest_service.alerts import rules

ROOT = Path(__file__).resolve().parent.parent
MARKED = re.compile(r"<!-- schema:(\w+) -->\n(.*?)\n<!-- /schema -->", re.S)


@pytest.mark.parametrize("parameter", ["sensor", "type"])
def test_a_label_parameter_over_the_label_limit_is_a_400(client, parameter):
    response = client.get(f"/readings/?{parameter}={'x' * (bounds.MAX_LABEL_LENGTH + 1)}")
    assert response.status_code == 400
    detail = f"must be at most {bounds.MAX_LABEL_LENGTH} characters"
    errors = [{"parameter": parameter, "detail": detail}]
    assert response.json == problem_body(400, "Bad Request", "1 problem in the query string", errors)


def test_a_label_parameter_at_the_label_limit_is_taken(client):
    assert client.get(f"/readings/?sensor={'x' * bounds.MAX_LABEL_LENGTH}").status_code == 200


def test_rule_fields_are_the_schemas():
    assert rules.FIELDS == {"name", "kind", "sensor", "sensor_prefix", "field", "above", "below", "for",
                            "hysteresis", "notify", "enabled"}  # fmt: skip
    assert rules.REQUIRED == ("name", "kind")


# The reading validator's inlined field-name test, against the declared pattern.
FIELD_NAMES = ["a", "", "$a", "a$", "a.b", ".", "a\x00", "\x00", "é", " ", "$", "a$b", "_id2"]


@pytest.mark.parametrize("name", FIELD_NAMES)
def test_the_reading_validator_refuses_exactly_the_field_names_the_pattern_refuses(name):
    _, problems = validation.clean_reading({name: 1}, datetime.now(UTC), validation.Limits())
    named = [problem for problem in problems.listed if problem["field"] == name]
    assert bool(named) == (re.fullmatch(bounds.FIELD_NAME, name) is None)


def test_docs_tables_are_the_schemas():
    tables = dict(MARKED.findall(schemas.docs_tables()))
    assert set(tables) == set(schemas.TABLES)
    for page in sorted((ROOT / "docs").glob("*.md")):
        for name, table in MARKED.findall(page.read_text()):
            assert table == tables[name], (
                f"{page.name}: {name}; paste python -c 'from flask_rest_service import schemas; print(schemas.docs_tables())'"
            )


def test_a_rule_table_lists_every_field_with_its_limits():
    table = schemas.markdown_table(schemas.RuleInput)
    assert f"| `name` | yes | string | 1 to {bounds.MAX_LABEL_LENGTH} characters |" in table
    assert f"| `notify` | no | array | at most {bounds.MAX_TARGETS} items |" in table
