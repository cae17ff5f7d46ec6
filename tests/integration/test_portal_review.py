"""The query workflow through the portal, over the real store: an analyst rejects an explanation,
the council reads why and explains again, the analyst accepts it, raises a query of their own,
the council explains it and signs off, the analyst reopens the return and the council is told on
its pages and signs off again, with the history shown. Only analysts reach the review forms
(council users and admins get 404), only councils explain and sign off, every form is
CSRF-checked; the audit page is for analysts and admins, filtered and paged, nothing
child-level on it."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lscb.settings import DEMO_KEY
from pipeline.receive import store_validated
from store import current_submission, explain, sign_off, sign_off_history
from tests.support.portal import COUNCIL_A, COUNCIL_B, Rig, build_rig, csrf_token, login
from tests.support.synthetic import synthetic_result

PERIOD = "2025-Q1"
REVIEW = f"/councils/{COUNCIL_A}/periods/{PERIOD}/review"


@pytest.fixture
def rig(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Rig:
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_DEMO", "1")
    return build_rig(tmp_path / "var", database_url=database_url)


def signed_in(rig: Rig, role: str) -> TestClient:
    client = TestClient(rig.app)
    assert login(client, rig.emails[role]).status_code == 303
    return client


def stored(rig: Rig, council: str = COUNCIL_A, queries: int = 2) -> int:
    result = synthetic_result(council, PERIOD, children=4, queries=queries)
    outcome = store_validated(
        result, council, secret=DEMO_KEY, engine_or_url=rig.engine, submitted_by="officer", claimed_period=PERIOD
    )
    assert outcome.status == "accepted" and outcome.submission_id is not None
    return outcome.submission_id


def forms(page: str, css_class: str) -> list[tuple[str, dict[str, str]]]:
    """(action, hidden fields) of each form of that class on the page, as the page writes them."""
    found = []
    for action, body in re.findall(
        rf'<form method="post" action="([^"]+)" class="{css_class}">(.*?)</form>', page, re.DOTALL
    ):
        found.append((action, dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', body))))
    return found


def review_form(page: str, rule: str, row: str, decision: str) -> tuple[str, dict[str, str]]:
    (found,) = [
        f for f in forms(page, "review-form") if (f[1]["rule"], f[1]["row"], f[1]["decision"]) == (rule, row, decision)
    ]
    return found


def text_of(page: str) -> str:
    """The page's words, as a reader sees them (tags gone, spaces collapsed)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_the_whole_workflow_through_the_pages(rig: Rig) -> None:
    submission_id = stored(rig)
    submission = f"/councils/{COUNCIL_A}/submissions/{submission_id}"
    council, analyst = signed_in(rig, "council_a"), signed_in(rig, "analyst")
    for row in (2, 3):
        explain(COUNCIL_A, PERIOD, "CHD-23", row, f"Police advised on row {row}.", "officer", engine_or_url=rig.engine)

    # the analyst rejects one explanation and accepts the other, from the forms the page writes
    page = analyst.get(submission).text
    assert "Save explanation" not in page and "Sign off the return" not in page  # never on a council's behalf
    action, fields = review_form(page, "CHD-23", "3", "reject")
    assert action == f"{REVIEW}/explanation"
    empty = analyst.post(action, data={**fields, "reason": "  "}, follow_redirects=False)
    assert empty.status_code == 303 and empty.headers["location"].endswith("outcome=review_empty")
    rejected = analyst.post(
        action, data={**fields, "reason": "Say which officer advised, and when."}, follow_redirects=False
    )
    assert rejected.status_code == 303 and rejected.headers["location"] == f"{submission}?outcome=explanation_rejected"
    action, fields = review_form(analyst.get(submission).text, "CHD-23", "2", "accept")
    accepted = analyst.post(action, data=fields, follow_redirects=False)
    assert accepted.headers["location"] == f"{submission}?outcome=explanation_accepted"
    again = analyst.post(action, data=fields, follow_redirects=False)
    assert again.status_code == 409 and "already accepted" in again.text

    # the council reads why, cannot sign off, and explains again
    page = text_of(council.get(submission).text)
    assert "Not accepted by analyst@dfe.example.gov.uk" in page and "Say which officer advised, and when." in page
    assert "Accepted by analyst@dfe.example.gov.uk" in page and "Explain again CHD-23 at Children!I3" in page
    assert "Version 1: accepted with open queries" in page and "Sign off the return" not in page
    assert "Reject the explanation" not in page and "Raise the query" not in page  # the analyst's forms only
    refused = council.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/sign-off",
        data={"csrf_token": csrf_token(council.get(submission).text)},
    )
    assert refused.status_code == 409 and "CHD-23 row 3" in refused.text
    explained = council.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/explanations",
        data={
            "csrf_token": csrf_token(council.get(submission).text),
            "rule": "CHD-23",
            "row": "3",
            "text": "DS Jones advised on 3 June.",
        },
        follow_redirects=False,
    )
    assert explained.status_code == 303
    page = text_of(analyst.get(submission).text)
    assert "DS Jones advised on 3 June." in page and "Explained again after the national data team said" in page

    # the analyst raises a query on a child's cell; the council sees it, explains it and signs off
    csrf = csrf_token(analyst.get(submission).text)
    raised = analyst.post(
        f"{REVIEW}/queries",
        data={
            "csrf_token": csrf,
            "cell": "Children!F4",
            "field": "sex",
            "message": "Is this child's sex recorded right?",
        },
        follow_redirects=False,
    )
    assert raised.headers["location"] == f"{submission}?outcome=query_raised"
    refused = analyst.post(f"{REVIEW}/queries", data={"csrf_token": csrf, "cell": "Children!F40", "message": "?"})
    assert refused.status_code == 409 and "Children row 40 is not a child" in refused.text
    page = text_of(council.get(submission).text)
    assert "The national data team asks: Is this child's sex recorded right?" in page
    assert "Raised by analyst@dfe.example.gov.uk" in page and "C805-0-000002" in page
    explain_forms = forms(council.get(submission).text, "explain-form")
    assert any(f[1] == {"csrf_token": f[1]["csrf_token"], "rule": "ANL-01", "row": "4"} for f in explain_forms)
    council.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/explanations",
        data={
            "csrf_token": csrf_token(council.get(submission).text),
            "rule": "ANL-01",
            "row": "4",
            "text": "Yes: checked with the social worker.",
        },
    )
    signed = council.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/sign-off",
        data={"csrf_token": csrf_token(council.get(submission).text)},
        follow_redirects=False,
    )
    assert signed.headers["location"] == f"{submission}?outcome=signed_off"

    # the analyst reopens it; the council is told on its home page, the period's page and the version's
    page = analyst.get(submission).text
    assert "Reopen the return" in page
    csrf = csrf_token(page)
    empty = analyst.post(f"{REVIEW}/reopen", data={"csrf_token": csrf, "reason": ""}, follow_redirects=False)
    assert empty.headers["location"].endswith("outcome=review_empty")
    reopened = analyst.post(
        f"{REVIEW}/reopen", data={"csrf_token": csrf, "reason": "Police figures were revised."}, follow_redirects=False
    )
    assert reopened.headers["location"] == f"{submission}?outcome=reopened"
    current = current_submission(COUNCIL_A, PERIOD, engine_or_url=rig.engine)
    assert current is not None and current["status"] == "accepted" and current["submission_id"] == submission_id
    assert "Reopened: sign off again" in council.get(f"/councils/{COUNCIL_A}").text
    assert "Police figures were revised." in text_of(council.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}").text)
    page = text_of(council.get(submission).text)
    assert "Reopened on" in page and "Police figures were revised." in page and "sign it off again" in page
    assert "Sign off the return" in page
    again = analyst.post(f"{REVIEW}/reopen", data={"csrf_token": csrf, "reason": "twice"})
    assert again.status_code == 409 and "is not signed off" in again.text

    signed = council.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/sign-off",
        data={"csrf_token": csrf_token(council.get(submission).text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    page = text_of(council.get(submission).text)
    assert "Reopened on" not in page and "Sign-off history" in page
    history = page.split("Sign-off history")[1]
    assert history.count("Signed off") == 2 and "Reopened by the national data team" in history
    assert "Police figures were revised." in history
    assert [e["event"] for e in sign_off_history(COUNCIL_A, PERIOD, engine_or_url=rig.engine)] == [
        "signed_off",
        "reopened",
        "signed_off",
    ]


def test_a_query_raised_on_a_signed_off_return_reopens_it(rig: Rig, tmp_path: Path) -> None:
    from tests.integration.test_portal_store import upload, write_return

    council, analyst = signed_in(rig, "council_a"), signed_in(rig, "analyst")
    uploaded = upload(council, write_return(tmp_path / "v1.xlsx", query=False))
    submission = uploaded.headers["location"].split("?")[0]
    sign_off(COUNCIL_A, PERIOD, "LSCB chair", engine_or_url=rig.engine)
    assert "national data team asks" not in council.get(f"{submission}/feedback.html").text  # made and kept

    page = analyst.get(submission).text
    assert "raising it reopens the signed-off return" in page
    raised = analyst.post(
        f"{REVIEW}/queries",
        data={"csrf_token": csrf_token(page), "cell": "Activity!B3", "message": "Why so few?"},
        follow_redirects=False,
    )
    assert raised.status_code == 303
    current = current_submission(COUNCIL_A, PERIOD, engine_or_url=rig.engine)
    assert current is not None and current["status"] == "accepted" and current["unexplained_queries"] == 1
    row = analyst.get(f"/national/{PERIOD}").text.split(f'data-council="{COUNCIL_A}"')[1].split("</tr>")[0]
    assert "Accepted with open queries" in row
    # the version's feedback is made again with the analyst's query, not served from before it
    assert "The national data team asks: Why so few?" in html.unescape(council.get(f"{submission}/feedback.html").text)


def _all_review_posts(client: TestClient, csrf: str, council: str = COUNCIL_A) -> list[int]:
    base = f"/councils/{council}/periods/{PERIOD}/review"
    return [
        client.post(
            f"{base}/explanation",
            data={"csrf_token": csrf, "rule": "CHD-23", "row": "2", "decision": "reject", "reason": "no"},
        ).status_code,
        client.post(f"{base}/queries", data={"csrf_token": csrf, "message": "?"}).status_code,
        client.post(f"{base}/reopen", data={"csrf_token": csrf, "reason": "r"}).status_code,
    ]


def test_only_analysts_review_and_only_councils_explain_or_sign_off(rig: Rig) -> None:
    submission_id = stored(rig)
    stored(rig, COUNCIL_B)
    for row in (2, 3):
        explain(COUNCIL_A, PERIOD, "CHD-23", row, "because", "officer", engine_or_url=rig.engine)
    sign_off(COUNCIL_A, PERIOD, "LSCB chair", engine_or_url=rig.engine)
    before = current_submission(COUNCIL_A, PERIOD, engine_or_url=rig.engine)

    council = signed_in(rig, "council_a")
    csrf = csrf_token(council.get(f"/councils/{COUNCIL_A}").text)
    assert _all_review_posts(council, csrf) == [404, 404, 404]  # not even on its own return
    admin = signed_in(rig, "admin")
    assert _all_review_posts(admin, csrf_token(admin.get("/admin/users").text)) == [404, 404, 404]
    assert current_submission(COUNCIL_A, PERIOD, engine_or_url=rig.engine) == before

    analyst = signed_in(rig, "analyst")
    csrf = csrf_token(analyst.get(f"/councils/{COUNCIL_A}/submissions/{submission_id}").text)
    for path, data in (("explanations", {"rule": "CHD-23", "row": "2", "text": "on their behalf"}), ("sign-off", {})):
        response = analyst.post(f"/councils/{COUNCIL_A}/periods/{PERIOD}/{path}", data={"csrf_token": csrf, **data})
        assert response.status_code == 404, path
    for forged in ("", "forged"):
        assert _all_review_posts(analyst, forged) == [403, 403, 403]
    assert current_submission(COUNCIL_A, PERIOD, engine_or_url=rig.engine) == before
    unknown = analyst.post(
        f"/councils/E06999999/periods/{PERIOD}/review/reopen", data={"csrf_token": csrf, "reason": "r"}
    )
    assert unknown.status_code == 404
    bad = analyst.post(
        f"{REVIEW}/explanation", data={"csrf_token": csrf, "rule": "CHD-23", "row": "2", "decision": "maybe"}
    )
    assert bad.status_code == 400 and "Accept or reject" in bad.text
    # a council with nothing accepted has nothing to review
    assert (
        analyst.post(
            f"/councils/E06000003/periods/{PERIOD}/review/reopen", data={"csrf_token": csrf, "reason": "r"}
        ).status_code
        == 404
    )


def _audit_rows(page: str) -> list[str]:
    return re.findall(r'<tr data-audit-id="\d+">(.*?)</tr>', page, re.DOTALL)


def test_the_audit_page_for_analysts_and_admins_only(rig: Rig) -> None:
    submission_id = stored(rig)
    stored(rig, COUNCIL_B, queries=0)
    explain(COUNCIL_A, PERIOD, "CHD-23", 2, "Police advised.", "officer", engine_or_url=rig.engine)
    analyst = signed_in(rig, "analyst")
    csrf = csrf_token(analyst.get(f"/councils/{COUNCIL_A}/submissions/{submission_id}").text)
    analyst.post(f"{REVIEW}/queries", data={"csrf_token": csrf, "cell": "Children!F3", "message": "Sex right?"})

    council = signed_in(rig, "council_a")
    assert council.get("/audit").status_code == 404
    assert "Audit log" not in council.get(f"/councils/{COUNCIL_A}").text
    assert TestClient(rig.app).get("/audit", follow_redirects=False).status_code == 303  # sign in first

    page = analyst.get("/audit")
    assert page.status_code == 200 and "Audit log" in page.text
    rows = _audit_rows(page.text)
    assert "login" in rows[0] and "register_seeded" in rows[-1]  # newest first
    (raised,) = _audit_rows(analyst.get("/audit?action=raise_query").text)
    assert f'href="/councils/{COUNCIL_A}/submissions/{submission_id}"' in raised and "Children!F3" in raised
    # nothing child-level: the raised query's child (local_child_id) and free text stay off the page
    assert "C805-0-000001" not in page.text and "Sex right?" not in page.text and "Police advised." not in page.text

    only_b = _audit_rows(analyst.get(f"/audit?council={COUNCIL_B.lower()}").text)
    assert len(only_b) == 1 and "submit" in only_b[0] and COUNCIL_B in only_b[0]
    explains = _audit_rows(analyst.get(f"/audit?action=explain&period={PERIOD}").text)
    assert len(explains) == 1 and "officer" in explains[0]
    by_actor = _audit_rows(analyst.get("/audit?actor=ANALYST@dfe").text)
    assert by_actor and all("analyst@dfe.example.gov.uk" in r for r in by_actor)
    assert "No entries match." in analyst.get("/audit?period=2024-Q1").text
    assert analyst.get("/audit?page=abc").status_code == 200 and analyst.get("/audit?page=99999999").status_code == 200

    admin = signed_in(rig, "admin")
    page = admin.get("/audit")
    assert page.status_code == 200 and "raise_query" in page.text
    assert f"/councils/{COUNCIL_A}/submissions" not in page.text  # an admin reaches no council's pages


def test_the_audit_page_is_paged_newest_first(rig: Rig) -> None:
    analyst = signed_in(rig, "analyst")
    for number in range(60):
        rig.service.audit("probe", f"probe-{number:02d}@example.gov.uk")
    first = analyst.get("/audit?action=probe").text
    rows: list[Any] = _audit_rows(first)
    assert len(rows) == 50 and "probe-59" in rows[0] and "page 1 of 2" in first and "Older entries" in first
    older = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert older is not None and "action=probe" in older[1]
    second = analyst.get(html.unescape(older[1])).text
    rows = _audit_rows(second)
    assert len(rows) == 10 and "probe-09" in rows[0] and "probe-00" in rows[-1] and "Newer entries" in second
