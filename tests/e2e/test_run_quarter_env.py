"""`lscb run-quarter` from a plain shell (no AIRFLOW_* variables, nothing sourced): Airflow's home
is the data directory's, never ~/airflow, and the run works on an empty inbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_run_quarter_needs_no_sourced_environment(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "LSCB_"))}
    env.update(HOME=str(home), LSCB_DATA_DIR=str(tmp_path / "data"), LSCB_DEMO="1")
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("lscb")), "run-quarter", "--period", "2025-Q1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-3000:]
    assert "no such table" not in completed.stdout + completed.stderr
    assert not (home / "airflow").exists()
    assert (tmp_path / "data" / "airflow" / "airflow.db").is_file()
    assert (tmp_path / "data" / "outputs" / "2025-Q1" / "tracker.csv").is_file()
