"""The query workflow on SQLite and PostgreSQL (issue 12, item 5): an analyst accepts or rejects a
council's explanation (a rejection reopens the query everywhere: sign-off, the tracker, the
summaries), raises a query of their own (ANL-01) that the council must explain before signing
off, and reopens a signed-off return, which the council signs off again with its history kept;
the audit log read back with filters; `lscb review` and `lscb audit`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from lscb.cli import main
from pipeline.receive import store_validated
from pipeline.tracker import period_tracker
from schemas.calendar import Period
from schemas.identifiers import nhs_check_digit, upn_check_letter
from store import (
    StoreError,
    accept_explanation,
    current_submission,
    explain,
    list_submissions,
    migrate,
    raise_query,
    reject_explanation,
    reopen,
    sign_off,
    sign_off_history,
    submission_findings,
)
from store.audit import audit_actions, audit_entries, record, shown_detail
from store.engine import get_engine
from store.models import AuditEntry, Explanation, FindingRecord, Reopening
from store.national import load_national
from store.queries import findings_with_explanations
from tests.support.synthetic import synthetic_result

SECRET = b"query workflow test secret"
COUNCIL = "E06000001"  # Hartlepool
OTHER = "E06000002"  # Middlesbrough
PERIOD = "2025-Q1"
ON_TIME = datetime(2025, 7, 15, 9, 0, tzinfo=UTC)
AFTER_THE_DEADLINE = datetime(2025, 9, 1, tzinfo=UTC)  # for the tracker: the deadline has passed


def _store(url: str, council: str = COUNCIL, *, queries: int = 2, children: int = 5) -> dict[str, Any]:
    """An accepted return with `queries` CHD-23 queries on Children rows 2, 3, ..."""
    result = synthetic_result(council, PERIOD, children=children, queries=queries)
    outcome = store_validated(
        result, council, submitted_by="officer@council", secret=SECRET, engine_or_url=url, received_at=ON_TIME
    )
    assert outcome.status == "accepted"
    summary = current_submission(council, PERIOD, engine_or_url=url)
    assert summary is not None
    return summary


def _explain_all(url: str, council: str = COUNCIL, rows: tuple[int, ...] = (2, 3)) -> None:
    for row in rows:
        explain(council, PERIOD, "CHD-23", row, f"Police advised on row {row}", "officer", engine_or_url=url)


def _actions(url: str) -> list[str]:
    with get_engine(url).connect() as connection:
        rows = connection.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars()
        return [a for a in rows if a != "register_seeded"]


def _tracker(url: str, council: str = COUNCIL) -> tuple[str, int]:
    frame = period_tracker(url, Period.parse(PERIOD), today=AFTER_THE_DEADLINE.date())
    row = frame[frame["council_code"] == council].iloc[0]
    return str(row["state"]), int(row["open_queries"])


def _national_open_queries(url: str, submission_id: int) -> int:
    subs = load_national(get_engine(url), Period.parse(PERIOD), records=False).submissions
    return int(subs.loc[subs["submission_id"] == submission_id, "open_queries"].iloc[0])


def _finding(url: str, submission_id: int, rule: str, row: int | None) -> dict[str, Any]:
    found = [
        f for f in findings_with_explanations(submission_id, engine_or_url=url) if f["rule"] == rule and f["row"] == row
    ]
    assert len(found) == 1, found
    return found[0]


def _nhs_number() -> str:
    return "943476591" + str(nhs_check_digit("943476591"))


def _upn() -> str:
    body = "805200001234"
    return upn_check_letter(body) + body


# ---- accept and reject ------------------------------------------------------------------------


def test_accepting_an_explanation_records_who_and_when(migrated_url: str) -> None:
    summary = _store(migrated_url)
    _explain_all(migrated_url)
    when = datetime(2025, 7, 20, 10, 0, tzinfo=UTC)
    after = accept_explanation(COUNCIL, PERIOD, "chd-23", 2, "analyst@dfe", engine_or_url=migrated_url, at=when)
    assert after["unexplained_queries"] == 0 and after["reopened"] is False
    finding = _finding(migrated_url, summary["submission_id"], "CHD-23", 2)
    assert (finding["review"], finding["reviewed_by"], finding["reviewed_at"]) == ("accepted", "analyst@dfe", when)
    assert finding["is_open"] is False and finding["review_reason"] is None
    with pytest.raises(StoreError, match="already accepted by analyst@dfe"):
        accept_explanation(COUNCIL, PERIOD, "CHD-23", 2, "analyst@dfe", engine_or_url=migrated_url)
    with pytest.raises(StoreError, match=r"CHD-23 row 9 of version 1 .* has no explanation to review"):
        accept_explanation(COUNCIL, PERIOD, "CHD-23", 9, "analyst@dfe", engine_or_url=migrated_url)
    assert sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)["status"] == "signed_off"
    assert _actions(migrated_url) == ["submit", "explain", "explain", "accept_explanation", "sign_off"]


def test_a_rejection_reopens_the_query_everywhere_until_the_council_explains_again(migrated_url: str) -> None:
    summary = _store(migrated_url)
    submission_id = summary["submission_id"]
    _explain_all(migrated_url)
    assert _tracker(migrated_url) == ("accepted", 0)

    with pytest.raises(StoreError, match="the reason for rejecting is empty"):
        reject_explanation(COUNCIL, PERIOD, "CHD-23", 3, "  ", "analyst@dfe", engine_or_url=migrated_url)
    reason = "Say which officer advised, and when."
    after = reject_explanation(COUNCIL, PERIOD, "CHD-23", 3, reason, "analyst@dfe", engine_or_url=migrated_url)
    assert after["unexplained_queries"] == 1 and after["all_queries_explained"] is False
    assert after["status"] == "accepted" and after["reopened"] is False
    # the one open-query count: sign-off, the summaries, the tracker (and so tracker.csv), the compile's read
    with pytest.raises(StoreError, match=r"1 unexplained query \(CHD-23 row 3\)"):
        sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    assert [s["unexplained_queries"] for s in list_submissions(COUNCIL, PERIOD, engine_or_url=migrated_url)] == [1]
    assert _tracker(migrated_url) == ("accepted_open_queries", 1)
    assert _national_open_queries(migrated_url, submission_id) == 1
    rejected = _finding(migrated_url, submission_id, "CHD-23", 3)
    assert rejected["is_open"] is True and rejected["review"] == "rejected" and rejected["review_reason"] == reason
    assert _finding(migrated_url, submission_id, "CHD-23", 2)["is_open"] is False

    with pytest.raises(StoreError, match="already rejected .* has not explained it again"):
        reject_explanation(COUNCIL, PERIOD, "CHD-23", 3, "again", "analyst@dfe", engine_or_url=migrated_url)
    with pytest.raises(StoreError, match="rejected: the council must explain it again first"):
        accept_explanation(COUNCIL, PERIOD, "CHD-23", 3, "analyst@dfe", engine_or_url=migrated_url)

    again = explain(COUNCIL, PERIOD, "CHD-23", 3, "DS Jones advised on 3 June", "officer", engine_or_url=migrated_url)
    assert again["unexplained_queries"] == 0
    assert _tracker(migrated_url) == ("accepted", 0)
    assert _national_open_queries(migrated_url, submission_id) == 0
    explained_again = _finding(migrated_url, submission_id, "CHD-23", 3)
    # waiting for review again, with the reason it was rejected still beside it
    assert explained_again["review"] == "pending" and explained_again["review_reason"] == reason
    accept_explanation(COUNCIL, PERIOD, "CHD-23", 3, "analyst@dfe", engine_or_url=migrated_url)
    assert sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)["status"] == "signed_off"
    assert _tracker(migrated_url) == ("signed_off", 0)
    assert _actions(migrated_url) == [
        "submit",
        "explain",
        "explain",
        "reject_explanation",
        "explain",
        "accept_explanation",
        "sign_off",
    ]


def test_an_accepted_explanation_can_still_be_rejected_and_a_signed_off_return_reopens(migrated_url: str) -> None:
    _store(migrated_url)
    _explain_all(migrated_url)
    accept_explanation(COUNCIL, PERIOD, "CHD-23", 2, "analyst@dfe", engine_or_url=migrated_url)
    signed = sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    after = reject_explanation(
        COUNCIL, PERIOD, "CHD-23", 2, "On reflection: which officer?", "analyst@dfe", engine_or_url=migrated_url
    )
    assert after["reopened"] is True and after["status"] == "accepted" and after["unexplained_queries"] == 1
    assert after["submission_id"] == signed["submission_id"] and after["signed_off_by"] is None
    assert after["reopen_reason"] == "On reflection: which officer?" and after["reopened_by"] == "analyst@dfe"
    history = sign_off_history(COUNCIL, PERIOD, engine_or_url=migrated_url)
    assert [(e["event"], e["cause"]) for e in history] == [("reopened", "explanation_rejected"), ("signed_off", None)]
    assert history[1]["by"] == "LSCB chair" and history[1]["at"] == signed["signed_off_at"]
    assert _actions(migrated_url)[-2:] == ["reject_explanation", "reopen"]
    explain(COUNCIL, PERIOD, "CHD-23", 2, "DS Jones, 3 June", "officer", engine_or_url=migrated_url)
    assert sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)["status"] == "signed_off"


def test_nothing_to_review_without_an_explanation_or_an_accepted_return(migrated_url: str) -> None:
    with pytest.raises(StoreError, match="no accepted return for 2025-Q1"):
        accept_explanation(COUNCIL, PERIOD, "CHD-23", 2, "analyst@dfe", engine_or_url=migrated_url)
    _store(migrated_url)
    with pytest.raises(StoreError, match="has no explanation to review"):
        reject_explanation(COUNCIL, PERIOD, "CHD-23", 2, "why?", "analyst@dfe", engine_or_url=migrated_url)
    with pytest.raises(StoreError, match="the reviewer"):
        accept_explanation(COUNCIL, PERIOD, "CHD-23", 2, " ", engine_or_url=migrated_url)
    assert _actions(migrated_url) == ["submit"]


# ---- analysts' queries ------------------------------------------------------------------------


def test_a_raised_query_is_explained_before_sign_off(migrated_url: str) -> None:
    summary = _store(migrated_url, queries=0)
    submission_id = summary["submission_id"]
    assert _tracker(migrated_url) == ("accepted", 0)
    when = datetime(2025, 7, 21, 9, 0, tzinfo=UTC)
    after = raise_query(COUNCIL, PERIOD, "Why did referrals halve?", "analyst@dfe", engine_or_url=migrated_url, at=when)
    assert after["queries"] == 1 and after["unexplained_queries"] == 1 and after["reopened"] is False
    assert _tracker(migrated_url) == ("accepted_open_queries", 1)
    (finding,) = submission_findings(COUNCIL, PERIOD, engine_or_url=migrated_url)
    assert (finding.rule, finding.severity, finding.cell, finding.row) == ("ANL-01", "Q", None, None)
    assert finding.message == "The national data team asks: Why did referrals halve?"
    stored = _finding(migrated_url, submission_id, "ANL-01", None)
    assert (stored["raised_by"], stored["raised_at"], stored["is_open"]) == ("analyst@dfe", when, True)
    with pytest.raises(StoreError, match=r"1 unexplained query \(ANL-01 \(whole return\)\)"):
        sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    with pytest.raises(StoreError, match="already has an analyst query at the whole return: ask a follow-up"):
        raise_query(COUNCIL, PERIOD, "And another thing", "analyst@dfe", engine_or_url=migrated_url)

    # on a child's cell: the finding names the council's own local_child_id, as validation's do
    on_child = raise_query(
        COUNCIL, PERIOD, "Is this child still open?", "analyst@dfe", cell="children!i3", engine_or_url=migrated_url
    )
    assert on_child["queries"] == 2
    child = _finding(migrated_url, submission_id, "ANL-01", 3)
    assert (child["sheet"], child["cell"], child["local_child_id"]) == ("Children", "Children!I3", "C805-0-000001")
    field_query = raise_query(
        COUNCIL,
        PERIOD,
        "Check the count",
        "analyst@dfe",
        cell="Activity!B4",
        field="children_open_at_end",
        engine_or_url=migrated_url,
    )
    assert field_query["unexplained_queries"] == 3
    for cell, field, problem in (
        ("Children!I99", None, "Children row 99 is not a child of version 1"),
        ("Children!I1", None, "header row"),
        ("Sheet1!A2", None, "not a cell of the return"),
        ("I3", None, "not a cell of the return"),
        ("Children!I5", "cse_strategy", "Children has no field 'cse_strategy'"),
        (None, "missing_episodes", "on the Activity and Children sheets: name the cell too"),
        (None, "no_such_field", "not a field of the standard"),
        ("Activity!B4", None, r"already has an analyst query at row 4 \(Activity!B4\)"),
    ):
        with pytest.raises(StoreError, match=problem):
            raise_query(COUNCIL, PERIOD, "?", "analyst@dfe", cell=cell, field=field, engine_or_url=migrated_url)
    with pytest.raises(StoreError, match="seems to hold a UPN or NHS number"):
        raise_query(
            COUNCIL, PERIOD, f"Is {_nhs_number()} right?", "analyst@dfe", cell="Children!B5", engine_or_url=migrated_url
        )

    explain(
        COUNCIL, PERIOD, "ANL-01", None, "A new police liaison officer started.", "officer", engine_or_url=migrated_url
    )
    explain(COUNCIL, PERIOD, "ANL-01", 3, "Closed on 2 July, after the quarter.", "officer", engine_or_url=migrated_url)
    last = explain(COUNCIL, PERIOD, "ANL-01", 4, "Corrected in our system.", "officer", engine_or_url=migrated_url)
    assert last["all_queries_explained"] is True
    assert sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)["status"] == "signed_off"
    assert _actions(migrated_url).count("raise_query") == 3


def test_a_query_on_a_signed_off_return_reopens_it(migrated_url: str) -> None:
    _store(migrated_url)
    _explain_all(migrated_url)
    sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    assert _tracker(migrated_url) == ("signed_off", 0)
    after = raise_query(
        COUNCIL, PERIOD, "Row 2's risk level?", "analyst@dfe", cell="Children!I2", engine_or_url=migrated_url
    )
    assert after["reopened"] is True and after["status"] == "accepted" and after["current"] is True
    assert after["reopen_reason"] == "Row 2's risk level?" and after["unexplained_queries"] == 1
    assert _tracker(migrated_url) == ("accepted_open_queries", 1)
    # the analyst's query on row 2 is its own (rule ANL-01): the council's CHD-23 explanation does not answer it
    with pytest.raises(StoreError, match=r"ANL-01 row 2"):
        sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    explain(COUNCIL, PERIOD, "ANL-01", 2, "Reviewed: it is HIGH.", "officer", engine_or_url=migrated_url)
    assert sign_off(COUNCIL, PERIOD, "Deputy chair", engine_or_url=migrated_url)["signed_off_by"] == "Deputy chair"
    history = sign_off_history(COUNCIL, PERIOD, engine_or_url=migrated_url)
    assert [(e["event"], e["by"]) for e in history] == [
        ("signed_off", "Deputy chair"),
        ("reopened", "analyst@dfe"),
        ("signed_off", "LSCB chair"),
    ]
    assert history[1]["cause"] == "query_raised"
    assert _actions(migrated_url)[-4:] == ["raise_query", "reopen", "explain", "sign_off"]


# ---- reopening --------------------------------------------------------------------------------


def test_reopen_then_sign_off_again_keeps_the_history(migrated_url: str) -> None:
    first = _store(migrated_url, queries=0)
    with pytest.raises(StoreError, match="is not signed off: nothing to reopen"):
        reopen(COUNCIL, PERIOD, "Check it", "analyst@dfe", engine_or_url=migrated_url)
    with pytest.raises(StoreError, match="no accepted return for 2025-Q1: nothing to reopen"):
        reopen(OTHER, PERIOD, "Check it", "analyst@dfe", engine_or_url=migrated_url)
    signed_at = datetime(2025, 7, 30, 12, 0, tzinfo=UTC)
    sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url, at=signed_at)
    with pytest.raises(StoreError, match="the reason for reopening is empty"):
        reopen(COUNCIL, PERIOD, "", "analyst@dfe", engine_or_url=migrated_url)

    reason = "The police figures were revised; please confirm yours."
    reopened_at = datetime(2025, 8, 4, 9, 0, tzinfo=UTC)
    after = reopen(COUNCIL, PERIOD, reason, "analyst@dfe", engine_or_url=migrated_url, at=reopened_at)
    assert after["status"] == "accepted" and after["submission_id"] == first["submission_id"] and after["current"]
    assert (after["signed_off_by"], after["signed_off_at"]) == (None, None)
    assert (after["reopened_by"], after["reopened_at"], after["reopen_reason"]) == (
        "analyst@dfe",
        "2025-08-04T09:00:00Z",
        reason,
    )
    assert _tracker(migrated_url) == ("accepted", 0)
    with pytest.raises(StoreError, match="is not signed off"):
        reopen(COUNCIL, PERIOD, reason, "analyst@dfe", engine_or_url=migrated_url)

    again = sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    assert again["status"] == "signed_off" and again["reopened_at"] is None  # the news is over once signed off
    history = sign_off_history(COUNCIL, PERIOD, engine_or_url=migrated_url)
    assert [(e["event"], e["version"]) for e in history] == [("signed_off", 1), ("reopened", 1), ("signed_off", 1)]
    assert history[1]["reason"] == reason and history[2]["at"] == "2025-07-30T12:00:00Z"
    with get_engine(migrated_url).connect() as connection:
        (kept,) = connection.execute(select(Reopening)).all()
    assert kept.signed_off_by == "LSCB chair" and kept.cause == "reopened"
    assert _actions(migrated_url) == ["submit", "sign_off", "reopen", "sign_off"]


# ---- free text, the audit log -----------------------------------------------------------------


def test_free_text_that_holds_a_childs_identifier_is_refused_and_never_stored(migrated_url: str) -> None:
    _store(migrated_url)
    for written in (_nhs_number(), f"{_nhs_number()[:3]} {_nhs_number()[3:6]} {_nhs_number()[6:]}", _upn().lower()):
        with pytest.raises(StoreError, match="seems to hold a UPN or NHS number"):
            explain(COUNCIL, PERIOD, "CHD-23", 2, f"The child {written} moved", "officer", engine_or_url=migrated_url)
    _explain_all(migrated_url)
    sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    with pytest.raises(StoreError, match="seems to hold a UPN or NHS number"):
        reject_explanation(COUNCIL, PERIOD, "CHD-23", 2, f"Is it {_upn()}?", "analyst@dfe", engine_or_url=migrated_url)
    with pytest.raises(StoreError, match="seems to hold a UPN or NHS number"):
        reopen(COUNCIL, PERIOD, f"See {_nhs_number()}", "analyst@dfe", engine_or_url=migrated_url)
    with get_engine(migrated_url).connect() as connection:
        texts = connection.execute(select(Explanation.text)).scalars().all()
    assert all(_nhs_number() not in t and _upn() not in t.upper() for t in texts)
    assert current_submission(COUNCIL, PERIOD, engine_or_url=migrated_url)["status"] == "signed_off"  # type: ignore[index]


def test_the_audit_log_newest_first_filtered_and_paged(migrated_url: str) -> None:
    _store(migrated_url)
    _store(migrated_url, OTHER, queries=0)
    _explain_all(migrated_url)
    reject_explanation(COUNCIL, PERIOD, "CHD-23", 2, "Which officer?", "Analyst.One@dfe", engine_or_url=migrated_url)
    raise_query(OTHER, PERIOD, "Why none?", "analyst.two@dfe", engine_or_url=migrated_url)
    explain(OTHER, PERIOD, "ANL-01", None, "None were open.", "officer", engine_or_url=migrated_url)
    sign_off(OTHER, PERIOD, "chair", engine_or_url=migrated_url)
    everything = audit_entries(migrated_url, limit=500)
    assert [r.id for r in everything.rows] == sorted((r.id for r in everything.rows), reverse=True)
    assert everything.rows[0].action == "sign_off" and everything.total == len(everything.rows)

    council = audit_entries(migrated_url, council_code=OTHER.lower())
    assert [r.action for r in council.rows] == ["sign_off", "explain", "raise_query", "submit"]
    assert audit_entries(migrated_url, period="2025-Q2").rows == []
    by_actor = audit_entries(migrated_url, actor="ANALYST")
    assert {r.actor for r in by_actor.rows} == {"Analyst.One@dfe", "analyst.two@dfe"}
    assert [r.action for r in audit_entries(migrated_url, actor="one@").rows] == ["reject_explanation"]
    assert audit_entries(migrated_url, actor="%").rows == []  # a LIKE wildcard is a plain character
    explained = audit_entries(migrated_url, action="explain", council_code=COUNCIL, period=PERIOD)
    assert explained.total == 2 and {r.detail["row"] for r in explained.rows} == {2, 3}
    first, second = audit_entries(migrated_url, limit=2), audit_entries(migrated_url, limit=2, offset=2)
    assert [r.id for r in first.rows + second.rows] == [r.id for r in everything.rows[:4]]
    assert first.total == everything.total
    assert {"submit", "explain", "reject_explanation", "raise_query", "sign_off"} <= set(audit_actions(migrated_url))
    # no free text in the log: the rejection's reason and the question are on the return, not here
    assert "Which officer?" not in json.dumps([r.to_json() for r in everything.rows])
    assert "Why none?" not in json.dumps([r.to_json() for r in everything.rows])


def test_the_viewer_shows_nothing_child_level_even_if_a_writer_slips(migrated_url: str) -> None:
    engine = get_engine(migrated_url)
    with engine.begin() as connection:
        record(
            connection,
            "someone",
            "probe",
            council_code=COUNCIL,
            detail={
                "version": 2,
                "local_child_id": "C0001",
                "upn": _upn(),
                "date_of_birth": "2010-01-01",
                "text": "free text",
                "note": f"child {_nhs_number()}",
                "rows": [1, 2],
                "source_name": "return.xlsx",
            },
        )
    (row,) = audit_entries(engine, action="probe").rows
    assert row.detail == {"version": 2, "note": "(withheld)", "source_name": "return.xlsx"}
    assert shown_detail(None) == {}


def test_existing_explanations_are_unreviewed_after_the_upgrade(database_url: str) -> None:
    migrate.upgrade(database_url, "0002_portal")
    engine = get_engine(database_url)
    from store.seed import seed_register

    with engine.begin() as connection:
        seed_register(connection)
        connection.execute(
            text(
                "INSERT INTO periods (code, start, \"end\", deadline) VALUES ('2025-Q1', '2025-04-01', '2025-06-30', "
                "'2025-08-11')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO submissions (id, council_code, period, version, checksum, source_name, format, "
                "size_bytes, received_at, submitted_by, status, late, standard_version, errors, queries) VALUES "
                "(1, 'E06000001', '2025-Q1', 1, 'x', 'r.xlsx', 'xlsx', 1, :at, 'o', 'accepted', false, '1.0', 0, 1)"
            ),
            {"at": ON_TIME},
        )
        connection.execute(
            text("INSERT INTO findings (submission_id, rule, severity, message, row) VALUES (1, 'CHD-23', 'Q', 'm', 2)")
        )
        connection.execute(
            text(
                "INSERT INTO explanations (submission_id, rule, row, text, explained_by, explained_at) "
                "VALUES (1, 'CHD-23', 2, 'why', 'officer', :at)"
            ),
            {"at": ON_TIME},
        )
    migrate.upgrade(database_url)
    with engine.connect() as connection:
        assert connection.execute(select(Explanation.review, Explanation.reviewed_by)).one() == ("pending", None)
        assert connection.execute(select(FindingRecord.raised_by)).scalar() is None
    summary = current_submission(COUNCIL, PERIOD, engine_or_url=database_url)
    assert summary is not None and summary["unexplained_queries"] == 0
    with engine.begin() as connection:  # the new table takes rows, and the check holds
        connection.execute(
            insert(Reopening),
            {
                "submission_id": 1,
                "cause": "reopened",
                "reason": "r",
                "reopened_by": "a",
                "reopened_at": ON_TIME,
                "signed_off_by": "c",
                "signed_off_at": ON_TIME,
            },
        )


# ---- the CLI ----------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli_env(migrated_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("LSCB_DATABASE_URL", migrated_url)
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    return migrated_url


def _one_line_error(code: int, err: str, command: str, words: str) -> None:
    assert code == 2, err
    assert err.startswith(f"lscb {command}: ") and words in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_cli_review_and_audit(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    scope = ("--council", COUNCIL, "--period", PERIOD)
    code, _, err = _cli(capsys, "review", "accept", *scope, "--rule", "CHD-23", "--row", "2")
    _one_line_error(code, err, "review", "no accepted return")
    _store(cli_env)
    _explain_all(cli_env)

    code, out, _ = _cli(capsys, "review", "accept", *scope, "--rule", "CHD-23", "--row", "2", "--by", "analyst@dfe")
    assert code == 0 and "explanation of CHD-23 row 2 is accepted; 0 open queries" in out
    code, out, _ = _cli(
        capsys,
        "review",
        "reject",
        *scope,
        "--rule",
        "CHD-23",
        "--row",
        "3",
        "--reason",
        "Which officer?",
        "--by",
        "analyst@dfe",
    )
    assert code == 0 and "CHD-23 row 3 is rejected (open again); 1 open query" in out
    code, _, err = _cli(capsys, "review", "reject", *scope, "--rule", "CHD-23", "--row", "3", "--reason", "x")
    _one_line_error(code, err, "review", "already rejected")
    code, _, err = _cli(capsys, "signoff", *scope, "--by", "LSCB chair")
    _one_line_error(code, err, "signoff", "CHD-23 row 3")
    explain(COUNCIL, PERIOD, "CHD-23", 3, "DS Jones", "officer", engine_or_url=cli_env)
    assert _cli(capsys, "signoff", *scope, "--by", "LSCB chair")[0] == 0

    code, out, _ = _cli(
        capsys,
        "review",
        "raise",
        *scope,
        "--message",
        "Why so few referrals?",
        "--field",
        "referrals_to_police",
        "--by",
        "analyst@dfe",
    )
    assert code == 0 and "query raised on referrals_to_police; 1 open query; the signed-off return is reopened" in out
    code, _, err = _cli(capsys, "review", "raise", *scope, "--message", "x", "--cell", "Nowhere")
    _one_line_error(code, err, "review", "not a cell of the return")
    code, _, err = _cli(capsys, "review", "reopen", *scope, "--reason", "again")
    _one_line_error(code, err, "review", "is not signed off")
    explain(COUNCIL, PERIOD, "ANL-01", None, "A new team", "officer", engine_or_url=cli_env)
    sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=cli_env)
    code, out, _ = _cli(capsys, "review", "reopen", *scope, "--reason", "Figures revised", "--by", "analyst@dfe")
    assert code == 0 and "reopened; it is accepted again and must be signed off again" in out
    code, out, _ = _cli(capsys, "review", "history", *scope)
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 4 and "reopened by the national data team: Figures revised" in lines[0]
    assert "signed off" in lines[1] and "a query" in lines[2]
    code, out, _ = _cli(capsys, "review", "history", *scope, "--json")
    assert code == 0 and [e["event"] for e in json.loads(out)] == ["reopened", "signed_off", "reopened", "signed_off"]
    code, _, err = _cli(capsys, "review", "history", "--council", "E06999999", "--period", PERIOD)
    _one_line_error(code, err, "review", "not the GSS code")

    code, out, _ = _cli(capsys, "audit", "--council", COUNCIL, "--action", "reopen", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["detail"]["cause"] for r in rows] == ["reopened", "query_raised"]
    assert all(r["actor"] == "analyst@dfe" and r["period"] == PERIOD for r in rows)
    code, out, _ = _cli(capsys, "audit", "--actor", "analyst@", "--limit", "2")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 3 and lines[0].split()[1] == "reopen" and lines[-1].startswith("(2 of ")
    code, out, _ = _cli(capsys, "audit", "--period", "2024-Q4")
    assert code == 0 and out.strip() == "no audit entries match"
    for argv, words in (
        (("audit", "--limit", "0"), "--limit must be between 1 and 500"),
        (("audit", "--council", "nowhere"), "not the GSS code"),
        (("audit", "--period", "2025-Q5"), "2025-Q5"),
    ):
        code, _, err = _cli(capsys, *argv)
        _one_line_error(code, err, "audit", words)
