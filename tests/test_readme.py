"""The README and docs/ stay true: every setting and route documented, examples that run as shown."""

import importlib.util
import json
import re

import pytest
from conftest import ROOT

from flask_rest_service.config import DESCRIPTIONS, VARIABLES
from flask_rest_service.validation import MAX_LABEL_LENGTH

README = (ROOT / "README.md").read_text()
DOCS = {path.name: path.read_text() for path in sorted((ROOT / "docs").glob("*.md"))}
PAGES = {"README.md": README, "CONTRIBUTING.md": (ROOT / "CONTRIBUTING.md").read_text(), **DOCS}
EVERYTHING = "\n".join(PAGES.values())


def section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


def render_configuration() -> str:
    spec = importlib.util.spec_from_file_location("configuration", ROOT / "docs" / "configuration.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render()


def test_every_setting_is_described_once_in_config():
    assert list(DESCRIPTIONS) == list(VARIABLES)


def test_the_configuration_page_is_the_generators_output():
    assert DOCS["configuration.md"] == render_configuration(), (
        "docs/configuration.md is out of date: python docs/configuration.py > docs/configuration.md"
    )


@pytest.mark.parametrize("name", VARIABLES)
def test_every_setting_is_in_the_configuration_table(name):
    assert re.search(rf"^\| `{name}` \|", DOCS["configuration.md"], re.M), (
        f"{name} is not in docs/configuration.md"
    )


def test_every_route_is_in_the_api_endpoints_table_with_a_curl_example(app):
    table = section(DOCS["api.md"], "Endpoints")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("swagger_ui") and rule.rule != "/docs/":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule).rstrip("/") or "/"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert re.search(rf"`{method} {re.escape(path)}/?[`?]", table), (
                f"{method} {path} is not in the table"
            )
        literal = re.sub(r"<\w+>", "[^ '\\\"]+", re.escape(path).replace("\\<", "<").replace("\\>", ">"))
        assert re.search(rf"curl[^\n]*localhost:5000{literal}", EVERYTHING), f"no curl example of {path}"


def test_the_key_name_limit_is_the_one_the_service_applies():
    assert f"A key's name is 1 to {MAX_LABEL_LENGTH} characters" in DOCS["security.md"]


@pytest.mark.parametrize("page", PAGES)
def test_every_json_example_is_json(page):
    for block in blocks(PAGES[page], "json"):
        json.loads(block)


# Hosts an example may name: this machine, names reserved for examples (RFC 2606),
# and the placeholders of the reader's own deployment.
OWN = ("localhost", "127.0.0.1", "0.0.0.0", "my-readings.herokuapp.com", "cluster0.xxxx.mongodb.net")
RESERVED = ("example", "example.com", "example.net", "example.org", "example.mongodb.net")


def public_hosts(text: str) -> set[str]:
    found = set()
    for code in re.findall(r"```.*?```|`[^`\n]+`", text, re.S):
        for host in re.findall(r"\b[a-z][a-z0-9+]*://([^/\s'\"`?,]*)", code):
            host = host.rsplit("@", 1)[-1].split(":")[0]
            placeholder = not host or "..." in host or host == "host" or host.upper() == host
            reserved = any(host == name or host.endswith("." + name) for name in RESERVED)
            if not (placeholder or host in OWN or reserved):
                found.add(host)
    return found


@pytest.mark.parametrize("page", PAGES)
def test_no_example_sends_data_to_a_public_service(page):
    assert public_hosts(PAGES[page]) == set()


def test_the_public_service_check_sees_a_public_ntfy_topic():
    assert public_hosts('```sh\n"notify": ["ntfys://ntfy.sh/my-greenhouse"]\n```') == {"ntfy.sh"}


def seeded_example(heading: str) -> tuple[list, str, str]:
    """The readings an API example posts, the URL it then asks, and the answer it shows."""
    text = DOCS["api.md"]
    start = text.index(heading)
    command = blocks(text[start:], "sh")[0]
    after = text[start + text[start:].index(command) + len(command) + len("```\n") :]
    answer = re.match(r"```(?:json)?\n(.*?)^```", after, re.M | re.S)
    body = re.search(r"-d '(\[.*?\])'", command, re.S).group(1)
    url = re.findall(r"localhost:5000(/[^' ]+)'", command)[-1]
    return json.loads(body), url, answer.group(1)


def test_the_stats_example_gives_the_buckets_it_shows(client):
    readings, url, answer = seeded_example("### `GET /readings/stats`")
    assert client.post("/readings/", json=readings).status_code == 201
    response = client.get(url)
    assert response.status_code == 200
    assert response.get_json() == json.loads(answer)


def test_the_export_example_gives_the_rows_it_shows(client):
    readings, url, answer = seeded_example("### `GET /readings/export`")
    assert client.post("/readings/", json=readings).status_code == 201
    response = client.get(url)
    assert response.status_code == 200
    assert response.get_data(as_text=True).replace("\r\n", "\n") == answer


def test_the_readme_is_a_ten_minute_read():
    assert len(README.splitlines()) <= 200, "move reference material to docs/"
    assert README.index("PORT=") < README.index("## A five-minute tour")
