"""The domain is pure: it imports only the standard library, pandas, numpy, config and itself."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
ALLOWED_THIRD_PARTY = {"pandas", "numpy"}
OURS = {"config", "domain"}
FORBIDDEN = {"prefect", "sqlalchemy", "requests", "connectors", "warehouse", "tasks", "flows"}
MODULES = sorted(DOMAIN.glob("*.py"))


def imported_roots(path: Path) -> set[str]:
    """Top-level package of every import in the module, wherever it appears (also in functions)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:                       # relative import: inside domain
                roots.add("domain")
            elif node.module:
                roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "__import__", "import_module"):
            roots.add("<dynamic import>")
    return roots


def test_every_domain_module_is_checked():
    assert {p.stem for p in MODULES} >= {"orders", "payments", "allocation", "routing", "waves",
                                         "rates", "tracking", "returns", "kpis", "records", "states"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_domain_module_imports_only_stdlib_pandas_numpy_and_config(path: Path):
    allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY | OURS | {"__future__"}
    roots = imported_roots(path)
    assert not roots & FORBIDDEN, f"{path.name} imports {sorted(roots & FORBIDDEN)}"
    assert roots <= allowed, f"{path.name} imports {sorted(roots - allowed)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_domain_config_imports_are_types_only(path: Path):
    # config.settings reads the environment; the domain gets what it needs as arguments.
    tree = ast.parse(path.read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "config.settings" not in modules


def test_importing_the_domain_loads_no_orchestration_database_or_http_library():
    names = ", ".join(f"domain.{p.stem}" for p in MODULES if p.stem != "__init__")
    code = (f"import sys; import {names}; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN)!r}))")
    root = str(DOMAIN.parent)
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         env={"PYTHONPATH": root, "PATH": ""}, check=True)
    assert out.stdout.strip() == "[]"
