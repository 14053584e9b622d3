"""flask keys create / list / revoke, and the start-up key checks."""

import re
import subprocess

import pytest
from conftest import BIN, ROOT, ROOT_ENV, run_python


def test_create_list_revoke(app):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["keys", "create", "pi-kitchen", "--scope", "write"])
    assert created.exit_code == 0
    key = created.output.splitlines()[-1]
    assert re.fullmatch(r"rk_[A-Za-z0-9_-]{43}", key)
    listed = runner.invoke(args=["keys", "list"])
    assert listed.exit_code == 0
    assert listed.output.startswith("pi-kitchen\twrite\tcreated ")
    assert "last used never" in listed.output
    assert key not in listed.output
    assert runner.invoke(args=["keys", "revoke", "pi-kitchen"]).output == "revoked 'pi-kitchen'\n"
    assert runner.invoke(args=["keys", "list"]).output == ""


def test_revoking_an_unknown_key_fails(app):
    result = app.test_cli_runner().invoke(args=["keys", "revoke", "nobody"])
    assert result.exit_code == 1
    assert "no stored key named 'nobody'" in result.output


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "a key's name must not be empty or blank"),
        ("pi\tadmin", "a key's name must not hold control or format characters such as '\\t'"),
        ("pi\nforged\tadmin", "a key's name must not hold control or format characters such as '\\n'"),
        ("k" * 3000, "a key's name has at most 200 characters, not 3000"),
    ],
)
def test_a_bad_key_name_is_refused_in_one_line(app, name, problem):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "create", name])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"Error: NAME: {problem}\n")
    assert runner.invoke(args=["keys", "list"]).output == ""


def test_bad_scope_is_refused(app):
    result = app.test_cli_runner().invoke(args=["keys", "create", "x", "--scope", "root"])
    assert result.exit_code == 2


SERVE = "import flask_rest_service as m; m.serve(m.app)"


@pytest.mark.e2e
def test_serving_warns_when_open():
    result = run_python(SERVE)
    assert "OPEN MODE: no API key exists" in result.stderr


@pytest.mark.e2e
def test_serving_refuses_to_start_when_keys_are_required_and_none_exist():
    result = run_python(SERVE, check=False, REQUIRE_API_KEYS="1")
    assert result.returncode == 1
    assert "StartupRefused: REQUIRE_API_KEYS is set and no API key exists" in result.stderr


@pytest.mark.e2e
def test_serving_starts_with_required_keys_from_the_environment():
    result = run_python(SERVE, REQUIRE_API_KEYS="1", API_KEYS="a:admin:" + "k" * 24)
    assert "OPEN MODE" not in result.stderr


def flask(*args, **environ):
    command = [str(BIN / "flask"), "--app", "flask_rest_service", *args]
    return subprocess.run(command, cwd=ROOT, env={**ROOT_ENV, **environ}, capture_output=True, text=True)


@pytest.mark.e2e
def test_the_cli_makes_the_first_key_and_runs_the_release_step_when_keys_are_required(tmp_path):
    # The CLI is how the first key is made: it must run where the server would refuse to.
    environ = {"REQUIRE_API_KEYS": "1", "SQLITE_PATH": str(tmp_path / "r.sqlite3")}
    released = flask("init-db", **environ)
    assert released.returncode == 0, released.stderr
    made = flask("keys", "create", "first", "--scope", "admin", **environ)
    assert made.returncode == 0, made.stderr
    assert re.fullmatch(r"rk_[A-Za-z0-9_-]{43}", made.stdout.splitlines()[-1])
    assert run_python(SERVE, **environ).returncode == 0  # and now the server starts
