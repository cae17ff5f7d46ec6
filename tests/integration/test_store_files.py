"""Real files through `lscb submit`: safe ingest, validation, pseudonymisation and storage, on
SQLite and PostgreSQL; and the leak check again on that full path."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from builders import children_rows, sample_about, sample_activity, sample_strategy, write_xlsx_return
from sqlalchemy import inspect, select, table, text

from lscb.cli import main
from store import list_submissions
from store.engine import dispose_engines, get_engine
from tests.support.synthetic import synthetic_nhs_number, synthetic_upn

COUNCIL, PERIOD = "E06000001", "2025-Q1"


def _children(count: int, seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    rng = random.Random(seed)
    rows = children_rows(count)
    raw: list[str] = []
    for i, row in enumerate(rows):
        upn, nhs = synthetic_upn(rng, "805"), synthetic_nhs_number(rng)
        row["upn"] = upn if i % 3 != 2 else None
        row["nhs_number"] = nhs if i % 3 != 0 else None
        row["no_id_reason"] = None
        if i % 3 == 1:
            row["nhs_number"] = f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}"  # as councils often type it
        raw += [v for v in (row["upn"], row["nhs_number"]) if v]
    return rows, raw


def _workbook(path: Path, count: int, seed: int, **about: Any) -> list[str]:
    children, raw = _children(count, seed)
    write_xlsx_return(
        path,
        sample_about(**about),
        sample_strategy(),
        sample_activity(children_newly_identified=count, children_open_at_end=count),
        children,
    )
    return raw


@pytest.fixture
def env(migrated_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    data = tmp_path / "var"
    url = migrated_url
    if url.startswith("sqlite"):  # keep the database inside the data dir, so the file scan covers it
        from store import migrate

        dispose_engines()
        url = f"sqlite:///{data / 'lscb.sqlite'}"
        migrate.upgrade(url)
    monkeypatch.setenv("LSCB_DATA_DIR", str(data))
    monkeypatch.setenv("LSCB_DATABASE_URL", url)
    monkeypatch.setenv("LSCB_PSEUDONYMISATION_KEY", "files test secret")
    return url


def _submit(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["submit", str(path), "--council", COUNCIL, "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_real_returns_through_lscb_submit(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "hartlepool_2025-Q1.xlsx"
    raw = _workbook(first, 30, seed=1)
    code, outcome = _submit(capsys, first, "--by", "officer")
    assert code == 0, outcome
    assert (outcome["status"], outcome["version"], outcome["period"]) == ("accepted", 1, PERIOD)

    code, outcome = _submit(capsys, first)
    assert code == 0 and outcome["status"] == "duplicate" and "already received as version 1" in outcome["message"]

    wrong = tmp_path / "for-another-council.xlsx"
    raw += _workbook(wrong, 5, seed=2, council_code="E06000002", la_number="806")
    code, outcome = _submit(capsys, wrong)  # another council's file: refused, nothing of it stored
    assert code == 2 and outcome["status"] == "refused" and outcome["refusal"] == "REF-COUNCIL"
    assert outcome["version"] is None and outcome["findings"] == []

    second = tmp_path / "hartlepool_2025-Q1_v3.xlsx"
    raw += _workbook(second, 40, seed=3)
    code, outcome = _submit(capsys, second, "--period", PERIOD)
    assert code == 0 and outcome["version"] == 2

    refused = tmp_path / "notes.txt"
    refused.write_text("not a return")
    code, outcome = _submit(capsys, refused)
    assert code == 2 and outcome["status"] == "refused" and outcome["refusal"] == "REF-FORMAT"

    rows = list_submissions(COUNCIL, PERIOD, engine_or_url=env)
    assert [(r["version"], r["status"], r["current"]) for r in rows] == [
        (1, "accepted", False),
        (2, "accepted", True),
    ]
    with get_engine(env).connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM child_records")).scalar_one()
        keys = connection.execute(text("SELECT count(upn_key), count(nhs_key) FROM child_records")).one()
    assert stored == 70 and keys == (47, 46)

    # no raw identifier anywhere: tables, and every file under the data dir and tmp dir
    needles = {v for r in raw for v in (r, r.replace(" ", ""))}
    with get_engine(env).connect() as connection:
        for name in inspect(connection).get_table_names():
            columns = [c["name"] for c in inspect(connection).get_columns(name)]
            for row in connection.execute(select(*[text(f'"{c}"') for c in columns]).select_from(table(name))):
                assert not [v for v in row if isinstance(v, str) and any(n in v for n in needles)], name
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix != ".xlsx":  # the uploads themselves hold them, of course
            content = path.read_bytes()
            assert [n for n in needles if n.encode() in content] == [], path
