"""Children to trace over the real store (SQLite and PostgreSQL): returns stored through
`submit_file`, compiled by `compile_period`, followed up through `pipeline.tracing`, the portal
and `lscb findings`.

- a case keeps its identity, its row and its status across recompiles; one that goes away is
  marked not present (not deleted) and, when it comes back, is the same case, not a new one;
- the workflow (acknowledge, resolve, reopen) and its audit rows;
- the gap report's findings_open_over_28_days;
- a council never sees another council's local_child_id: not on any of its pages, not in the CLI.
"""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lscb.cli import main
from lscb.settings import DEMO_KEY
from pipeline import tracing
from store.models import AuditEntry
from store.queries import StoreError, orm_all
from store.tracing import TracedFinding
from tests.support.portal import build_rig, csrf_token, login
from tests.support.tracing import A_IDS, B_IDS, Q1, Q2, TODAY, A, B, C, World, build_world, store_return


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> World:
    return build_world(database_url, tmp_path, DEMO_KEY)


def rows(world: World) -> list[TracedFinding]:
    from store.engine import get_engine

    with get_engine(world.url).connect() as connection:
        return orm_all(connection, select(TracedFinding).order_by(TracedFinding.id))


def case(world: World, council: str, rule: str, own_id: str | None) -> tracing.TraceView:
    found = [c for c in tracing.children_to_trace(world.url, council) if c.rule == rule and c.local_child_id == own_id]
    assert len(found) == 1, found
    return found[0]


def audit(world: World, prefix: str = "trace_") -> list[AuditEntry]:
    from store.engine import get_engine

    with get_engine(world.url).connect() as connection:
        entries = connection.execute(select(AuditEntry).order_by(AuditEntry.id)).all()
    return [e for e in entries if e.action.startswith(prefix)]


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


# ---- identity across recompiles ---------------------------------------------------------------


def test_a_resolved_case_stays_resolved_and_keeps_its_identity_across_recompiles(world: World) -> None:
    world.compile(Q1, TODAY)
    first = {r.identity: r for r in rows(world)}
    assert {(r.rule, r.from_council_code, r.to_council_code) for r in first.values()} == {
        ("X1", A, B),
        ("X1", A, C),
        ("X2", A, B),
        ("X2", B, A),
        ("X5", A, B),
    }
    lost = case(world, B, "X1", None)  # B holds no record of the child A lost
    tracing.resolve(world.url, lost.id, B, "not-ours", by="officer@middlesbrough.example.gov.uk", note="not known here")

    world.compile(Q1, TODAY + timedelta(days=10))
    world.compile(Q2, TODAY + timedelta(days=20))  # a later period: the 2025-Q1 cases are found again
    again = {r.identity: r for r in rows(world)}
    assert set(again) == set(first)  # nothing new: the same cases
    for identity, row in again.items():
        assert row.id == first[identity].id and row.present
        assert row.first_seen_on == TODAY and row.first_seen_period == Q1
        assert row.last_seen_on == TODAY + timedelta(days=20) and row.last_seen_period == Q2
    resolved = [r for r in again.values() if r.status == "resolved"]
    assert [(r.id, r.resolution, r.resolved_by) for r in resolved] == [
        (lost.id, "not_ours", "officer@middlesbrough.example.gov.uk")
    ]
    assert case(world, A, "X1", "HART-LOST-01").status == "resolved"  # both councils see one status
    compiles = [e.detail for e in audit(world, "trace_compile")]
    assert compiles[0] == {"new": 5, "seen_again": 0, "back": 0, "no_longer_found": 0}
    assert compiles[1:] == [{"new": 0, "seen_again": 5, "back": 0, "no_longer_found": 0}] * 2


