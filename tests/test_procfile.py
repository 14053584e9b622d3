"""The Procfile runs as Heroku runs it: honcho starts `web` with PORT set."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, ROOT_ENV

BIN = Path(sys.executable).parent


def procfile():
    return dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)


def test_procfile_has_the_web_and_release_processes():
    assert procfile() == {
        "web": "gunicorn flask_rest_service:app",
        "release": "flask --app flask_rest_service init-db",
    }


def test_heroku_files():
    assert (ROOT / ".python-version").read_text().strip() == "3.11"
    manifest = json.loads((ROOT / "app.json").read_text())
    assert manifest["env"]["MONGO_URL"]["required"] is True
    assert manifest["env"]["REQUIRE_API_KEYS"]["value"] == "1"
    assert manifest["formation"]["web"]["quantity"] == 1


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {**({"Content-Type": "application/json"} if data else {}), **(headers or {})}
    request = urllib.request.Request(url, data, headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


class Web:
    """The web process: its address, and what it printed once stopped."""

    def __init__(self, process, base):
        self.process, self.base, self.output = process, base, None

    def stop(self) -> str:
        if self.output is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.output = self.process.communicate(timeout=30)[0].decode()
        return self.output


@pytest.fixture
def web(tmp_path):
    """`honcho start web` with PORT chosen as the platform would (and the SQLite file in tmp_path)."""
    port = free_port()
    env = {**ROOT_ENV, "PATH": f"{BIN}{os.pathsep}{ROOT_ENV.get('PATH', '')}", "PORT": str(port)}
    env["SQLITE_PATH"] = str(tmp_path / "readings.sqlite3")
    env.pop("WEB_CONCURRENCY", None)
    # honcho gives each process PORT = its base port; -p sets the base.
    process = subprocess.Popen(
        [str(BIN / "honcho"), "start", "-p", str(port), "web"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            call(base + "/")
            break
        except OSError:
            time.sleep(0.1)
    server = Web(process, base)
    yield server
    assert "Booting worker" in server.stop()


def test_web_process_serves_health_and_a_round_trip(web):
    web = web.base
    status, health = call(web + "/")
    assert status == 200
    assert (health["status"], health["store"]) == ("OK", "sqlite")
    status, created = call(
        web + "/readings/", {"sensor": "honcho", "value": 1.5, "timestamp": "2026-03-01T10:00:00Z"}
    )
    assert status == 201
    status, page = call(web + "/readings/?sensor=honcho")
    assert status == 200
    assert page == [created]


def test_web_process_logs_one_line_per_request(web):
    call(web.base + "/readings/?limit=1", headers={"X-Request-ID": "one-line-check"})
    lines = [line for line in web.stop().splitlines() if "one-line-check" in line]
    assert len(lines) == 1
    assert "request_id=one-line-check method=GET path=/readings/ status=200" in lines[0]
