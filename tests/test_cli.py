"""flask keys create / list / revoke, and the start-up key checks."""

import re

from conftest import run_python


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


def test_bad_scope_is_refused(app):
    result = app.test_cli_runner().invoke(args=["keys", "create", "x", "--scope", "root"])
    assert result.exit_code == 2


def test_serving_warns_when_open():
    result = run_python("import flask_rest_service as m; m.app")
    assert "OPEN MODE: no API key exists" in result.stderr


def test_serving_refuses_to_start_when_keys_are_required_and_none_exist():
    result = run_python("import flask_rest_service as m; m.app", check=False, REQUIRE_API_KEYS="1")
    assert result.returncode == 1
    assert "REQUIRE_API_KEYS is set and no API key exists" in result.stderr


def test_serving_starts_with_required_keys_from_the_environment():
    result = run_python(
        "import flask_rest_service as m; m.app", REQUIRE_API_KEYS="1", API_KEYS="a:admin:" + "k" * 24
    )
    assert "OPEN MODE" not in result.stderr
