"""The package, the factory and the process settings."""

import pytest
from conftest import BIN, ROOT, run_python


@pytest.mark.e2e
def test_importing_the_package_builds_no_app():
    result = run_python("import flask_rest_service as m; print('app' in vars(m))")
    assert result.stdout == "False\n"


@pytest.mark.e2e
def test_procfile_target_is_built_on_first_use_even_with_the_database_away(dead_port):
    code = "import flask_rest_service as m; m.serve(m.app); print(m.app.extensions['store'].kind, m.app is m.app)"
    uri = f"mongodb://127.0.0.1:{dead_port}/plant"
    result = run_python(
        code, MONGO_URL=uri, MONGO_TIMEOUT_MS="200", MONGO_REQUEST_TIMEOUT_MS="300", CREATE_INDEXES="0"
    )
    assert result.stdout == "mongodb True\n"
    assert f"could not check API keys (ServerSelectionTimeoutError: 127.0.0.1:{dead_port}: " in result.stderr


@pytest.mark.e2e
def test_serving_says_which_store_holds_the_readings(tmp_path):
    path = tmp_path / "data" / "r.sqlite3"
    result = run_python("import flask_rest_service as m; m.serve(m.app)", SQLITE_PATH=str(path))
    assert f"store: sqlite, {path}" in result.stderr
    assert path.exists()


def test_sqlite_file_is_in_the_instance_folder_by_default():
    from flask_rest_service import create_app

    app = create_app({"CREATE_INDEXES": False})  # builds without opening the file
    assert app.config["SQLITE_PATH"] == str(ROOT / "instance" / "readings.sqlite3")


@pytest.mark.e2e
def test_heroku_without_mongodb_refuses_to_start():
    result = run_python("import flask_rest_service as m; m.app", check=False, DYNO="web.1")
    assert result.returncode == 1
    assert "on Heroku (DYNO is set) readings need MongoDB: set MONGO_URL" in result.stderr


@pytest.mark.e2e
def test_unacknowledged_writes_refuse_to_start_in_one_line_naming_the_setting():
    result = run_python(
        "import flask_rest_service as m; m.app", check=False, MONGO_URL="mongodb://u:pw@db/x?w=0"
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "MONGO_URL asks for w=0: MongoDB would confirm no write, so an acknowledged reading could be lost; "
            "remove w=0 (the default is w=majority on a replica set)"
        )
    )
    assert "pw" not in result.stderr


W0 = (
    "MONGO_URL asks for w=0: MongoDB would confirm no write, so an acknowledged reading could be lost; "
    "remove w=0 (the default is w=majority on a replica set)"
)


@pytest.mark.e2e
def test_the_server_refuses_a_setting_in_one_line_before_any_worker():
    command = f"{BIN / 'gunicorn'} flask_rest_service:app"
    result = run_python(
        f"import os, sys; sys.exit(os.waitstatus_to_exitcode(os.system({command!r})))",
        check=False, timeout=60, MONGO_URL="mongodb://u:pw@db/x?w=0", PORT="0",
    )  # fmt: skip
    assert result.returncode == 1
    assert f"[ERROR] Refusing to start: {W0}" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Booting worker" not in result.stderr


@pytest.mark.e2e
def test_the_readings_command_refuses_a_setting_in_one_line():
    result = run_python(
        "from flask_rest_service.__main__ import main; import sys; sys.argv = ['readings', 'keys', 'list']; main()",
        check=False, MONGO_URL="mongodb://u:pw@db/x?w=0",
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (1, f"Error: {W0}\n")


def test_procfile_runs_gunicorn_on_the_package():
    assert (ROOT / "Procfile").read_text().splitlines()[0] == "web: gunicorn flask_rest_service:app"


def gunicorn_settings(**environ) -> dict[str, str]:
    """gunicorn's own resolved settings for the Procfile's command (--print-config)."""
    command = f"{BIN / 'gunicorn'} --print-config flask_rest_service:app"
    out = run_python(f"import os; os.system({command!r})", **environ).stdout
    pairs = (line.split(" = ", 1) for line in out.splitlines() if " = " in line)
    return {name.strip(): value.strip() for name, value in pairs}


@pytest.mark.e2e
def test_gunicorn_runs_two_asgi_workers_on_any_store_unless_told():
    settings = gunicorn_settings(PORT="8123")
    assert (settings["workers"], settings["worker_class"]) == ("2", "asgi")
    assert gunicorn_settings(WEB_CONCURRENCY="4")["workers"] == "4"


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("environ", "bind"),
    [
        ({"PORT": "8123"}, "['127.0.0.1:8123']"),  # a machine of one's own: only itself, until told
        ({"HOST": "0.0.0.0", "PORT": "8000"}, "['0.0.0.0:8000']"),  # devices on the network
        (
            {"DYNO": "web.1", "MONGO_URL": "mongodb://db/x", "PORT": "31337"},
            "['0.0.0.0:31337']",
        ),  # Heroku's router
    ],
)
def test_gunicorn_listens_on_loopback_unless_told_or_on_heroku(environ, bind):
    assert gunicorn_settings(**environ)["bind"] == bind


@pytest.mark.e2e
def test_gunicorn_fits_herokus_limits():
    # Heroku's router drops a request after 30 s and kills a dyno 30 s after SIGTERM.
    settings = gunicorn_settings(PORT="5000")
    assert int(settings["timeout"]) < 30 and int(settings["graceful_timeout"]) < 30
    assert settings["accesslog"] == "None"  # the service logs each request itself


@pytest.mark.e2e
def test_forwarded_headers_are_trusted_from_herokus_router_only_on_heroku():
    here = gunicorn_settings()
    assert here["forwarded_allow_ips"] == "['127.0.0.1', '::1']"  # a proxy on loopback, as gunicorn defaults
    assert gunicorn_settings(DYNO="web.1", MONGO_URL="mongodb://db/x")["forwarded_allow_ips"] == "['*']"
    assert gunicorn_settings(FORWARDED_ALLOW_IPS="10.0.0.2")["forwarded_allow_ips"] == "['10.0.0.2']"
    # A client's SCRIPT_NAME or PATH_INFO header is never taken, not even through Heroku's router.
    assert (
        here["forwarder_headers"]
        == gunicorn_settings(DYNO="web.1", MONGO_URL="mongodb://db/x")["forwarder_headers"]
        == "[]"
    )
