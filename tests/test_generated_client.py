"""A client generated from the served document does the service's core job.

openapi-python-client (the version requirements-dev.txt pins) generates a
package from ``/openapi.json`` into a temporary folder; the test imports it
and drives the app through httpx's WSGI transport: a reading, a batch, both
kinds of rule, a patch of each, a page of the list, stats and an export.
A document the generator misreads (a body it cannot send, an operation it
cannot import, a default the server refuses) fails here.
"""

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import close_app, module_app

pytestmark = pytest.mark.slow  # generates a client package (openapi-python-client, ruff)

T0 = "2026-03-01T10:00:00Z"
PACKAGE = "readings_client"


@pytest.fixture(scope="module")
def app():
    app = module_app("sqlite", RATE_LIMIT=None)
    yield app
    close_app(app)


@pytest.fixture(scope="module")
def generated(app, tmp_path_factory):
    """The generated package, imported."""
    folder = tmp_path_factory.mktemp("client")
    spec = folder / "openapi.json"
    spec.write_text(json.dumps(app.test_client().get("/openapi.json").json))
    bin_dir = str(Path(sys.executable).parent)  # ruff, which the generator runs on its output
    generator = shutil.which("openapi-python-client", path=bin_dir) or "openapi-python-client"
    result = subprocess.run(
        [
            generator,
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(folder / PACKAGE),
            "--meta",
            "none",
        ],
        cwd=folder,
        env={**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout  # every operation and model generated
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture
def api(app, generated):
    """A generated client on the app, and the generated modules by name."""
    client = generated.Client(
        base_url="http://testserver", httpx_args={"transport": httpx.WSGITransport(app=app)}
    )

    def module(name: str):
        return importlib.import_module(f"{PACKAGE}.{name}")

    with client:
        yield client, module


def test_every_operation_is_tagged_and_imports(generated):
    folder = Path(generated.__file__).parent / "api"
    tags = sorted(path.name for path in folder.iterdir() if path.is_dir() and path.name != "__pycache__")
    assert tags == ["alerts", "health", "readings", "rules", "sensors"]
    for path in folder.glob("*/*.py"):
        if path.name != "__init__.py":
            importlib.import_module(f"{PACKAGE}.api.{path.parent.name}.{path.stem}")


def test_a_reading_a_batch_a_patch_a_page_stats_and_an_export(api):
    client, module = api
    create = module("api.readings.create_readings")
    ReadingInput = module("models").ReadingInput

    one = ReadingInput.from_dict({"sensor": "gen-1", "type": "t", "value": 1.5, "timestamp": T0})
    response = create.sync_detailed(client=client, body=one)
    assert response.status_code == 201
    stored = response.parsed
    assert (stored.sensor, stored.value) == ("gen-1", 1.5)

    batch = [
        ReadingInput.from_dict(
            {"sensor": "gen-1", "value": value, "timestamp": f"2026-03-01T10:0{value}:00Z"}
        )
        for value in (2, 3)
    ]
    response = create.sync_detailed(client=client, body=batch)
    assert response.status_code == 201
    assert [reading.value for reading in response.parsed] == [2, 3]

    oid = stored.field_id.oid
    patched = module("api.readings.patch_reading").sync(
        client=client, id=oid, body=module("models").ReadingPatch.from_dict({"value": 9, "type": None})
    )
    assert patched.value == 9 and "type" not in patched.to_dict()

    listing = module("api.readings.list_readings")
    page = listing.sync_detailed(client=client, sensor="gen-1", limit=2)
    assert page.status_code == 200
    assert [reading.value for reading in page.parsed] == [3, 2]
    assert 'rel="next"' in page.headers["Link"]

    stats = module("api.readings.reading_stats").sync(
        client=client, sensor="gen-1", interval="1h", since=T0, until="2026-03-01T11:00:00Z"
    )
    assert [(bucket.count, bucket.sum_) for bucket in stats.buckets] == [(3, 14)]

    export = module("api.readings.export_readings").sync_detailed(client=client, sensor="gen-1")
    assert export.status_code == 200
    assert export.content.decode().count("gen-1") == 3


def test_both_kinds_of_rule_and_a_patch(api):
    client, module = api
    models = module("models")
    create = module("api.rules.create_rule")

    threshold = models.RuleInput.from_dict(
        {"name": "gen cold", "kind": "threshold", "sensor": "gen-2", "below": 5, "for": "10m"}
    )
    response = create.sync_detailed(client=client, body=threshold)
    assert response.status_code == 201, response.content
    assert response.parsed.condition == "value below 5 for 10m"

    quiet = models.RuleInput.from_dict(
        {"name": "gen quiet", "kind": "quiet", "sensor_prefix": "gen-", "for": "30m"}
    )
    response = create.sync_detailed(client=client, body=quiet)
    assert response.status_code == 201, response.content
    assert response.parsed.condition == "no reading for 30m"

    rule_id = response.parsed.field_id.oid
    patched = module("api.rules.patch_rule").sync_detailed(
        client=client, id=rule_id, body=models.RulePatch.from_dict({"for": "1h", "enabled": False})
    )
    assert patched.status_code == 200, patched.content
    assert (patched.parsed.condition, patched.parsed.enabled) == ("no reading for 1h", False)