def test_a_case_that_goes_away_is_kept_and_when_it_comes_back_it_is_not_new(world: World) -> None:
    world.compile(Q1, TODAY)
    lost = case(world, A, "X1", "HART-LOST-01")
    tracing.acknowledge(world.url, lost.id, A, by="officer@hartlepool.example.gov.uk", note="asking the school")

    # B's corrected 2025-Q2 return has the child: the X1 is no longer found
    store_return(world.url, world.directory / "returns", B, Q2, DEMO_KEY, lost_arrives=True)
    world.compile(Q1, TODAY + timedelta(days=5))
    gone = {r.id: r for r in rows(world)}[lost.id]
    assert not gone.present and gone.status == "acknowledged"
    assert len(rows(world)) == 5  # kept, not deleted
    assert not case(world, A, "X1", "HART-LOST-01").present

    # and B's next correction leaves the child out again: the same case is back, not a new one
    store_return(world.url, world.directory / "returns", B, Q2, DEMO_KEY, variant=1)
    world.compile(Q1, TODAY + timedelta(days=9))
    back = {r.id: r for r in rows(world)}[lost.id]
    assert back.present and back.status == "acknowledged" and back.first_seen_on == TODAY
    assert back.note == "asking the school"
    assert len(rows(world)) == 5
    assert [e.detail for e in audit(world, "trace_compile")][1:] == [
        {"new": 0, "seen_again": 4, "back": 0, "no_longer_found": 1},
        {"new": 0, "seen_again": 5, "back": 1, "no_longer_found": 0},
    ]


def test_an_early_compile_does_not_forget_an_undecided_x1(world: World) -> None:
    """Before 2025-Q2's deadline X1 for 2025-Q1 is not decided: not finding it then is no news."""
    world.compile(Q1, TODAY)
    world.compile(Q1, date(2025, 10, 1))
    x1 = [r for r in rows(world) if r.rule == "X1"]
    assert len(x1) == 2 and all(r.present for r in x1)


# ---- the workflow -------------------------------------------------------------------------------


def test_workflow_transitions_and_their_audit_rows(world: World) -> None:
    world.compile(Q1, TODAY)
    lost = case(world, A, "X1", "HART-LOST-01")
    hart, midd = "officer@hartlepool.example.gov.uk", "officer@middlesbrough.example.gov.uk"

    assert tracing.acknowledge(world.url, lost.id, A, by=hart).status == "acknowledged"
    with pytest.raises(StoreError, match="cannot be acknowledged"):
        tracing.acknowledge(world.url, lost.id, B, by=midd)
    with pytest.raises(StoreError, match="note"):
        tracing.resolve(world.url, lost.id, B, "other", by=midd)  # "other" says how in a note
    with pytest.raises(StoreError, match="resolution"):
        tracing.resolve(world.url, lost.id, B, "lost", by=midd)
    with pytest.raises(StoreError, match="no child to trace numbered"):
        tracing.resolve(world.url, lost.id, C, "found", by="officer@redcar.example.gov.uk")  # not C's case
    x2 = case(world, A, "X2", "HART-BOTH-02")
    with pytest.raises(StoreError, match="no child to trace numbered"):
        tracing.acknowledge(world.url, x2.id, B, by=midd)  # X2 goes to the council that never closed it

    done = tracing.resolve(world.url, lost.id, B, "found", by=midd, note="Recorded as MIDD-NEW-09")
    assert (done.status, done.resolution, done.resolution_label) == ("resolved", "found_recorded", "Found and recorded")
    with pytest.raises(StoreError, match="cannot be resolved"):
        tracing.resolve(world.url, lost.id, A, "found", by=hart)
    reopened = tracing.reopen(world.url, lost.id, A, by=hart, note="not the same child")
    assert (reopened.status, reopened.resolution, reopened.resolved_by) == ("open", None, None)

    entries = audit(world)
    moves = [
        (e.action, e.actor, e.council_code, e.detail["from_status"], e.detail["to_status"])
        for e in entries
        if e.action != "trace_compile"
    ]
    assert moves == [
        ("trace_acknowledge", hart, A, "open", "acknowledged"),
        ("trace_resolve", midd, B, "acknowledged", "resolved"),
        ("trace_reopen", hart, A, "resolved", "open"),
    ]
    assert all(e.detail["trace_id"] == lost.id and e.period == Q1 for e in entries if e.action != "trace_compile")
    assert [e.detail["resolution"] for e in entries if e.action == "trace_resolve"] == ["found_recorded"]
    # the notes are on the case, not in the log (a note is free text)
    assert not any("MIDD-NEW-09" in json.dumps(e.detail) or "same child" in json.dumps(e.detail) for e in entries)


