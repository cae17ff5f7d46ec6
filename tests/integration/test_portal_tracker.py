"""The portal says what the national tracker says: for a generated history of returns (several
councils, versions rejected, accepted with and without open queries, explained, signed off, on
time and late), the state and lateness on the national page, each council's page and each
return's page are the rows of `tracker.csv` that the compile writes for the period. And a query
about the whole return (no row) is explained through the portal's form, and the return signed off.
"""

from __future__ import annotations

import csv
import html
import random
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lscb.settings import DEMO_KEY
from schemas.calendar import Period
from schemas.lifecycle import TRACKER_LABELS
from schemas.register import load_register
from tests.support.portal import COUNCIL_A, Rig, build_rig, csrf_token, login
from tests.support.synthetic import synthetic_result
from transforms.findings import Finding

HISTORY_COUNCILS = 9
SEED = 11


@pytest.fixture
def rig(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Rig:
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_DEMO", "1")
    return build_rig(tmp_path / "var", database_url=database_url)


def signed_in(rig: Rig, role: str) -> TestClient:
    client = TestClient(rig.app)
    assert login(client, rig.emails[role]).status_code == 303
    return client


def closed_period(today: date) -> Period:
    """A quarter whose deadline is well past, and recent enough for a council's page to list it."""
    period = Period.containing(today)
    while period.deadline + timedelta(days=40) >= today:
        period = period.previous()
    return period


@dataclass
class Version:
    kind: str  # "clean", "queries" or "errors"
    received_at: datetime


def generated_history(rng: random.Random, codes: list[str], period: Period) -> dict[str, tuple[list[Version], str]]:
    """Per council: its versions in the order received, and what happens after ("", "explain",
    "sign_off": explain any open queries, then sign off)."""
    deadline = datetime.combine(period.deadline, time(12), tzinfo=UTC)
    history = {}
    for code in codes:
        count = rng.choice((1, 1, 2, 3))
        offsets = sorted(rng.choice((-1, 1)) * rng.randint(1, 30) for _ in range(count))
        versions = [
            Version(rng.choice(("clean", "queries", "errors")), deadline + timedelta(days=offset, minutes=index))
            for index, offset in enumerate(offsets)
        ]
        history[code] = (versions, rng.choice(("", "", "explain", "sign_off")))
    return history


def store_history(rig: Rig, period: Period, history: dict[str, tuple[list[Version], str]]) -> None:
    from pipeline.receive import store_validated
    from store import explain, list_submissions, sign_off, submission_findings

    for code, (versions, after) in history.items():
        for number, version in enumerate(versions):
            result = synthetic_result(
                code,
                period.code,
                children=3,
                seed=number,
                queries=2 if version.kind == "queries" else 0,
                errors=1 if version.kind == "errors" else 0,
            )
            store_validated(
                result,
                code,
                secret=DEMO_KEY,
                engine_or_url=rig.engine,
                submitted_by="generator",
                received_at=version.received_at,
                claimed_period=period.code,
            )
        stored = list_submissions(code, period.code, engine_or_url=rig.engine)
        if not after or not any(s["current"] for s in stored):
            continue
        for finding in submission_findings(code, period.code, engine_or_url=rig.engine):
            if finding.severity == "Q":
                explain(
                    code,
                    period.code,
                    finding.rule,
                    finding.row,
                    "Checked with the team.",
                    "generator",
                    engine_or_url=rig.engine,
                )
        if after == "sign_off":
            sign_off(code, period.code, "LSCB chair", engine_or_url=rig.engine)


def compiled_tracker(rig: Rig, period: Period, out: Path) -> dict[str, tuple[str, bool]]:
    """council code -> (state as the portal names it, late) from the compile's tracker.csv."""
    from pipeline.compile import compile_period

    compile_period(rig.engine, period, out)
    with (out / "tracker.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["late"] for r in rows} <= {"Y", "N", "x"}
    return {r["new_la_code"]: (TRACKER_LABELS[r["state"]], r["late"] == "Y") for r in rows}


def national_page(client: TestClient, period: Period) -> dict[str, tuple[str, bool]]:
    text = client.get(f"/national/{period.code}").text
    shown = {}
    for code, row in re.findall(r'<tr data-council="([^"]+)">(.*?)</tr>', text, re.DOTALL):
        status = re.search(r"<td data-status>([^<]*)</td>", row)
        assert status is not None, row
        shown[code] = (html.unescape(status[1]).strip(), 'class="tag tag-red">Late<' in row)
    return shown


def council_page(client: TestClient, code: str, period: Period) -> tuple[str, bool]:
    text = client.get(f"/councils/{code}").text
    row = text.split(f'/periods/{period.code}">{period.code}</a>')[1].split("</tr>")[0]
    tags = [html.unescape(t).strip() for t in re.findall(r'<span class="tag [^"]*">([^<]+)</span>', row)]
    return tags[0], "Late" in tags[1:]


def period_page_status(client: TestClient, code: str, period: Period) -> str:
    text = client.get(f"/councils/{code}/periods/{period.code}").text
    status = text.split("<dt>Status</dt><dd>")[1].split("</dd>")[0]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", status)).split())


def test_the_portal_shows_the_compiles_tracker(rig: Rig, tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    period = closed_period(today)
    expected = [c.council_code for c in load_register().expected(period)]
    rng = random.Random(SEED)
    history_codes = sorted(rng.sample(expected, HISTORY_COUNCILS))
    history = generated_history(rng, history_codes, period)
    store_history(rig, period, history)

    compiled = compiled_tracker(rig, period, tmp_path / "outputs")
    assert sorted(compiled) == sorted(expected)
    # the history is worth comparing: every state, and on-time and late returns among them
    received = {code: compiled[code] for code in history_codes}
    assert {state for state, _ in compiled.values()} == set(TRACKER_LABELS.values())
    assert {late for _, late in received.values()} == {True, False}

    analyst = signed_in(rig, "analyst")
    assert national_page(analyst, period) == compiled
    not_received = [code for code in expected if code not in history][:2]
    for code in history_codes + not_received:
        assert council_page(analyst, code, period) == compiled[code], code
        state, late = compiled[code]
        shown = period_page_status(analyst, code, period)
        if code in history:
            assert shown.startswith(state) and ("(late)" in shown) == late, (code, shown, compiled[code])
        else:
            assert shown == "Not received"


def test_a_whole_return_query_is_explained_through_the_form_and_the_return_signed_off(rig: Rig) -> None:
    from pipeline.receive import store_validated
    from store import current_submission

    period = "2025-Q1"
    result = synthetic_result(COUNCIL_A, period, children=3)
    whole_return = Finding(
        rule="PRV-01",
        severity="Q",
        sheet="Activity",
        cell=None,
        field="children_missing",
        local_child_id=None,
        message="children_missing changed by more than half.",
        row=None,
    )
    result = replace(result, findings=[*result.findings, whole_return])
    outcome = store_validated(
        result, COUNCIL_A, secret=DEMO_KEY, engine_or_url=rig.engine, submitted_by="officer", claimed_period=period
    )
    assert outcome.status == "accepted" and outcome.queries == 1

    client = signed_in(rig, "council_a")
    submission = f"/councils/{COUNCIL_A}/submissions/{outcome.submission_id}"
    page = client.get(submission).text
    assert "Version 1: accepted with open queries" in page
    refused = client.post(f"/councils/{COUNCIL_A}/periods/{period}/sign-off", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 409 and "PRV-01 (whole return)" in refused.text

    # the form as the page writes it: the query's rule, and an empty row
    (form,) = re.findall(r'<form method="post" action="([^"]+)" class="explain-form">(.*?)</form>', page, re.DOTALL)
    action, body = form
    fields: dict[str, Any] = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body))
    assert action == f"/councils/{COUNCIL_A}/periods/{period}/explanations"
    assert fields["rule"] == "PRV-01" and fields["row"] == ""
    explained = client.post(action, data={**fields, "text": "A new team counted differently."}, follow_redirects=False)
    assert explained.status_code == 303 and explained.headers["location"] == f"{submission}?outcome=explained"
    page = client.get(submission).text
    assert "A new team counted differently." in page and "Sign off the return" in page

    signed = client.post(
        f"/councils/{COUNCIL_A}/periods/{period}/sign-off",
        data={"csrf_token": csrf_token(page)},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == f"{submission}?outcome=signed_off"
    current = current_submission(COUNCIL_A, period, engine_or_url=rig.engine)
    assert current is not None and current["status"] == "signed_off" and current["unexplained_queries"] == 0
    assert national_page(signed_in(rig, "analyst"), Period.parse(period))[COUNCIL_A][0] == "Signed off"
