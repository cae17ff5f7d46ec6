"""X6, the whole picture, over the real store (SQLite and PostgreSQL): returns stored through
`submit_file`, compiled by `compile_period`, and followed up by the council now responsible
through `pipeline.tracing`, the portal and `lscb findings`.

The world: Hartlepool (A) records HART-PIC-01 in 2025-Q1 with an STI, two missing episodes and no
return interview offered, at HIGH risk, and closes the case as MOVED_OUT to Middlesbrough (B). B
opens the same child (same UPN) in 2025-Q2 as MIDD-PIC-05, at MEDIUM risk, with none of it. B is
told, by its own id; A is told nothing; analysts see counts only. Every id of A starts `HART-`.
"""

from __future__ import annotations

import csv
import email
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lscb.cli import main
from lscb.settings import DEMO_KEY
from pipeline import tracing
from schemas.register import load_register
from store.queries import StoreError, orm_all
from store.tracing import TracedFinding
from tests.builders import sample_about, sample_activity, sample_child, sample_strategy, write_csv_bundle
from tests.support.portal import build_rig, login
from tests.support.synthetic import synthetic_upn

A, B = "E06000001", "E06000002"  # Hartlepool, Middlesbrough
Q1, Q2 = "2025-Q1", "2025-Q2"
TODAY = date(2025, 11, 20)  # 2025-Q2's compile, after its deadline
A_IDS = ("HART-PIC-01", "HART-OWN-02")
_rng = random.Random("whole-picture")  # noqa: S311 - made-up identifiers
UPN = synthetic_upn(_rng, "805")


def _child(local_id: str, number: int, **fields: Any) -> dict[str, Any]:
    values = sample_child(number, local_child_id=local_id, **fields)
    if values.get("upn"):
        values["no_id_reason"] = None
    return values


def _children(council: str, period: str) -> list[dict[str, Any]]:
    if (council, period) == (A, Q1):
        return [
            _child("HART-PIC-01", 1, upn=UPN, identified_on=date(2025, 4, 3), ind_sti="Y", ind_missing="Y",
                   missing_episodes=2, return_interview_offered="N", risk_level="HIGH", referred_to_police="Y",
                   closed_on=date(2025, 6, 10), closure_reason="MOVED_OUT", moved_to_council=B),
            _child("HART-OWN-02", 2, identified_on=date(2025, 4, 9)),
        ]  # fmt: skip
    if (council, period) == (B, Q2):
        return [
            _child("MIDD-PIC-05", 5, upn=UPN, identified_on=date(2025, 7, 15), moved_from_council=A),
            _child("MIDD-OWN-01", 1, identified_on=date(2025, 4, 9)),
        ]
    return [
        _child(
            f"{'HART' if council == A else 'MIDD'}-OWN-0{2 if council == A else 1}", 1, identified_on=date(2025, 4, 9)
        )
    ]


