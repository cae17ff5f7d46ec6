"""Issue 16 item 3: a UPN or NHS number typed into another column (or used as a child's id) is
never echoed: not by `lscb submit`, not in any table of the store, not on the council's or the
analyst's pages, not in the feedback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, table, text

from lscb.cli import main
from tests.support.hostile import identifiers_in_other_columns
from tests.support.portal import COUNCIL_A, Rig, build_rig, csrf_token, login

PERIOD = "2025-Q1"


def _needles(planted: list[str]) -> set[str]:
    return {value.upper() for value in planted} | {value.upper().replace(" ", "") for value in planted}


def _leaks_in_tables(engine: Engine, needles: set[str]) -> list[str]:
    hits: list[str] = []
    with engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            columns = [c["name"] for c in inspect(connection).get_columns(name)]
            query = select(*[text(f'"{c}"') for c in columns]).select_from(table(name))
            for row in connection.execute(query):
                for value in row:
                    if isinstance(value, str) and any(n in value.upper() for n in needles):
                        hits.append(f"{name}: {value[:60]}")
    return hits


@pytest.fixture
def rig(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Rig:
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_DEMO", "1")
    return build_rig(tmp_path / "var", database_url=database_url)


def test_identifiers_in_other_columns_reach_no_page_and_no_table(rig: Rig, tmp_path: Path) -> None:
    path, planted = identifiers_in_other_columns(tmp_path / "typed.xlsx")
    needles = _needles(planted)
    council = TestClient(rig.app)
    assert login(council, rig.emails["council_a"]).status_code == 303
    csrf = csrf_token(council.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}").text)
    with path.open("rb") as handle:
        answer = council.post(
            f"/councils/{COUNCIL_A}/periods/{PERIOD}/upload",
            data={"csrf_token": csrf},
            files={"file": (path.name, handle)},
            follow_redirects=False,
        )
    assert answer.status_code == 303, answer.text[:300]
    submission = answer.headers["location"].split("?")[0]
    analyst = TestClient(rig.app)
    assert login(analyst, rig.emails["analyst"]).status_code == 303
    pages = {
        "council's version page": council.get(submission),
        "council's period page": council.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}"),
        "council's feedback page": council.get(f"{submission}/feedback.html"),
        "analyst's version page": analyst.get(submission),
    }
    for name, page in pages.items():
        assert page.status_code == 200, name
        assert [n for n in needles if n in page.text.upper()] == [], name
    assert "VAL-02" in pages["council's version page"].text and "CHD-25" in pages["council's version page"].text
    assert _leaks_in_tables(rig.engine, needles) == []


def test_lscb_submit_prints_none_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from store import migrate
    from store.engine import dispose_engines, get_engine

    url = f"sqlite:///{tmp_path / 'lscb.sqlite'}"
    migrate.upgrade(url)
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_DATABASE_URL", url)
    monkeypatch.setenv("LSCB_PSEUDONYMISATION_KEY", "echo test secret")
    path, planted = identifiers_in_other_columns(tmp_path / "typed.xlsx")
    needles = _needles(planted)
    assert main(["submit", str(path), "--council", COUNCIL_A, "--json"]) == 1
    printed = capsys.readouterr()
    outcome = json.loads(printed.out)
    assert outcome["status"] == "rejected"
    assert [n for n in needles if n in (printed.out + printed.err).upper()] == []
    assert main(["submit", str(path), "--council", COUNCIL_A]) in (0, 1)  # a duplicate: said in words
    human = capsys.readouterr()
    assert [n for n in needles if n in (human.out + human.err).upper()] == []
    assert _leaks_in_tables(get_engine(url), needles) == []
    dispose_engines()
