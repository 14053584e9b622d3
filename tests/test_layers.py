"""Dependencies run one way: web -> services -> stores -> values; no module imports from above it.

Every module of the package is read (``ast``: its imports anywhere, inside
functions too) and placed in a layer; a new module must be placed here.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "flask_rest_service"
VALUES, STORES, SERVICES, WEB = range(4)
# By module name, longest prefix first; "" is the package's own __init__.py.
LAYERS = {
    "bsonvalues": VALUES,
    "extjson": VALUES,
    "bounds": VALUES,  # the limits and patterns, declared once
    "stores": STORES,
    "alerts.rules": SERVICES,  # domain: a rule's fields and checks
    "alerts.targets": SERVICES,
    "alerts.machine": SERVICES,
    "alerts.index": SERVICES,  # domain: which rules watch a sensor
    "alerts.engine": SERVICES,
    "alerts.notify": SERVICES,
    "auth": SERVICES,
    "bodies": SERVICES,
    "config": SERVICES,
    "errors": SERVICES,
    "export": SERVICES,
    "ingest": SERVICES,  # the one path every reading takes, and each protocol's way in
    "jobs": SERVICES,
    "maintenance": SERVICES,
    "migrate": SERVICES,
    "overview": SERVICES,  # the dashboard's page of sensors with their day
    "queries": SERVICES,
    "schemas": SERVICES,  # query strings and rule bodies, declared once (pydantic)
    "validation": SERVICES,
    "alerts.resources": WEB,
    "alerts.openapi": WEB,
    "alerts": SERVICES,  # the package's __init__: its docstring only
    "cli": WEB,
    "__main__": WEB,  # the readings command
    "dashboard": WEB,
    "logs": WEB,
    "openapi": WEB,
    "resources": WEB,
    "serving": WEB,  # the app as ASGI, for gunicorn's asgi worker
    "": WEB,
}
NAMES = ["values", "stores", "services", "web"]


def layer(module: str) -> int:
    """The layer of a module (dotted, relative to the package)."""
    for prefix in sorted(LAYERS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + ".") or prefix == "" and module == "":
            return LAYERS[prefix]
    raise KeyError(module)


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported(module: str, path: Path) -> set[str]:
    """The package's modules this one imports (dotted, relative to the package)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = [part for part in package if part]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
            elif (node.module or "").split(".")[0] == PACKAGE.name:
                base, node.module = [], node.module.partition(".")[2] or None
            else:
                continue
            source = [*base, node.module] if node.module else base
            if node.module:
                found.add(".".join(source))
            # from .alerts import resources: a module; from .stores import open_store: a name of one
            found |= {".".join([*source, alias.name]) for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {
                alias.name.partition(".")[2]
                for alias in node.names
                if alias.name.split(".")[0] == PACKAGE.name
            }
    known = modules()
    # A name that is no module is one of its parent's: stores.open_store is stores'.
    return {name if name in known else name.rpartition(".")[0] for name in found}


def test_every_module_has_a_layer():
    unplaced = [name for name in modules() if not any(
        name == prefix or name.startswith(prefix + ".") for prefix in LAYERS if prefix
    ) and name != ""]  # fmt: skip
    assert unplaced == []


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_module_imports_from_a_layer_above_it(module):
    own = layer(module)
    above = sorted(
        f"{name or PACKAGE.name} ({NAMES[layer(name)]})"
        for name in imported(module, modules()[module])
        if layer(name) > own
    )
    assert above == [], f"{module or PACKAGE.name} ({NAMES[own]}) imports from above it"


def test_the_check_sees_an_import_from_above(tmp_path):
    # The test of the test: a store module importing the alerts' engine is caught.
    path = tmp_path / "sqlite.py"
    path.write_text("from ..alerts.machine import State\nfrom .. import alerts\nfrom .base import Store\n")
    assert imported("stores.sqlite", path) == {"alerts.machine", "alerts", "stores.base"}
    assert layer("alerts.machine") > layer("stores.sqlite")
    assert layer("alerts") > layer("stores.sqlite")
