"""The shape of the code (docs/ARCHITECTURE.md): layers that import one way, nothing below the
interfaces reading the environment, and no test doubles or load generators in the product."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("schemas", "transforms", "synth", "store", "reports", "pipeline", "lscb", "portal")
BELOW_INTERFACES = ("schemas", "transforms", "synth", "store", "reports", "pipeline")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def copy_of_the_product(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("product")
    for package in PRODUCT:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_the_contracts_hold_on_the_product(copy_of_the_product: Path) -> None:
    result = _lint_imports(copy_of_the_product)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "imported", "contract"),
    [
        ("store/queries.py", "pipeline.compile", "store is not allowed to import pipeline"),
        ("transforms/measures.py", "store.models", "transforms is not allowed to import store"),
        ("reports/compile.py", "store.national", "reports is not allowed to import store"),
        ("pipeline/receive.py", "lscb.settings", "pipeline is not allowed to import lscb.settings"),
        ("schemas/standard.py", "transforms.findings", "schemas is not allowed to import transforms"),
    ],
)
def test_an_import_that_runs_back_up_breaks_a_contract(
    copy_of_the_product: Path, module: str, imported: str, contract: str
) -> None:
    target = copy_of_the_product / module
    original = target.read_text(encoding="utf-8")
    try:
        target.write_text(original + f"\nimport {imported}  # noqa\n", encoding="utf-8")
        result = _lint_imports(copy_of_the_product)
    finally:
        target.write_text(original, encoding="utf-8")
    assert result.returncode != 0, result.stdout[-3000:]
    assert contract in result.stdout, result.stdout[-3000:]


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb", "putenv"):
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            if any(alias.name in ("environ", "getenv", "environb", "putenv") for alias in node.names):
                lines.append(node.lineno)
    return lines


def test_nothing_below_the_interfaces_reads_the_environment() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _modules(*BELOW_INTERFACES)
        for line in _reads_environment(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == []


def test_the_environment_check_finds_a_read() -> None:
    assert _reads_environment(ast.parse("import os\nx = os.environ.get('A')\n")) == [2]
    assert _reads_environment(ast.parse("from os import getenv\n")) == [1]
    assert _reads_environment(ast.parse("import os\nx = os.path.join('a')\n")) == []


_DOUBLE = re.compile(r"^(Fake|Stub|Mock|Dummy)[A-Z]")
_PASSWORD = re.compile(r"""^\s*[A-Z_]*PASSWORD[A-Z_]*\s*[:=][^=\n]*["']""", re.MULTILINE)


def test_no_test_double_fixed_password_or_load_generator_in_the_product() -> None:
    found = []
    for path in _modules(*PRODUCT):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT).as_posix()
        if re.search(r"(^|/)(testing|loadtest|load_test|fakes?|fixtures?|conftest)\.py$", name):
            found.append(f"{name}: a test or load module")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and _DOUBLE.match(node.name):
                found.append(f"{name}:{node.lineno}: class {node.name}")
        for match in _PASSWORD.finditer(text):
            found.append(f"{name}: a fixed password ({match.group(0).strip()[:40]})")
    assert found == []
