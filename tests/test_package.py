"""The service as a package: its wheel, the installed copy, the ``readings`` command and the lock files."""

import re
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from contextlib import closing
from pathlib import Path

import pytest
from conftest import ROOT, ROOT_ENV, close_app
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from flask_rest_service import __version__, create_app

PACKAGE = ROOT / "flask_rest_service"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Where this interpreter's console scripts are: make run installs readings there.
SCRIPTS = Path(sysconfig.get_path("scripts"))
PIP = [sys.executable, "-m", "pip"]
EXTRAS = PYPROJECT["project"]["optional-dependencies"]


# -- the wheel and the installed copy -------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """``pip wheel . --no-deps`` on a copy of the checkout (setuptools' build/ stays out of it)."""
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"
    leftovers = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*cache", ".hypothesis")
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*leftovers, "instance", "test-artifacts"))
    built = subprocess.run(
        [*PIP, "wheel", "--no-deps", "--quiet", "--wheel-dir", str(folder), str(source)],
        env=ROOT_ENV,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (made,) = folder.glob("*.whl")
    return made


def package_files() -> set[str]:
    """Every file of the package in the checkout, as a path in the wheel."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.slow
def test_the_wheel_holds_the_package_with_its_data_and_nothing_beside_it(wheel):
    assert wheel.name == f"flask_rest_service-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"flask_rest_service-{__version__}.dist-info"
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    shipped = {name for name in names if not name.startswith(info + "/")}
    # The templates, static assets and SQLite schema steps included; bench/, tests/, examples/ not.
    assert shipped == package_files()
    assert f"\nVersion: {__version__}\n" in metadata
    assert "[console_scripts]\nreadings = flask_rest_service.__main__:main\n" in entry_points


INSTALLED_APP = """
import sys
import flask_rest_service
from flask_rest_service import create_app
assert flask_rest_service.__file__.startswith(sys.argv[1]), flask_rest_service.__file__
client = create_app({"SQLITE_PATH": sys.argv[2]}).test_client()
page = client.get("/dashboard")
css = client.get("/static/dashboard.css")
script = client.get("/static/dashboard.js")
created = client.post("/readings/", json={"sensor": "t", "value": 1})
print(page.status_code, css.status_code, script.status_code, created.status_code)
"""


@pytest.mark.slow
def test_the_installed_wheel_serves_the_dashboard_and_creates_the_sqlite_schema(wheel, tmp_path):
    site = tmp_path / "site"
    installed = subprocess.run(
        [*PIP, "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
        env=ROOT_ENV,
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr
    # Run from elsewhere, so that the checkout's own package cannot be the one imported.
    environ = {**ROOT_ENV, "PYTHONPATH": str(site), "SQLITE_PATH": str(tmp_path / "r.sqlite3")}
    command = [str(site / "bin" / "readings"), "init-db"]
    made = subprocess.run(command, cwd=tmp_path, env=environ, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("sqlite store 'r.sqlite3' ready")
    with closing(sqlite3.connect(tmp_path / "r.sqlite3")) as connection:  # every schema step taken
        assert connection.execute("PRAGMA user_version").fetchone() == (len(list(PACKAGE.rglob("*.sql"))),)

    command = [sys.executable, "-c", INSTALLED_APP, str(site), str(tmp_path / "r.sqlite3")]
    served = subprocess.run(command, cwd=tmp_path, env=environ, capture_output=True, text=True)
    assert served.returncode == 0, served.stderr
    assert served.stdout.splitlines()[-1] == "200 200 200 201"  # after the request log lines


# -- the readings command ------------------------------------------------------------------------


def run(script: str, *args, folder: Path) -> subprocess.CompletedProcess:
    """Run one of this environment's scripts with the store in ``folder``."""
    environ = {**ROOT_ENV, "SQLITE_PATH": str(folder / "readings.sqlite3")}
    return subprocess.run(
        [str(SCRIPTS / script), *args], cwd=folder, env=environ, capture_output=True, text=True
    )


def readings(*args, folder: Path) -> subprocess.CompletedProcess:
    return run("readings", *args, folder=folder)


def commands(result: subprocess.CompletedProcess) -> set[str]:
    """The commands a --help lists."""
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split("\nCommands:\n", 1)[1]
    return {line.split()[0] for line in listed.splitlines() if line.startswith("  ")}


def test_readings_help_lists_every_command_of_the_flask_cli(tmp_path):
    # All but Flask's development server (the server is gunicorn: make run).
    flask = commands(run("flask", "--app", "flask_rest_service", "--help", folder=tmp_path))
    assert commands(readings("--help", folder=tmp_path)) == flask - {"run"}
    assert {"init-db", "keys", "rules", "copy-to", "copy-from", "run-jobs", "shell"} <= flask


def test_readings_version_is_the_package_version(tmp_path):
    result = readings("--version", folder=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"readings {__version__}\n")


def test_readings_runs_the_commands_on_the_configured_store(tmp_path):
    assert readings("init-db", folder=tmp_path).returncode == 0
    made = readings("keys", "create", "kitchen-pi", "--scope", "write", folder=tmp_path)
    assert made.returncode == 0, made.stderr
    assert re.fullmatch(r"rk_[A-Za-z0-9_-]{43}", made.stdout.splitlines()[-1])
    listed = readings("keys", "list", folder=tmp_path)
    assert listed.stdout.startswith("kitchen-pi\twrite\t")
    app = create_app({"SQLITE_PATH": str(tmp_path / "readings.sqlite3")})
    try:
        assert [key["name"] for key in app.extensions["keys"].list()] == ["kitchen-pi"]
    finally:
        close_app(app)


# -- the lock files ------------------------------------------------------------------------------


def locked(name: str) -> dict[str, tuple[Requirement, list[str]]]:
    """A compiled requirements file: each package's pin (with its marker) and its hashes."""
    text = re.sub(r"\\\n", " ", (ROOT / name).read_text())
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        pin, *hashes = line.split(" --hash=")
        requirement = Requirement(pin)
        pins[canonicalize_name(requirement.name)] = (requirement, [h.strip() for h in hashes])
    return pins


def declared(*extras: str) -> list[Requirement]:
    """The requirements pyproject.toml declares: the dependencies, and those of ``extras``."""
    lines = PYPROJECT["project"]["dependencies"] + [line for extra in extras for line in EXTRAS[extra]]
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize(
    ("name", "extras"),
    [("requirements.txt", ["redis"]), ("requirements-dev.txt", ["redis", "test", "dev"])],
)
def test_the_lock_pins_every_declared_requirement_with_hashes(name, extras):
    # make lock compiles both from pyproject.toml; a requirement added to one but
    # not locked (or locked outside what it allows) shows up here.
    pins = locked(name)
    for requirement in declared(*extras):
        pin, hashes = pins[canonicalize_name(requirement.name)]
        (exact,) = pin.specifier
        assert exact.operator == "==" and exact.version in requirement.specifier, (requirement, pin)
    for pin, hashes in pins.values():
        assert hashes and all(h.startswith("sha256:") for h in hashes), pin


def test_the_dev_lock_runs_the_deployed_versions():
    runtime, dev = locked("requirements.txt"), locked("requirements-dev.txt")
    assert {name: str(dev[name][0]) for name in runtime} == {
        name: str(pin) for name, (pin, _) in runtime.items()
    }
    tools = {canonicalize_name(Requirement(line).name) for extra in ("test", "dev") for line in EXTRAS[extra]}
    assert not tools & runtime.keys()