def _store(url: str, directory: Path, council: str, period: str) -> None:
    from pipeline.receive import submit_file

    rows = _children(council, period)
    start = date(2025, 4, 1) if period == Q1 else date(2025, 7, 1)
    about = sample_about(
        council_code=council, la_number=load_register().get(council).la_number, period=period,
        signed_off_by=None, signed_off_on=None,
    )  # fmt: skip
    activity = sample_activity(
        children_newly_identified=sum(1 for r in rows if r["identified_on"] >= start),
        children_open_at_end=sum(1 for r in rows if not r.get("closed_on")),
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = write_csv_bundle(directory / f"{council}-{period}.zip", about, sample_strategy(), activity, rows)
    outcome = submit_file(path, council, secret=DEMO_KEY, engine_or_url=url, submitted_by=f"officer@{council}.example")
    assert outcome.status in ("accepted", "signed_off"), outcome.message


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> dict[str, Any]:
    from store.migrate import ensure_current

    ensure_current(database_url)
    for council, period in ((A, Q1), (A, Q2), (B, Q1), (B, Q2)):
        _store(database_url, tmp_path / "returns", council, period)
    return {"url": database_url, "dir": tmp_path}


def compile_q2(world: dict[str, Any], today: date = TODAY) -> Any:
    from pipeline.compile import compile_period
    from schemas.calendar import Period

    return compile_period(world["url"], Period.parse(Q2), world["dir"] / f"out-{today}", today=today)


def traced(world: dict[str, Any]) -> list[TracedFinding]:
    from store.engine import get_engine

    with get_engine(world["url"]).connect() as connection:
        return orm_all(connection, select(TracedFinding).order_by(TracedFinding.id))


def read_csv(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_the_council_now_responsible_is_told_by_its_own_id_and_the_other_council_nothing(
    world: dict[str, Any],
) -> None:
    outcome = compile_q2(world)
    assert outcome.findings["X6"] == 1
    (row,) = [r for r in traced(world) if r.rule == "X6"]
    assert (row.period, row.to_council_code, row.to_local_child_id) == (Q2, B, "MIDD-PIC-05")
    assert row.from_council_code == A and row.from_local_child_id is None
    assert "HART-" not in json.dumps(row.picture)
    assert row.picture["signs"] == ["indicators", "missing", "risk", "no_return_interview"]

    (case,) = [c for c in tracing.children_to_trace(world["url"], B) if c.rule == "X6"]
    assert case.local_child_id == "MIDD-PIC-05" and case.other_councils == ("Hartlepool",)
    assert case.picture_lines == (
        "Going missing recorded by Hartlepool in 2025-Q1",
        "Sexually transmitted infection recorded by Hartlepool in 2025-Q1",
        "2 missing episodes recorded by Hartlepool in 2025-Q1",
        "Risk assessed as high by Hartlepool in 2025-Q1 (medium in your return)",
        "No return interview offered after missing episodes: Hartlepool in 2025-Q1",
    )
    assert "MIDD-PIC-05" in case.message and "Hartlepool" in case.message
    assert [c for c in tracing.children_to_trace(world["url"], A) if c.rule == "X6"] == []
    assert [c.rule for c in tracing.children_to_trace(world["url"], B, whole_picture=False)] == []

    # the analysts' outputs count it per council and region, and name no child
    counts = {r["new_la_code"] or r["region_code"] or "England": r for r in read_csv(outcome.paths["whole_picture"])}
    assert counts[B]["children_whole_picture"] == "1" and counts[A]["children_whole_picture"] == "0"
    assert counts["England"]["children_whole_picture"] == "1"
    assert counts[load_register().get(B).region_code]["children_whole_picture"] == "1"
    for name in ("council_findings", "cross_council_findings", "cross_council"):
        assert not [r for r in read_csv(outcome.paths[name]) if r.get("rule") == "X6"], name


def test_the_workflow_and_the_gap_report_age_an_x6_like_any_case(world: dict[str, Any]) -> None:
    compile_q2(world)
    (case,) = [c for c in tracing.children_to_trace(world["url"], B) if c.rule == "X6"]
    assert set(case.resolutions) == {"already_known", "acted_on", "not_ours", "other"}
    with pytest.raises(StoreError, match="no child to trace numbered"):
        tracing.acknowledge(world["url"], case.id, A, by="officer@hartlepool.example")  # not A's case
    with pytest.raises(StoreError, match="X6 case is resolved as one of"):
        tracing.resolve(world["url"], case.id, B, "found", by="officer@middlesbrough.example")
    tracing.acknowledge(world["url"], case.id, B, by="officer@middlesbrough.example", note="asking Hartlepool")

    later = compile_q2(world, TODAY + timedelta(days=29))
    gaps = {r["new_la_code"]: r["findings_open_over_28_days"] for r in read_csv(later.paths["gaps"])}
    assert gaps[B] == "1" and gaps[A] == "0"
    summary = tracing.tracing_summary(world["url"], TODAY + timedelta(days=29))
    england = [r for r in summary.whole_picture if r["region_name"] == "England"][0]
    assert (england["open"], england["acknowledged"], england["over_28_days"]) == (1, 1, 1)
    assert not [p for p in summary.pairs if p["to_council_code"] == B and p["from_council_code"] == A]

    done = tracing.resolve(
        world["url"], case.id, B, "acted-on", by="officer@middlesbrough.example", note="strategy meeting held"
    )
    assert (done.status, done.resolution_label) == ("resolved", "Acted on (for example, a strategy meeting held)")
    again = compile_q2(world, TODAY + timedelta(days=30))  # found again: the same case, still resolved
    (row,) = [r for r in traced(world) if r.rule == "X6"]
    assert row.id == case.id and row.status == "resolved" and row.note == "strategy meeting held"
    gaps = {r["new_la_code"]: r["findings_open_over_28_days"] for r in read_csv(again.paths["gaps"])}
    assert gaps[B] == "0"


def test_nothing_a_user_of_either_council_can_reach_holds_the_other_councils_ids_or_an_identifier(
    world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lscb.mail import OutboxMailer
    from pipeline.chase import notify_new_findings
    from store.chasing import add_contact
    from store.engine import get_engine

    compile_q2(world)
    engine = get_engine(world["url"])
    for code in (A, B):
        add_contact(engine, code, f"trace@{code.lower()}.example.gov.uk", name=None, by="admin")
    outbox = tmp_path / "outbox"
    told = notify_new_findings(engine, TODAY, OutboxMailer(outbox, "lscb@localhost"), portal_url="http://portal")
    assert told.sent == [B]  # the only new case is B's X6: A hears nothing
    mails = [email.message_from_bytes(p.read_bytes()) for p in sorted(outbox.glob("*.eml"))]
    mail_text = "\n".join(
        part.get_payload(decode=True).decode() for m in mails for part in m.walk() if not part.is_multipart()
    )

    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_DEMO", "1")
    rig = build_rig(tmp_path / "var", database_url=world["url"])
    seen: dict[str, str] = {"mail to B": mail_text}
    for key, code in (("council_a", A), ("council_b", B)):
        client = TestClient(rig.app)
        assert login(client, rig.emails[key]).status_code == 303
        paths = [
            f"/councils/{code}",
            f"/councils/{code}/children-to-trace",
            *(f"/councils/{code}/children-to-trace?status={s}" for s in ("open", "acknowledged", "resolved")),
            *(f"/councils/{code}/periods/{p}" for p in (Q1, Q2)),
        ]
        for p in (Q1, Q2):
            for s in rig.service.list_submissions(code, p):
                paths += [f"/councils/{code}/submissions/{s.id}"] + [
                    f"/councils/{code}/submissions/{s.id}/feedback.{fmt}" for fmt in ("html", "xlsx")
                ]
        for path in paths:
            response = client.get(path)
            # feedback of a version not uploaded through the portal: a page saying so
            feedback = "/feedback." in path and "not uploaded through the portal" in response.text
            assert response.status_code == 200 or (feedback and response.status_code == 503), (key, path)
            seen[f"{key} {path}"] = response.text
    b_page = seen[f"council_b /councils/{B}/children-to-trace"]
    assert "MIDD-PIC-05" in b_page and "Sexually transmitted infection recorded by Hartlepool in 2025-Q1" in b_page
    assert (
        "0 cases" in seen[f"council_a /councils/{A}/children-to-trace"]
        and "data-case=" not in seen[f"council_a /councils/{A}/children-to-trace"]
    )

    monkeypatch.setenv("LSCB_DATABASE_URL", world["url"])
    for code in (A, B):
        for argv in (["findings", "--council", code], ["findings", "--council", code, "--json"]):
            assert main(argv) == 0
            seen[" ".join(argv)] = capsys.readouterr().out
    assert "Sexually transmitted infection recorded by Hartlepool" in seen[f"findings --council {B}"]
    assert '"rule": "X6"' not in seen[f"findings --council {A} --json"]

    for where, text in seen.items():
        if where.startswith(("council_b", "mail", f"findings --council {B}")):
            for own in A_IDS:
                assert own.lower() not in text.lower(), (where, own)
        assert UPN not in text and UPN.lower() not in text.lower(), where

    analyst = TestClient(rig.app)
    assert login(analyst, rig.emails["analyst"]).status_code == 303
    page = analyst.get(f"/councils/{B}/children-to-trace").text
    assert "MIDD-PIC-05" not in page and "data-pictures-withheld" in page
    national = analyst.get("/national/children-to-trace").text
    assert 'data-region="england"' in national and "MIDD-" not in national and "HART-" not in national
