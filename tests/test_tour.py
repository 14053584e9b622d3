"""The README's five-minute tour, pasted into bash against `make run`'s web process on a fresh store."""

import re
import subprocess

import pytest
from conftest import ROOT, ROOT_ENV
from webserver import Web

pytestmark = pytest.mark.e2e  # the Procfile's web process, and bash

README = (ROOT / "README.md").read_text()


def tour() -> str:
    """The shell block of the README's tour."""
    start = README.index("\n## A five-minute tour\n")
    return re.search(r"^```sh\n(.*?)^```", README[start:], re.M | re.S).group(1)


def expected_outputs(script: str) -> list[str]:
    """The comment lines right under a command: what it prints (`...` stands for what varies)."""
    outputs, previous = [], ""
    for line in script.splitlines():
        if line.startswith("#   ") and outputs and previous.startswith("#"):
            outputs[-1] += line[4:]  # a long output, continued
        elif line.startswith("# ") and previous and not previous.startswith("#"):
            outputs.append(line[2:])
        elif line.startswith("# ") and outputs and previous == "# " + outputs[-1].rsplit("\n", 1)[-1]:
            outputs.append(line[2:])  # the next line of the same output
        previous = line
    return outputs


def pattern(output: str) -> re.Pattern:
    return re.compile(".*?".join(map(re.escape, output.split("..."))))


@pytest.fixture
def web(tmp_path):
    server = Web({"SQLITE_PATH": str(tmp_path / "readings.sqlite3")})
    yield server
    server.stop()


def test_the_tour_has_outputs_to_check():
    outputs = expected_outputs(tour())
    assert "201" in outputs and "_id,sensor,type,timestamp,value,extra" in outputs
    assert any('"count":2,"min":4.0,"max":6.0,"avg":5.0' in output for output in outputs)


def test_the_tour_runs_as_pasted_and_prints_what_it_says(web, tmp_path):
    # The last line shows the id the tour captured: a reading list would match its output too.
    script = tour().replace("localhost:5000", f"127.0.0.1:{web.port}") + 'printf "\\nid=%s\\n" "$id"\n'
    command = ["bash", "-e", "-o", "pipefail"]
    result = subprocess.run(command, input=script, cwd=tmp_path, env=ROOT_ENV, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert re.search(r"^id=[0-9a-f]{24}$", result.stdout, re.M), result.stdout[-300:]
    position = 0
    for output in expected_outputs(tour()):
        found = pattern(output).search(result.stdout, position)
        assert found, f"the tour did not print {output!r} after {result.stdout[position : position + 300]!r}"
        position = found.end()
