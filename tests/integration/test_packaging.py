"""Packaging: pyproject declares what the product imports (and nothing it does not), the wheel
ships the migrations and the standard, and the runtime lock is the development lock's base."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("schemas", "transforms", "synth", "store", "reports", "pipeline", "lscb", "portal")
# Declared but imported by a library rather than by us: the PostgreSQL driver SQLAlchemy loads.
USED_INDIRECTLY = {"psycopg"}
# Meta-packages: the distribution we declare installs the ones that provide the module.
META = {"airflow": "apache-airflow"}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_name(r) for r in project["dependencies"]}, {_name(r) for r in project["optional-dependencies"]["dev"]}


VENDORED = ROOT / "tests" / "tools"


def _imported_modules(*packages: str) -> dict[str, set[str]]:
    """Third-party top-level modules imported by `packages` -> the distributions that provide them."""
    local = {path.stem for package in packages for path in (ROOT / package).rglob("*.py")}
    local |= set(PRODUCT) | {"tests", "bench", "rules", "builders", "hostile"}
    names: set[str] = set()
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            if VENDORED in path.parents:
                continue  # third-party tools with their own environment (tests/tools/*/VENDORED.md)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    mapping = packages_distributions()
    found = {}
    for name in names - local - set(sys.stdlib_module_names):
        found[name] = {d.lower().replace("_", "-") for d in mapping.get(name, [name])}
        if name in META:
            found[name].add(META[name])
    return found


def test_the_product_declares_every_distribution_it_imports_and_no_unused_one() -> None:
    runtime, _ = _declared()
    imported = _imported_modules(*PRODUCT, "dags")
    undeclared = sorted(name for name, distributions in imported.items() if not distributions & runtime)
    assert undeclared == [], "imported but not declared in [project.dependencies]"
    provided = set().union(*imported.values())
    assert runtime - provided - USED_INDIRECTLY == set(), "declared but never imported"


def test_the_tests_import_nothing_undeclared() -> None:
    runtime, dev = _declared()
    imported = _imported_modules("tests", "bench")
    assert sorted(name for name, distributions in imported.items() if not distributions & (runtime | dev)) == []


def test_the_dev_lock_holds_the_runtime_lock_exactly() -> None:
    def pins(name: str) -> dict[str, str]:
        text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
        return dict(line.split("==", 1) for line in text.splitlines() if "==" in line and not line.startswith("#"))

    runtime, dev = pins("runtime.lock"), pins("dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
    for tool in ("pytest", "ruff", "mypy", "playwright", "import-linter"):
        assert tool in dev and tool not in runtime


def test_the_wheel_ships_the_migrations_the_standard_and_the_templates(tmp_path: Path) -> None:
    uv = Path(sys.executable).with_name("uv")
    subprocess.run([str(uv), "build", "--wheel", "-q", "-o", str(tmp_path), str(ROOT)], check=True, timeout=300)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "store/migrations/env.py",
        "store/migrations/alembic.ini",
        "store/migrations/versions/0001_initial_tables.py",
        "schemas/standard/1.0.yaml",
        "schemas/register/las.csv",
        "portal/templates/base.html",
        "reports/templates/feedback.html.j2",
    ):
        assert expected in names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)
