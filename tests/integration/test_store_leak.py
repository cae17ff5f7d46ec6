"""Leak test: after synthetic returns go through the store, no raw UPN or NHS number is anywhere:
not in any column of any table, not in the logs (SQL parameters included), not in what the
commands print, and not in any file under the data directory (the SQLite file and its WAL)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, table, text

from lscb.cli import main
from pipeline.receive import store_validated
from schemas.identifiers import normalise_identifier
from store import explain, list_submissions, migrate, sign_off, submission_findings
from store.engine import dispose_engines, get_engine
from store.seed import seed_register
from tests.support.synthetic import raw_identifiers, synthetic_result

SECRET = b"leak test secret"
COUNCILS = ("E06000001", "E08000025", "E09000033")


def _search_strings(raw: list[str]) -> set[str]:
    found = set()
    for value in raw:
        found.add(value)
        found.add(normalise_identifier(value))
        if len(value) == 10 and value.isdigit():  # NHS numbers as councils often write them
            found.add(f"{value[:3]} {value[3:6]} {value[6:]}")
    return found


@pytest.fixture
def leak_db(request: pytest.FixtureRequest, database_url: str, data_dir: Path) -> str:
    """On SQLite the database lives in the data directory, so the file scan covers it."""
    url = database_url
    if url.startswith("sqlite"):
        dispose_engines()
        url = f"sqlite:///{data_dir / 'lscb.sqlite'}"
    migrate.upgrade(url)
    with get_engine(url).begin() as connection:
        seed_register(connection)
    return url


def test_no_raw_identifier_is_stored_logged_or_written(
    leak_db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)  # everything, SQLAlchemy's statements and parameters included
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    dispose_engines()  # new connections pick up the log level
    raw: list[str] = []
    outputs: list[str] = []
    for index, council in enumerate(COUNCILS):
        accepted = synthetic_result(council, "2025-Q1", children=200, seed=index, queries=2)
        rejected = synthetic_result(council, "2025-Q2", children=50, seed=index, errors=3)
        raw += raw_identifiers(accepted) + raw_identifiers(rejected)
        for result in (accepted, rejected, accepted):  # the third is a duplicate
            outcome = store_validated(
                result, council, submitted_by="leak-test", secret=SECRET, engine_or_url=leak_db,
                received_at=datetime(2025, 8, 1, tzinfo=UTC),
            )  # fmt: skip
            outputs.append(json.dumps(outcome.to_json()) + outcome.message)
        explain(council, "2025-Q1", "CHD-23", 2, "explained", "officer", engine_or_url=leak_db)
        explain(council, "2025-Q1", "CHD-23", 3, "explained", "officer", engine_or_url=leak_db)
        sign_off(council, "2025-Q1", "LSCB chair", engine_or_url=leak_db)
        outputs.append(repr(submission_findings(council, "2025-Q2", 1, engine_or_url=leak_db)))
        outputs.append(json.dumps(list_submissions(council, "2025-Q1", engine_or_url=leak_db)))
    monkeypatch.setenv("LSCB_DATABASE_URL", leak_db)
    assert main(["submissions", "--council", COUNCILS[0], "--period", "2025-Q1", "--json"]) == 0
    assert len(raw) > 300
    needles = _search_strings(raw)

    # 1. every value of every column of every table, as text
    hits: list[str] = []
    rows_seen = 0
    with get_engine(leak_db).connect() as connection:
        names = inspect(connection).get_table_names()
        assert {"child_records", "findings", "audit_log", "submissions"} <= set(names)
        for name in names:
            columns = [c["name"] for c in inspect(connection).get_columns(name)]
            query = select(*[text(f'"{c}"') for c in columns]).select_from(table(name))
            for row in connection.execute(query):
                rows_seen += 1
                for value in row:
                    if value is not None and str(value) in needles:
                        hits.append(f"{name}: {value}")
                    elif isinstance(value, str) and any(n in value for n in needles):
                        hits.append(f"{name}: ...")
    assert rows_seen > 3 * 200
    assert hits == []

    # 2. the logs (SQL parameters included) and everything printed
    captured = capsys.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records) + captured.out + captured.err + "\n".join(outputs)
    # the statements really were logged (PostgreSQL writes child rows with COPY, logged by count)
    assert "INSERT INTO child_records" in logged or "COPY child_records" in logged
    assert [n for n in needles if n in logged] == []

    # 3. every file under the data directory (and the test's whole tmp dir)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    if leak_db.startswith("sqlite"):
        assert any(p.name == "lscb.sqlite" for p in files)
    for path in files:
        content = path.read_bytes()
        leaked = [n for n in needles if n.encode() in content]
        assert leaked == [], f"{path} holds raw identifiers"
