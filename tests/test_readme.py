"""The README stays true: every setting the service reads and every route are documented."""

import re

import pytest
from conftest import ROOT

from flask_rest_service.config import VARIABLES
from flask_rest_service.validation import MAX_LABEL_LENGTH

README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


@pytest.mark.parametrize("name", VARIABLES)
def test_every_setting_is_in_the_settings_table(name):
    assert re.search(rf"^\| [^|]*`{name}`", section("Settings"), re.M), (
        f"{name} is not in the README's Settings table"
    )


def test_every_route_is_in_the_endpoints_table_with_a_curl_example(app):
    table = section("Endpoints")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("swagger_ui") and rule.rule != "/docs/":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule).rstrip("/") or "/"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert re.search(rf"`{method} {re.escape(path)}/?[`?]", table), (
                f"{method} {path} is not in the table"
            )
        literal = re.sub(r"<\w+>", "[^ '\\\"]+", re.escape(path).replace("\\<", "<").replace("\\>", ">"))
        assert re.search(rf"curl[^\n]*localhost:5000{literal}", README), f"no curl example of {path}"


def test_the_key_name_limit_is_the_one_the_service_applies():
    assert f"A key's name is 1 to {MAX_LABEL_LENGTH} characters" in README
