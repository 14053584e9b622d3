"""What an acknowledged write survives, and who sees it: processes, workers, the CLI, kill -9."""

import json
import signal
import subprocess
import sys
import time

import pytest
from conftest import BIN, ROOT, ROOT_ENV, close_app, make_app
from webserver import Web, call

pytestmark = pytest.mark.e2e
WRITERS, EACH = 4, 100


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "readings.sqlite3")


def test_concurrent_writers_in_several_processes_lose_nothing(path):
    close_app(make_app({"SQLITE_PATH": path}))  # the schema, before the race
    code = (
        "import sys; from flask_rest_service import create_app; "
        "c = create_app({'TESTING': True, 'SQLITE_PATH': sys.argv[1]}).test_client(); "
        f"codes = {{c.post('/readings/', json={{'sensor': sys.argv[2], 'value': n}}).status_code for n in range({EACH})}}; "
        "print(codes)"
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", code, path, f"w{n}"],
            cwd=ROOT,
            env=ROOT_ENV,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    # Each prints its request log lines, then the set of statuses it got.
    assert [writer.communicate(timeout=120)[0].splitlines()[-1] for writer in writers] == ["{201}"] * WRITERS
    app = make_app({"SQLITE_PATH": path})
    client = app.test_client()
    assert [(s["sensor"], s["count"]) for s in client.get("/sensors/").json] == [
        (f"w{n}", EACH) for n in range(WRITERS)
    ]
    values = sorted(
        (doc["sensor"], doc["value"])
        for doc in client.get("/readings/export?format=ndjson").get_data(as_text=True) and _all(client)
    )
    assert values == sorted((f"w{n}", v) for n in range(WRITERS) for v in range(EACH))
    close_app(app)


def _all(client):

    return [
        json.loads(line)
        for line in client.get("/readings/export?format=ndjson").get_data(as_text=True).splitlines()
    ]


def test_a_reading_survives_kill_9_of_the_whole_server(path):
    web = Web({"SQLITE_PATH": path})
    status, created = call(web.base + "/readings/", {"sensor": "k", "value": 1.5})
    assert status == 201
    web.kill_everything()
    again = Web({"SQLITE_PATH": path})
    try:
        assert call(again.base + "/readings/") == (200, [created])
    finally:
        again.stop()


def test_a_reading_survives_kill_9_of_a_worker_and_every_worker_sees_it(path):
    web = Web({"SQLITE_PATH": path, "WEB_CONCURRENCY": "2"})
    try:
        before = web.workers()
        assert len(before) == 2
        status, created = call(web.base + "/readings/", {"sensor": "k", "value": 1.5})
        assert status == 201
        for worker in before:
            subprocess.run(["kill", f"-{signal.SIGKILL.value}", str(worker)], check=True)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (len(web.workers()) < 2 or worker in web.workers()):
                time.sleep(0.1)
            # Each answer comes from whichever worker accepted: both must know it.
            assert {call(web.base + "/readings/")[1][0]["_id"]["$oid"] for _ in range(10)} == {
                created["_id"]["$oid"]
            }
        assert set(web.workers()).isdisjoint(before)
    finally:
        web.stop()


def test_a_key_made_with_the_cli_is_honoured_by_the_running_server(path):
    web = Web({"SQLITE_PATH": path, "AUTH_CACHE_SECONDS": "1"})
    try:
        assert call(web.base + "/readings/")[0] == 200  # open: no key yet
        made = subprocess.run(
            [str(BIN / "flask"), "--app", "flask_rest_service", "keys", "create", "pi", "--scope", "read"],
            cwd=ROOT, env={**ROOT_ENV, "SQLITE_PATH": path}, capture_output=True, text=True, check=True,
        )  # fmt: skip
        key = made.stdout.splitlines()[-1]
        time.sleep(1.2)  # AUTH_CACHE_SECONDS: how long a process trusts what it learned
        assert call(web.base + "/readings/")[0] == 401
        assert call(web.base + "/readings/", headers={"X-API-Key": key})[0] == 200
    finally:
        web.stop()


def test_gunicorn_stops_and_says_why_when_keys_are_required_and_none_exist(path):
    # Before: each worker exited with SystemExit and gunicorn started another,
    # about 8 a second, accepting connections it never answered.
    env = {**ROOT_ENV, "PATH": f"{BIN}:{ROOT_ENV.get('PATH', '')}", "SQLITE_PATH": path,
           "REQUIRE_API_KEYS": "1", "PORT": "0", "WEB_CONCURRENCY": "2"}  # fmt: skip
    server = subprocess.run(
        ["gunicorn", "flask_rest_service:app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert server.returncode != 0
    assert "REQUIRE_API_KEYS is set and no API key exists" in server.stderr
    assert "Worker failed to boot" in server.stderr
    assert server.stderr.count("Booting worker") <= 2  # the first workers, none after
