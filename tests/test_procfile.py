"""The Procfile runs as Heroku runs it: honcho starts `web` with PORT set."""

import json

import pytest
from conftest import ROOT
from webserver import Web, call


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


@pytest.fixture
def web(tmp_path):
    """`honcho start web` with PORT chosen as the platform would (and the SQLite file in tmp_path)."""
    server = Web({"SQLITE_PATH": str(tmp_path / "readings.sqlite3")})
    yield server
    assert "Booting worker" in server.stop()


@pytest.mark.e2e
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


@pytest.mark.e2e
def test_web_process_logs_one_line_per_request(web):
    call(web.base + "/readings/?limit=1", headers={"X-Request-ID": "one-line-check"})
    lines = [line for line in web.stop().splitlines() if "one-line-check" in line]
    assert len(lines) == 1
    assert "request_id=one-line-check method=GET path=/readings/ status=200" in lines[0]


@pytest.mark.e2e
@pytest.mark.e2e
def test_two_services_of_one_user_do_not_share_a_control_socket(tmp_path):
    # gunicorn 23+ puts one control socket at ~/.gunicorn/gunicorn.ctl for every
    # gunicorn of the user: two services on one Pi took it from each other.
    home = tmp_path / "home"
    home.mkdir()
    first = Web({"SQLITE_PATH": str(tmp_path / "a.sqlite3"), "HOME": str(home)})
    second = Web({"SQLITE_PATH": str(tmp_path / "b.sqlite3"), "HOME": str(home)})
    try:
        assert call(first.base + "/")[0] == call(second.base + "/")[0] == 200
        assert list(home.iterdir()) == []  # no ~/.gunicorn/gunicorn.ctl
    finally:
        first.stop()
        second.stop()
