"""A national quarter through the quarterly_return DAG in real Airflow (`dag.test()`).

Synthetic returns for every council the register expects in 2025-Q1 (30 children each), with a
return that has errors and three hostile files (a zip bomb, a workbook with a formula, a PNG
renamed .xlsx) in place of four councils' returns, and one file named after no council. Then:
every good file stored once, the return with errors stored as rejected, every refused file
quarantined as a reason file, the inbox empty, the outputs audited by the data-quality gate and
published with its Data Docs; a rerun with the same files delivered again changes nothing; and a
run whose compiled tracker loses a council's row between the compile and the audit fails the
audit, so nothing of it is published.

Airflow runs in a subprocess with its own AIRFLOW_HOME (and SQLite metadata) under tmp_path; the
project database is a SQLite file there too.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "2025-Q1"
CHILDREN = 30

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "LSCB_"))}
    home = tmp_path / "airflow"
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        LSCB_DATA_DIR=str(tmp_path / "data"),
        LSCB_DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'lscb.sqlite'}",
        LSCB_DEMO="1",
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    )
    return env


def _run(command: list[str], env: dict[str, str], log: Path) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False)
    log.write_text(completed.stdout + "\n--- stderr\n" + completed.stderr)
    return completed


def _prepare(tmp_path: Path, env: dict[str, str]) -> dict[str, list[str]]:
    data = tmp_path / "data"
    completed = _run(
        [
            sys.executable,
            "-m",
            "lscb.cli",
            "demo",
            "prepare",
            "--period",
            PERIOD,
            "--children",
            str(CHILDREN),
            "--seed",
            "3",
            "--inbox",
            str(data / "inbox"),
            "--staging",
            str(data / "synth"),
        ],
        env,
        tmp_path / "prepare.log",
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    (staged,) = (data / "synth").glob(f"{PERIOD}-x{CHILDREN}-s3")
    files: dict[str, list[str]] = json.loads((staged / "demo-files.json").read_text())
    return files


def _run_quarter(tmp_path: Path, env: dict[str, str], name: str) -> dict:
    completed = _run(
        [sys.executable, "-m", "lscb.cli", "run-quarter", "--period", PERIOD, "--json"], env, tmp_path / f"{name}.log"
    )
    start = completed.stdout.rfind("\n{")
    assert start >= 0, f"no JSON result (exit {completed.returncode}): {completed.stderr[-3000:]}"
    result: dict = json.loads(completed.stdout[start:])
    assert completed.returncode == 0, f"{result}\n{completed.stderr[-3000:]}"
    return result


def _submissions(tmp_path: Path) -> list[tuple[str, int, str, str, int]]:
    with sqlite3.connect(tmp_path / "data" / "lscb.sqlite") as connection:
        return sorted(
            connection.execute(
                "SELECT council_code, version, status, checksum, errors FROM submissions WHERE period = ?", (PERIOD,)
            ).fetchall()
        )


def test_a_national_quarter_through_the_dag_and_a_rerun_that_changes_nothing(tmp_path: Path) -> None:
    from schemas.calendar import Period
    from schemas.register import load_register

    env = _env(tmp_path)
    data = tmp_path / "data"
    files = _prepare(tmp_path, env)
    expected = {council.council_code for council in load_register().expected(Period.parse(PERIOD))}
    assert len(files["good"]) + len(files["rejected"]) + len(files["refused"]) == len(expected) + 1
    assert len(files["rejected"]) == 1 and len(files["refused"]) == 4

    first = _run_quarter(tmp_path, env, "run-1")
    assert first["state"] == "success"
    assert first["tasks"]["process_return"] == {"success": len(expected) - 3, "failed": 4}
    assert first["tasks"]["compile_national"] == {"success": 1}
    assert first["tasks"]["audit_outputs"] == {"success": 1}
    assert first["tasks"]["publish_outputs"] == {"success": 1}
    assert first["tasks"]["summarise"] == {"success": 1}
    assert sorted(label.split("[", 1)[1].rstrip("]") for label in first["failed"]) == sorted(files["refused"])

    stored = _submissions(tmp_path)
    by_council = {code: (version, status, errors) for code, version, status, _, errors in stored}
    assert len(stored) == len(by_council) == len(files["good"]) + len(files["rejected"])  # one version each
    for name in files["good"]:
        assert by_council[name.split("_")[0]][:2] == (1, "accepted"), name
    (rejected,) = files["rejected"]
    version, status, errors = by_council[rejected.split("_")[0]]
    assert (version, status) == (1, "rejected") and errors > 0

    assert [p.name for p in (data / "inbox").iterdir()] == []
    archived = sorted(p.name for p in (data / "archive" / PERIOD).iterdir())
    assert archived == sorted(f"{name}.sealed" for name in files["good"] + files["rejected"])  # sealed at rest
    quarantine = data / "quarantine" / PERIOD
    for name in files["refused"]:
        assert not (quarantine / name).exists(), name  # the reason and the hash, never the file
        reason = (quarantine / f"{name}.reason.txt").read_text().splitlines()[0]
        assert reason and "Traceback" not in reason, name
    published = data / "outputs" / PERIOD
    assert (published / "tracker.csv").is_file() and (published / "league_table.csv").is_file()
    assert (published / "data_docs" / "index.html").is_file(), "the gate's Data Docs were not published"
    assert not (data / "outputs" / ".staging" / PERIOD).exists(), "the staging folder was left behind"

    # The task log never shows a raw identifier: no UPN-shaped or NHS-number-shaped value.
    import re

    log_text = "\n".join(p.read_text(errors="replace") for p in (tmp_path / "airflow").rglob("*.log"))
    log_text += (tmp_path / "run-1.log").read_text(errors="replace")
    assert not re.search(r"\b[A-Z]\d{11}[0-9A-Z]\b", log_text), "a UPN-like value reached a log"

    # Rerun with the same bytes delivered again: nothing new stored, nothing new quarantined.
    _prepare(tmp_path, env)
    second = _run_quarter(tmp_path, env, "run-2")
    assert second["state"] == "success"
    assert _submissions(tmp_path) == stored
    assert [p.name for p in (data / "inbox").iterdir()] == []
    assert sorted(p.name for p in (data / "archive" / PERIOD).iterdir()) == archived
    assert len(list(quarantine.glob("*.reason.txt"))) == len(files["refused"])

    # And a rerun with an empty inbox: the mapped task has nothing to do, the compile still runs.
    third = _run_quarter(tmp_path, env, "run-3")
    assert third["state"] == "success"
    assert "process_return" not in third["tasks"] or set(third["tasks"]["process_return"]) <= {"skipped"}
    assert _submissions(tmp_path) == stored

    # A tracker row lost between the compile and the audit: the audit fails, nothing is published.
    before = {p.name: p.read_bytes() for p in published.iterdir() if p.is_file()}
    completed = _run(
        [sys.executable, "-m", "tests.support.tampered_quarter", PERIOD], env, tmp_path / "run-tampered.log"
    )
    tampered = json.loads(completed.stdout[completed.stdout.rfind("\n{") :])
    assert completed.returncode == 1 and tampered["state"] == "failed", tampered
    assert tampered["tasks"]["compile_national"] == {"success": 1}
    assert tampered["tasks"]["audit_outputs"] == {"failed": 1}, tampered
    assert "success" not in tampered["tasks"].get("publish_outputs", {}), "publication went on"
    assert "success" not in tampered["tasks"].get("summarise", {})
    assert {p.name: p.read_bytes() for p in published.iterdir() if p.is_file()} == before
    staged = data / "outputs" / ".staging" / PERIOD
    assert (staged / "data_docs" / "index.html").is_file(), "the failed audit's Data Docs are not in staging"
    audit_log = "\n".join(p.read_text(errors="replace") for p in (tmp_path / "airflow").rglob("*.log"))
    audit_log += completed.stdout + completed.stderr
    missing = f"tracker.csv: {len(expected) - 1} rows, the register expects {len(expected)} for {PERIOD} "
    assert f"{missing}({min(expected)} missing)" in audit_log, audit_log[-3000:]
    assert str(staged / "data_docs" / "index.html") in audit_log