def test_the_analysts_summary_counts_and_ages(world: World) -> None:
    world.compile(Q1, TODAY)
    lost = case(world, A, "X1", "HART-LOST-01")
    tracing.resolve(world.url, lost.id, B, "found", by="officer@middlesbrough.example.gov.uk")
    summary = tracing.tracing_summary(world.url, TODAY + timedelta(days=40))
    councils = {r["council_code"]: r for r in summary.councils}
    assert {code: (r["open"], r["resolved"], r["over_28_days"]) for code, r in councils.items()} == {
        A: (3, 1, 3),
        B: (2, 1, 2),
        C: (1, 0, 1),
    }
    assert councils[A]["oldest_open_days"] == 40 and councils[A]["council_name"] == "Hartlepool"
    pairs = {(r["from_council_code"], r["to_council_code"]): r for r in summary.pairs}
    assert {k: (r["open"], r["resolved"]) for k, r in pairs.items()} == {
        (A, B): (2, 1),
        (A, C): (1, 0),
        (B, A): (1, 0),
    }
    assert pairs[(A, B)]["median_days_to_resolve"] is not None


# ---- the gap report -----------------------------------------------------------------------------


def test_gap_report_lists_findings_open_longer_than_28_days(world: World) -> None:
    def over(outcome: Any) -> dict[str, str]:
        found = read_csv(outcome.paths["gaps"])
        return {r["new_la_code"]: r["findings_open_over_28_days"] for r in found if r["new_la_code"] in (A, B, C)}

    assert over(world.compile(Q1, TODAY)) == {A: "0", B: "0", C: "0"}
    assert over(world.compile(Q1, TODAY + timedelta(days=28))) == {A: "0", B: "0", C: "0"}  # not longer than 28
    lost = case(world, A, "X1", "HART-LOST-01")
    tracing.acknowledge(world.url, lost.id, A, by="officer@hartlepool.example.gov.uk")  # still not resolved
    assert over(world.compile(Q1, TODAY + timedelta(days=29))) == {A: "4", B: "3", C: "1"}
    tracing.resolve(world.url, lost.id, B, "found", by="officer@middlesbrough.example.gov.uk")
    assert over(world.compile(Q1, TODAY + timedelta(days=30))) == {A: "3", B: "2", C: "1"}


# ---- one council never sees another's ids -------------------------------------------------------


