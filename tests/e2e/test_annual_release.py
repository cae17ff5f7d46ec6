"""Release with approval, in real Airflow: the annual_report DAG builds, audits and publishes a
year, then stops at `approve_release` (Airflow's human-in-the-loop ApprovalOperator) until a
statistician answers. Approved: the publication is released to the release location, read-only,
with a manifest of checksums that matches every file (and never the analysts' exact tables).
Rejected: the release step is skipped and nothing is in the release location.

Airflow runs in a subprocess with its own AIRFLOW_HOME (SQLite metadata) under tmp_path; the
answer is recorded as Airflow's HITL REST endpoint records it (tests/support/annual_release.py).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.release import MANIFEST, verify_release
from tests.support.publication import POPULATION, YEAR, store_year

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("annual-release")
    url = store_year(root, quarters=1)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "LSCB_"))}
    home = root / "airflow"
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        LSCB_DATA_DIR=str(root / "data"),
        LSCB_DATABASE_URL=url,
        LSCB_DEMO="1",
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    migrated = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    return {"root": root, "env": env}


def _run(airflow: dict[str, object], name: str, answer: str) -> tuple[dict, Path, Path]:
    root = Path(str(airflow["root"])) / name
    outputs, release = root / "annual", root / "release"
    completed = subprocess.run(
        [
            sys.executable, "-m", "tests.support.annual_release", "--year", YEAR, "--outputs", str(outputs),
            "--release", str(release), "--population", str(POPULATION), "--answer", answer,
        ],
        env=airflow["env"], cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    (root / "dag.log").parent.mkdir(parents=True, exist_ok=True)
    (root / "dag.log").write_text(completed.stdout + "\n--- stderr\n" + completed.stderr)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1]), outputs, release


def test_an_approved_publication_is_released_with_its_manifest(airflow: dict[str, object]) -> None:
    result, outputs, release = _run(airflow, "approved", "Approve")
    assert result["answered"] and result["states"]["approve_release"] == "success", result
    assert result["states"]["release_publication"] == "success", result
    released = release / YEAR
    manifest = json.loads((released / MANIFEST).read_text())
    assert manifest["approved_by"] == "Head of profession for statistics"
    names = {entry["path"] for entry in manifest["files"]}
    assert {"children.csv", "children.meta.csv", f"lscb-annual-{YEAR}.pdf"} <= names
    assert not any(name.startswith(("analyst/", "data_docs/")) for name in names)
    assert verify_release(released) == []
    assert all(not (p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) for p in released.rglob("*"))
    assert (outputs / YEAR / "children.csv").exists()  # the published copy stays where it was checked


def test_a_rejected_publication_releases_nothing(airflow: dict[str, object]) -> None:
    result, outputs, release = _run(airflow, "rejected", "Reject")
    assert result["answered"] and result["states"]["approve_release"] == "success", result
    assert result["states"]["release_publication"] == "skipped", result
    assert (outputs / YEAR / "children.csv").exists()
    assert not release.exists() or not any(release.iterdir())
