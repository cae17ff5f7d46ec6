"""Provisional X1 (standard §8) over the real store (SQLite and PostgreSQL): the daily run finds a
child closed MOVED_OUT more than 28 days before it and absent from the receiving council's latest
data, both councils see it as provisional on their "children to trace" pages, and it goes when
the child turns up or the quarter decides."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lscb.settings import DEMO_KEY
from pipeline import tracing
from pipeline.receive import submit_file
from schemas.calendar import Period
from store.migrate import ensure_current
from tests.support.portal import build_rig, login
from tests.support.tracing import Q1, Q2, A, B, write_return

CLOSED = date(2025, 6, 10)  # HART-LOST-01 closed MOVED_OUT to B (tests.support.tracing)


def _store(url: str, directory: Path, council: str, period: str, received: date, **options: Any) -> None:
    outcome = submit_file(
        write_return(directory, council, period, **options),
        council,
        secret=DEMO_KEY,
        engine_or_url=url,
        submitted_by="api:test",
        received_at=datetime(received.year, received.month, received.day, 9, tzinfo=UTC),
    )
    assert outcome.status == "accepted", outcome.message


@pytest.fixture
def url(database_url: str, tmp_path: Path) -> str:
    ensure_current(database_url)
    _store(database_url, tmp_path / "returns", B, Q1, date(2025, 7, 1))
    _store(database_url, tmp_path / "returns", A, Q1, CLOSED + timedelta(days=25))  # A sends weekly
    return database_url


def _provisional(url: str, council: str) -> list[tracing.TraceView]:
    return [c for c in tracing.children_to_trace(url, council) if c.provisional]


def test_a_child_closed_29_days_before_the_run_gets_a_provisional_x1_and_27_days_does_not(url: str) -> None:
    assert tracing.provisional_run(url, today=CLOSED + timedelta(days=27))["new"] == 0
    assert _provisional(url, A) == [] and _provisional(url, B) == []
    assert tracing.provisional_run(url, today=CLOSED + timedelta(days=29)) == {"new": 1, "seen_again": 0, "gone": 0}
    (own,) = _provisional(url, A)
    assert own.rule == "X1P" and own.local_child_id == "HART-LOST-01" and own.other_council_code == B
    (receiving,) = _provisional(url, B)
    assert receiving.local_child_id is None and receiving.closed_on == CLOSED
    assert "HART-" not in receiving.message and "Provisional" in receiving.message
    # the other child closed MOVED_OUT (to C, 19 days before) is not yet provisional
    assert tracing.provisional_run(url, today=CLOSED + timedelta(days=30)) == {"new": 0, "seen_again": 1, "gone": 0}


def test_it_disappears_when_the_child_turns_up_in_the_receiving_councils_data(url: str, tmp_path: Path) -> None:
    tracing.provisional_run(url, today=CLOSED + timedelta(days=29))
    _store(url, tmp_path / "later", B, Q2, CLOSED + timedelta(days=35), lost_arrives=True)
    _store(url, tmp_path / "later", A, Q1, CLOSED + timedelta(days=35), variant=1)
    assert tracing.provisional_run(url, today=CLOSED + timedelta(days=36))["gone"] == 1
    assert _provisional(url, A) == [] and _provisional(url, B) == []


def test_it_disappears_when_the_quarter_decides(url: str, tmp_path: Path) -> None:
    tracing.provisional_run(url, today=CLOSED + timedelta(days=29))
    decided = Period.parse(Q2).deadline + timedelta(days=1)  # X1 for Q1 needs Q2: decided now
    _store(url, tmp_path / "later", A, Q1, decided - timedelta(days=1), variant=1)  # still weekly
    assert tracing.provisional_run(url, today=decided)["gone"] == 1
    assert _provisional(url, A) == []


def test_a_council_that_does_not_submit_weekly_gets_none(url: str) -> None:
    assert tracing.provisional_run(url, today=CLOSED + timedelta(days=40))["new"] == 0  # A's last was 15 days ago


def test_both_councils_pages_show_it_as_provisional(url: str, tmp_path: Path) -> None:
    tracing.provisional_run(url, today=CLOSED + timedelta(days=29))
    rig = build_rig(tmp_path / "var", database_url=url)
    for who, council in (("council_a", A), ("council_b", B)):
        http = TestClient(rig.app)
        assert login(http, rig.emails[who]).status_code == 303
        page = http.get(f"/councils/{council}/children-to-trace")
        assert page.status_code == 200
        assert "X1P" in page.text and "data-provisional" in page.text
        if council == B:
            assert "HART-" not in page.text