def test_council_b_never_sees_council_a_ids_on_a_page_or_in_the_cli(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.compile(Q1, TODAY)
    # A writes its own id into a note B can read: B still does not get it
    lost = case(world, A, "X1", "HART-LOST-01")
    tracing.acknowledge(
        world.url,
        lost.id,
        A,
        by="officer@hartlepool.example.gov.uk",
        note="HART-LOST-01 left with her mother; hart-lost-01 is our reference",
    )

    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_DEMO", "1")
    rig = build_rig(tmp_path / "var", database_url=world.url)
    b = TestClient(rig.app)
    assert login(b, rig.emails["council_b"]).status_code == 303
    seen: dict[str, str] = {}
    for path in (
        f"/councils/{B}",
        f"/councils/{B}/children-to-trace",
        *(f"/councils/{B}/children-to-trace?status={s}" for s in ("open", "acknowledged", "resolved")),
        f"/councils/{B}/periods/{Q1}",
        f"/councils/{B}/periods/{Q2}",
        *(f"/councils/{B}/submissions/{s.id}" for p in (Q1, Q2) for s in rig.service.list_submissions(B, p)),
    ):
        response = b.get(path)
        assert response.status_code == 200, path
        seen[path] = response.text
    listing = seen[f"/councils/{B}/children-to-trace"]
    assert "Hartlepool (E06000001)" in listing and "10 June 2025" in listing and "March 2011" in listing
    assert "left with her mother" in listing and "our reference" in listing
    # B acts on the case through the form, then reads the page again
    token = csrf_token(listing)
    moved = b.post(
        f"/councils/{B}/children-to-trace/resolve",
        data={
            "csrf_token": token,
            "trace_id": str(lost.id),
            "resolution": "found_recorded",
            "note": "Recorded as MIDD-NEW-09",
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303 and "outcome=resolved" in moved.headers["location"]
    seen["after"] = b.get(moved.headers["location"]).text
    assert "The case is resolved" in seen["after"] and "Found and recorded" in seen["after"]
    for path, text in seen.items():
        for own in A_IDS:
            assert own.lower() not in text.lower(), (path, own)

    monkeypatch.setenv("LSCB_DATABASE_URL", world.url)
    for argv in (
        ["findings", "--council", B],
        ["findings", "--council", B, "--json"],
        ["findings", "--council", B, "--period", Q1, "--status", "resolved", "--json"],
        ["findings", "reopen", "--id", str(lost.id), "--council", B, "--json"],
        ["findings", "acknowledge", "--id", str(lost.id), "--council", B],
    ):
        assert main(argv) == 0, argv
    out = capsys.readouterr().out
    assert "Hartlepool" in out and "MIDD-BOTH-07" in out
    for own in A_IDS:
        assert own.lower() not in out.lower(), own
    # and the other way round: A sees its ids, never B's
    assert main(["findings", "--council", A, "--json"]) == 0
    a_out = capsys.readouterr().out
    assert "HART-LOST-01" in a_out and not any(other in a_out for other in B_IDS)
    assert "MIDD-NEW-09" in a_out  # B's note names B's own new record: that is B's to share
    assert "closed_on" in a_out and '"closed_on": null' in a_out  # A's own records: no "look for" details


def test_cli_refusals_are_one_line(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.compile(Q1, TODAY)
    monkeypatch.setenv("LSCB_DATABASE_URL", world.url)
    assert main(["findings"]) == 2
    assert main(["findings", "--council", "E06999999"]) == 2
    assert main(["findings", "resolve", "--id", "999", "--council", A, "--resolution", "found"]) == 2
    err = capsys.readouterr().err
    assert "name the council" in err and "no child to trace numbered 999" in err and "Traceback" not in err
    assert main(["findings", "summary", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {r["council_code"] for r in summary["councils"]} == {A, B, C}


def test_the_portal_forms_need_the_sessions_token_and_the_councils_own_case(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.compile(Q1, TODAY)
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_DEMO", "1")
    rig = build_rig(tmp_path / "var", database_url=world.url)
    a = TestClient(rig.app)
    assert login(a, rig.emails["council_a"]).status_code == 303
    token = csrf_token(a.get(f"/councils/{A}/children-to-trace").text)
    lost = case(world, A, "X1", "HART-LOST-01")
    not_told = case(world, B, "X2", "MIDD-BOTH-07")  # B's X2: A is not told about it
    before = [(r.id, r.status) for r in rows(world)]

    def post(council: str, action: str, **data: Any) -> Any:
        return a.post(f"/councils/{council}/children-to-trace/{action}", data=data, follow_redirects=False)

    assert post(A, "acknowledge", csrf_token="forged", trace_id=lost.id).status_code == 403
    missing = post(A, "acknowledge", csrf_token=token, trace_id=999_999)
    foreign = post(A, "acknowledge", csrf_token=token, trace_id=not_told.id)
    assert missing.status_code == foreign.status_code == 404 and missing.text == foreign.text
    assert post(B, "acknowledge", csrf_token=token, trace_id=not_told.id).status_code == 404
    assert post(A, "resolve", csrf_token=token, trace_id="").status_code == 404
    assert [(r.id, r.status) for r in rows(world)] == before  # nothing moved

    assert post(A, "acknowledge", csrf_token=token, trace_id=lost.id).status_code == 303
    again = post(A, "acknowledge", csrf_token=token, trace_id=lost.id)
    assert again.status_code == 409 and "cannot be acknowledged" in again.text
    other = post(A, "resolve", csrf_token=token, trace_id=lost.id, resolution="other")
    assert other.status_code == 409 and "note" in other.text
    assert post(A, "reopen", csrf_token=token, trace_id=lost.id).status_code == 303
    assert [e.action for e in audit(world) if e.action != "trace_compile"] == ["trace_acknowledge", "trace_reopen"]

    analyst = TestClient(rig.app)
    assert login(analyst, rig.emails["analyst"]).status_code == 303
    page = analyst.get(f"/councils/{A}/children-to-trace").text
    assert "HART-LOST-01" in page and "Acknowledge</button>" not in page and "Resolve</button>" not in page
    national = analyst.get("/national/children-to-trace")
    assert national.status_code == 200 and f'data-pair="{A}-{B}"' in national.text
    assert "HART-" not in national.text and "MIDD-" not in national.text  # counts, never a child's id
    assert a.get("/national/children-to-trace").status_code == 404
