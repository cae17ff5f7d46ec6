"""The store on SQLite and PostgreSQL: versions, duplicates, lateness, rejected returns,
explanations and sign-off, the previous return across recodes, the audit log, and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

import pipeline.receive
from lscb.cli import main
from pipeline.receive import store_validated, submit_file
from schemas.calendar import Period
from store import (
    StoreError,
    current_submission,
    explain,
    list_submissions,
    sign_off,
    submission_findings,
)
from store.engine import get_engine
from store.models import (
    AuditEntry,
    Explanation,
    FindingRecord,
    Submission,
    activity_facts,
    child_records,
    strategy_facts,
)
from store.queries import previous_return
from tests.support.synthetic import synthetic_result
from transforms.checksum import file_checksum
from transforms.ingest import Refused
from transforms.validate.model import ValidationResult

SECRET = b"store test secret"
COUNCIL = "E06000001"  # Hartlepool
PERIOD = "2025-Q1"
LONDON = ZoneInfo("Europe/London")
ON_TIME = datetime(2025, 7, 15, 9, 0, tzinfo=UTC)


def _store(url: str, result: ValidationResult, council: str = COUNCIL, **kwargs: Any) -> Any:
    kwargs.setdefault("received_at", ON_TIME)
    return store_validated(result, council, submitted_by="officer@council", secret=SECRET, engine_or_url=url, **kwargs)


def _count(url: str, table: Any, *where: Any) -> int:
    with get_engine(url).connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _audit(url: str) -> list[tuple[str, int | None]]:
    with get_engine(url).connect() as connection:
        rows = connection.execute(select(AuditEntry.action, AuditEntry.submission_id).order_by(AuditEntry.id))
        return [(a, s) for a, s in rows if a != "register_seeded"]


def test_versions_are_gapless_and_the_current_one_is_the_latest_accepted(migrated_url: str) -> None:
    first = _store(migrated_url, synthetic_result(COUNCIL, PERIOD, children=30, seed=1))
    second = _store(migrated_url, synthetic_result(COUNCIL, PERIOD, children=30, seed=2, errors=3))
    third = _store(migrated_url, synthetic_result(COUNCIL, PERIOD, children=25, seed=3, queries=1))
    fourth = _store(migrated_url, synthetic_result(COUNCIL, PERIOD, children=25, seed=4, errors=1))
    assert [o.status for o in (first, second, third, fourth)] == ["accepted", "rejected", "accepted", "rejected"]
    assert [o.version for o in (first, second, third, fourth)] == [1, 2, 3, 4]
    assert "accepted as version 1" in first.message and "rejected as version 2" in second.message

    rows = list_submissions(COUNCIL, PERIOD, engine_or_url=migrated_url)
    assert [(r["version"], r["status"], r["current"]) for r in rows] == [
        (1, "accepted", False),
        (2, "rejected", False),
        (3, "accepted", True),
        (4, "rejected", False),
    ]
    assert {"version", "status", "received_at", "late", "checksum", "current", "errors", "queries"} <= set(rows[0])
    assert [r["errors"] for r in rows] == [0, 3, 0, 1]
    current = current_submission(COUNCIL, PERIOD, engine_or_url=migrated_url)
    assert current is not None and current["version"] == 3 and current["queries"] == 1

    # earlier versions and their findings stay queryable, and facts stay with their version
    assert [f.rule for f in submission_findings(COUNCIL, PERIOD, 2, engine_or_url=migrated_url)] == ["VAL-02"] * 3
    assert [f.rule for f in submission_findings(COUNCIL, PERIOD, engine_or_url=migrated_url)] == ["CHD-23"]
    assert _count(migrated_url, child_records, child_records.c.submission_id == first.submission_id) == 30
    assert _count(migrated_url, child_records, child_records.c.submission_id == third.submission_id) == 25
    # other councils and periods are untouched
    assert list_submissions(COUNCIL, "2025-Q2", engine_or_url=migrated_url) == []
    assert current_submission("E06000002", PERIOD, engine_or_url=migrated_url) is None
    assert [a for a, _ in _audit(migrated_url)] == ["submit"] * 4


def test_the_same_bytes_again_create_nothing(migrated_url: str) -> None:
    result = synthetic_result(COUNCIL, PERIOD, children=10, queries=1)
    first = _store(migrated_url, result)
    before = (_count(migrated_url, Submission), _count(migrated_url, child_records), len(_audit(migrated_url)))
    again = _store(migrated_url, result, received_at=datetime(2025, 9, 1, tzinfo=UTC))
    assert again.status == "duplicate"
    assert (again.version, again.submission_id, again.existing_status) == (1, first.submission_id, "accepted")
    assert "already received as version 1" in again.message
    assert again.exit_code == 0
    assert (_count(migrated_url, Submission), _count(migrated_url, child_records), len(_audit(migrated_url))) == before
    # the same bytes for another period are a different return
    other = _store(migrated_url, synthetic_result(COUNCIL, PERIOD, children=10, queries=1), claimed_period="2025-Q2")
    assert other.status == "accepted" and other.period == "2025-Q2" and other.version == 1


def test_late_means_after_the_deadline_day_in_london(migrated_url: str) -> None:
    period = Period.parse(PERIOD)
    assert period.deadline.isoformat() == "2025-08-11"
    last_minute = datetime(2025, 8, 11, 23, 59, tzinfo=LONDON)  # 22:59 UTC, still the deadline day in BST
    just_after = datetime(2025, 8, 12, 0, 1, tzinfo=LONDON)  # 23:01 UTC on the 11th: already late
    assert period.deadline_end() == datetime(2025, 8, 11, 23, 0, tzinfo=UTC)
    assert not period.is_late(last_minute) and period.is_late(just_after)
    on_time = _store(migrated_url, synthetic_result(COUNCIL, PERIOD, seed=1), received_at=last_minute)
    late = _store(migrated_url, synthetic_result(COUNCIL, PERIOD, seed=2), received_at=just_after)
    assert (on_time.late, late.late) == (False, True)
    assert "(on time)" in on_time.message and "(late)" in late.message
    rows = list_submissions(COUNCIL, PERIOD, engine_or_url=migrated_url)
    assert [r["late"] for r in rows] == [False, True]
    assert rows[0]["received_at"] == "2025-08-11T22:59:00Z"  # stored and returned in UTC
    with pytest.raises(StoreError, match="timezone-aware"):
        _store(migrated_url, synthetic_result(COUNCIL, PERIOD, seed=3), received_at=datetime(2025, 8, 1))


def test_a_rejected_return_keeps_its_findings_and_stores_no_facts(migrated_url: str) -> None:
    outcome = _store(migrated_url, synthetic_result(COUNCIL, PERIOD, children=12, errors=2, queries=1))
    assert outcome.status == "rejected" and outcome.exit_code == 1
    assert (outcome.errors, outcome.queries) == (2, 1)
    sid = outcome.submission_id
    assert _count(migrated_url, FindingRecord, FindingRecord.submission_id == sid) == 3
    for table in (activity_facts, strategy_facts, child_records):
        assert _count(migrated_url, table, table.c.submission_id == sid) == 0
    assert current_submission(COUNCIL, PERIOD, engine_or_url=migrated_url) is None
    with pytest.raises(StoreError, match="no accepted return"):
        sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    findings = submission_findings(COUNCIL, PERIOD, 1, engine_or_url=migrated_url)
    assert {(f.rule, f.cell, f.row) for f in findings} >= {("VAL-02", "Children!F2", 2), ("CHD-23", "Children!I2", 2)}


def test_facts_and_child_records_are_stored_typed(migrated_url: str) -> None:
    result = synthetic_result(COUNCIL, PERIOD, children=5)
    assert result.typed is not None
    outcome = _store(migrated_url, result)
    with get_engine(migrated_url).connect() as connection:
        activity = (
            connection.execute(select(activity_facts).where(activity_facts.c.submission_id == outcome.submission_id))
            .mappings()
            .one()
        )
        children = (
            connection.execute(
                select(child_records).where(child_records.c.submission_id == outcome.submission_id).order_by("row")
            )
            .mappings()
            .all()
        )
    assert {k: activity[k] for k in result.typed.activity} == result.typed.activity
    assert [c["row"] for c in children] == [2, 3, 4, 5, 6]
    source = result.typed.children
    for child in children:
        original = source.loc[child["row"]]
        assert child["local_child_id"] == original["local_child_id"]
        assert child["birth_month"] == original["date_of_birth"].replace(day=1)
        assert child["identified_on"] == original["identified_on"]
        assert (child["upn_key"] is None) == (original["upn"] is None)
        assert (child["nhs_key"] is None) == (original["nhs_number"] is None)
        assert (child["council_code"], child["period"]) == (COUNCIL, PERIOD)


def test_explain_then_sign_off(migrated_url: str) -> None:
    _store(migrated_url, synthetic_result(COUNCIL, PERIOD, children=10, queries=2))
    summary = current_submission(COUNCIL, PERIOD, engine_or_url=migrated_url)
    assert summary is not None and summary["all_queries_explained"] is False and summary["unexplained_queries"] == 2

    with pytest.raises(StoreError, match=r"2 unexplained queries \(CHD-23 row 2, CHD-23 row 3\)"):
        sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    with pytest.raises(StoreError, match="no finding CHD-22 at row 2"):
        explain(COUNCIL, PERIOD, "CHD-22", 2, "text", "officer", engine_or_url=migrated_url)
    with pytest.raises(StoreError, match="no finding CHD-23 at row 40"):
        explain(COUNCIL, PERIOD, "CHD-23", 40, "text", "officer", engine_or_url=migrated_url)
    with pytest.raises(StoreError, match="empty"):
        explain(COUNCIL, PERIOD, "CHD-23", 2, "  ", "officer", engine_or_url=migrated_url)

    after_one = explain(
        COUNCIL, PERIOD, "chd-23", 2, "Police declined: no offence disclosed", "officer", engine_or_url=migrated_url
    )
    assert after_one["unexplained_queries"] == 1 and not after_one["all_queries_explained"]
    explain(COUNCIL, PERIOD, "CHD-23", 3, "first try", "officer", engine_or_url=migrated_url)
    after_all = explain(
        COUNCIL, PERIOD, "CHD-23", 3, "Referred on 2 July, after the quarter", "officer", engine_or_url=migrated_url
    )
    assert after_all["all_queries_explained"] is True
    assert _count(migrated_url, Explanation) == 2  # the second explanation of row 3 replaced the first

    signed = sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    assert signed["status"] == "signed_off" and signed["signed_off_by"] == "LSCB chair" and signed["current"]
    with pytest.raises(StoreError, match="already signed off"):
        sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    with pytest.raises(StoreError, match="already signed off"):
        explain(COUNCIL, PERIOD, "CHD-23", 2, "late change", "officer", engine_or_url=migrated_url)
    actions = [a for a, _ in _audit(migrated_url)]
    assert actions == ["submit", "explain", "explain", "explain", "sign_off"]

    # a new accepted version becomes current and needs its own explanations and sign-off
    _store(migrated_url, synthetic_result(COUNCIL, PERIOD, children=10, queries=1, seed=9))
    rows = list_submissions(COUNCIL, PERIOD, engine_or_url=migrated_url)
    assert [(r["status"], r["current"]) for r in rows] == [("signed_off", False), ("accepted", True)]


def test_errors_are_not_explained(migrated_url: str) -> None:
    result = synthetic_result(COUNCIL, PERIOD, children=5, queries=1)
    result.findings.append(
        result.findings[0].__class__(**{**result.findings[0].__dict__, "rule": "XS-01", "severity": "E"})
    )
    result.findings.pop()  # keep the return accepted: the error finding is only used via the store below
    _store(migrated_url, result)
    with get_engine(migrated_url).begin() as connection:  # an error finding on an accepted version (defensive)
        sid = connection.execute(select(Submission.id)).scalar_one()
        connection.execute(
            FindingRecord.__table__.insert(),
            {"submission_id": sid, "rule": "XS-01", "severity": "E", "message": "m", "row": 4, "sheet": "Activity"},
        )
    with pytest.raises(StoreError, match="is an error, not a query"):
        explain(COUNCIL, PERIOD, "XS-01", 4, "text", "officer", engine_or_url=migrated_url)


def test_previous_return_follows_a_recode(migrated_url: str) -> None:
    old_barnsley, new_barnsley = "E08000016", "E08000038"
    prior = _store(migrated_url, synthetic_result(old_barnsley, "2025-Q1", activity={"charges": 40}), old_barnsley)
    assert prior.status == "accepted"
    with get_engine(migrated_url).connect() as connection:
        previous = previous_return(connection, new_barnsley, "2025-Q2")
        assert previous is not None and previous.period == "2025-Q1" and previous.activity["charges"] == 40
        assert previous_return(connection, "E08000019", "2025-Q2") is None  # Sheffield is another council
        assert previous_return(connection, new_barnsley, "2025-Q3") is None


def test_unknown_council_and_period_are_one_line_errors(migrated_url: str) -> None:
    with pytest.raises(StoreError, match="not the GSS code"):
        _store(migrated_url, synthetic_result(COUNCIL, PERIOD), council="E06999999")
    with pytest.raises(StoreError, match="invalid period"):
        list_submissions(COUNCIL, "2025-Q5", engine_or_url=migrated_url)


def test_a_return_whose_period_cannot_be_read_is_not_filed(migrated_url: str) -> None:
    result = synthetic_result(COUNCIL, PERIOD, errors=1)
    result.period = "2025-Q9"
    outcome = _store(migrated_url, result)
    assert (outcome.status, outcome.version, outcome.period) == ("rejected", None, None)
    assert "period in About could not be read" in outcome.message
    assert _count(migrated_url, Submission) == 0
    assert [a for a, _ in _audit(migrated_url)] == ["unfiled"]


def test_the_store_says_when_the_database_has_no_tables(database_url: str) -> None:
    with pytest.raises(StoreError, match="lscb db upgrade"):
        _store(database_url, synthetic_result(COUNCIL, PERIOD))


# ---- submit_file with validation stubbed (the real validator is exercised in test_store_files) ----


@pytest.fixture
def fake_validation(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace reading + validation: files named refused*.xlsx are refused; others validate as a
    synthetic return (About period 2025-Q1) whose checksum is the file's."""
    calls: list[dict[str, Any]] = []

    def validate_upload(path: Path, **kwargs: Any) -> ValidationResult:
        period = kwargs["claimed_period"] or PERIOD  # the claim, else what About says
        calls.append({"path": Path(path), **kwargs, "previous": kwargs["previous_for"](period)})
        if Path(path).name.startswith("refused"):
            raise Refused("REF-MACRO", "The workbook contains macros (.xlsm or a VBA project); save it as .xlsx.")
        queries = 1 if "query" in Path(path).name else 0
        errors = 1 if "error" in Path(path).name else 0
        result = synthetic_result(COUNCIL, PERIOD, children=8, queries=queries, errors=errors)
        result.checksum = file_checksum(Path(path))[0]
        result.source_name = kwargs["display_name"]
        return result

    monkeypatch.setattr(pipeline.receive, "validate_upload", validate_upload)
    return calls


def test_submit_file_validates_stores_and_spots_duplicates(
    migrated_url: str, tmp_path: Path, fake_validation: list[dict[str, Any]]
) -> None:
    upload = tmp_path / "upload.xlsx"
    upload.write_bytes(b"pretend workbook 1")
    outcome = submit_file(
        upload, COUNCIL, submitted_by="portal:officer", engine_or_url=migrated_url, secret=SECRET,
        display_name="Hartlepool Q1 return.xlsx", received_at=ON_TIME,
    )  # fmt: skip
    assert outcome.status == "accepted" and outcome.version == 1 and outcome.exit_code == 0
    assert fake_validation[0]["claimed_council"] == COUNCIL and fake_validation[0]["previous"] is None
    assert fake_validation[0]["today"].isoformat() == "2025-07-15"
    row = list_submissions(COUNCIL, PERIOD, engine_or_url=migrated_url)[0]
    assert row["source_name"] == "Hartlepool Q1 return.xlsx" and row["size_bytes"] == len(b"pretend workbook 1")
    assert row["checksum"] == file_checksum(upload)[0]

    again = submit_file(upload, COUNCIL, submitted_by="x", engine_or_url=migrated_url, secret=SECRET)
    assert again.status == "duplicate" and again.version == 1
    assert len(fake_validation) == 1  # a duplicate is spotted before validating again


def test_submit_file_passes_the_previous_accepted_return(
    migrated_url: str, tmp_path: Path, fake_validation: list[dict[str, Any]]
) -> None:
    _store(migrated_url, synthetic_result(COUNCIL, "2024-Q4", activity={"charges": 7}))
    upload = tmp_path / "q1.xlsx"
    upload.write_bytes(b"q1")
    submit_file(upload, COUNCIL, submitted_by="x", claimed_period=PERIOD, engine_or_url=migrated_url, secret=SECRET)
    previous = fake_validation[-1]["previous"]
    assert previous is not None and previous.period == "2024-Q4" and previous.activity["charges"] == 7
    # without a claimed period, the previous return is found from the period About gives
    upload.write_bytes(b"q1 again, changed")
    submit_file(upload, COUNCIL, submitted_by="x", engine_or_url=migrated_url, secret=SECRET)
    assert fake_validation[-1]["previous"] is not None and fake_validation[-1]["previous"].period == "2024-Q4"


def test_a_refused_file_stores_nothing(
    migrated_url: str, tmp_path: Path, fake_validation: list[dict[str, Any]]
) -> None:
    upload = tmp_path / "refused.xlsm"
    upload.write_bytes(b"macro")
    outcome = submit_file(upload, COUNCIL, submitted_by="x", engine_or_url=migrated_url, secret=SECRET)
    assert (outcome.status, outcome.refusal, outcome.exit_code) == ("refused", "REF-MACRO", 2)
    assert outcome.message.startswith("refused.xlsm: The workbook contains macros")
    assert _count(migrated_url, Submission) == 0 and _count(migrated_url, FindingRecord) == 0
    assert [a for a, _ in _audit(migrated_url)] == ["refused"]


# ---- the CLI ------------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli_env(migrated_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("LSCB_DATABASE_URL", migrated_url)
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_PSEUDONYMISATION_KEY", SECRET.decode())
    return migrated_url


def test_cli_submit_explain_signoff_and_list(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_validation: list[dict[str, Any]]
) -> None:
    rejected = tmp_path / "with-error.xlsx"
    rejected.write_bytes(b"error version")
    code, out, _ = _cli(capsys, "submit", str(rejected), "--council", COUNCIL, "--by", "officer")
    assert code == 1 and "rejected as version 1" in out and "E VAL-02 Children!F2" in out

    upload = tmp_path / "with-query.xlsx"
    upload.write_bytes(b"query version")
    code, out, _ = _cli(
        capsys, "submit", str(upload), "--council", COUNCIL, "--received-at", "2025-08-12T00:30", "--json"
    )
    outcome = json.loads(out)
    assert code == 0 and outcome["status"] == "accepted" and outcome["version"] == 2 and outcome["late"] is True
    assert outcome["findings"][0]["rule"] == "CHD-23" and outcome["findings"][0]["row"] == 2

    code, out, _ = _cli(capsys, "submit", str(upload), "--council", COUNCIL)
    assert code == 0 and "already received as version 2" in out
    code, out, _ = _cli(capsys, "submit", str(rejected), "--council", COUNCIL)
    assert code == 1 and "already received as version 1" in out

    code, _, err = _cli(capsys, "signoff", "--council", COUNCIL, "--period", PERIOD, "--by", "LSCB chair")
    assert code == 2 and err.startswith("lscb signoff: ") and "unexplained" in err and len(err.splitlines()) == 1
    code, _, err = _cli(
        capsys, "explain", "--council", COUNCIL, "--period", PERIOD, "--rule", "CHD-23", "--row", "9", "--text", "t"
    )
    assert code == 2 and "no finding CHD-23 at row 9" in err and "Traceback" not in err
    code, out, _ = _cli(
        capsys, "explain", "--council", COUNCIL, "--period", PERIOD, "--rule", "CHD-23", "--row", "2",
        "--text", "Police advised no referral", "--by", "officer",
    )  # fmt: skip
    assert code == 0 and "ready to sign off" in out
    code, out, _ = _cli(capsys, "signoff", "--council", COUNCIL, "--period", PERIOD, "--by", "LSCB chair")
    assert code == 0 and "version 2 signed off by LSCB chair" in out

    code, out, _ = _cli(capsys, "submissions", "--council", COUNCIL, "--period", PERIOD, "--json")
    listed = json.loads(out)
    assert code == 0 and [(r["version"], r["status"], r["current"], r["late"]) for r in listed] == [
        (1, "rejected", False, True),  # received now, long after the deadline
        (2, "signed_off", True, True),
    ]
    assert set(listed[0]) >= {"version", "status", "received_at", "late", "checksum", "current", "errors", "queries"}
    code, out, _ = _cli(capsys, "submissions", "--council", COUNCIL, "--period", PERIOD)
    assert code == 0 and "signed_off" in out


def test_cli_refused_and_user_errors(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    fake_validation: list[dict[str, Any]],
) -> None:  # fmt: skip
    refused = tmp_path / "refused.xlsx"
    refused.write_bytes(b"x")
    code, out, _ = _cli(capsys, "submit", str(refused), "--council", COUNCIL)
    assert code == 2 and "macros" in out
    code, _, err = _cli(capsys, "submit", str(refused), "--council", "E06999999")
    assert code == 2 and "not the GSS code" in err and len(err.splitlines()) == 1
    code, _, err = _cli(capsys, "submit", str(tmp_path / "missing.xlsx"), "--council", COUNCIL)
    assert code == 2 and "no such file" in err
    code, _, err = _cli(capsys, "submit", str(refused), "--council", COUNCIL, "--received-at", "yesterday")
    assert code == 2 and "invalid --received-at" in err
    monkeypatch.delenv("LSCB_PSEUDONYMISATION_KEY")
    monkeypatch.delenv("LSCB_DEMO", raising=False)
    code, _, err = _cli(capsys, "submit", str(refused), "--council", COUNCIL)
    assert code == 2 and "no pseudonymisation key" in err


def test_cli_db_commands(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LSCB_DATABASE_URL", database_url)
    code, out, _ = _cli(capsys, "db", "current")
    assert code == 0 and out.startswith("base (empty)")
    code, out, _ = _cli(capsys, "db", "upgrade")
    assert code == 0 and "councils in the register" in out
    with get_engine(database_url).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM councils")).scalar_one() > 150
    code, out, _ = _cli(capsys, "db", "current")
    assert code == 0 and "up to date" in out
    code, out, _ = _cli(capsys, "db", "seed")
    assert code == 0
    code, out, _ = _cli(capsys, "db", "downgrade", "base")
    assert code == 0 and "base (empty)" in out
    code, _, err = _cli(capsys, "db", "seed")
    assert code == 2 and "lscb db upgrade" in err


def _with_whole_return_query(result: ValidationResult) -> ValidationResult:
    """The return with one more query, about the whole return: a finding with no row and no cell."""
    from transforms.findings import Finding

    query = Finding("PRV-01", "Q", "Activity", None, "referrals_to_police", None, "changed by more than half", None)
    result.findings = [*result.findings, query]
    return result


def test_a_query_with_no_row_is_explained_and_then_signed_off(migrated_url: str) -> None:
    """The explained-query join is NULL-safe on row: explaining a whole-return query counts, so
    the return can be signed off (it once could be explained but never signed off)."""
    _store(migrated_url, _with_whole_return_query(synthetic_result(COUNCIL, PERIOD, children=4, queries=1)))
    summary = current_submission(COUNCIL, PERIOD, engine_or_url=migrated_url)
    assert summary is not None and summary["unexplained_queries"] == 2
    with pytest.raises(StoreError, match=r"PRV-01 \(whole return\)"):
        sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    explain(COUNCIL, PERIOD, "CHD-23", 2, "Police declined", "officer", engine_or_url=migrated_url)
    text = "A new team started referring"
    after = explain(COUNCIL, PERIOD, "PRV-01", None, text, "officer", engine_or_url=migrated_url)
    assert after["unexplained_queries"] == 0 and after["all_queries_explained"] is True
    signed = sign_off(COUNCIL, PERIOD, "LSCB chair", engine_or_url=migrated_url)
    assert signed["status"] == "signed_off"


def test_cli_explains_a_whole_return_query_without_a_row(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def validate_upload(path: Path, **kwargs: Any) -> ValidationResult:
        result = _with_whole_return_query(synthetic_result(COUNCIL, PERIOD, children=4))
        result.checksum = file_checksum(Path(path))[0]
        result.source_name = kwargs["display_name"]
        return result

    monkeypatch.setattr(pipeline.receive, "validate_upload", validate_upload)
    upload = tmp_path / "whole-return-query.xlsx"
    upload.write_bytes(b"a return with a query about the whole return")
    code, out, _ = _cli(capsys, "submit", str(upload), "--council", COUNCIL)
    assert code == 0 and "1 query to fix or explain" in out
    code, _, err = _cli(capsys, "signoff", "--council", COUNCIL, "--period", PERIOD, "--by", "LSCB chair")
    assert code == 2 and "PRV-01 (whole return)" in err
    code, out, _ = _cli(
        capsys, "explain", "--council", COUNCIL, "--period", PERIOD, "--rule", "PRV-01",
        "--text", "A new team started referring in the quarter", "--by", "officer",
    )  # fmt: skip
    assert code == 0 and "PRV-01 (whole return) explained" in out and "ready to sign off" in out
    code, out, _ = _cli(capsys, "signoff", "--council", COUNCIL, "--period", PERIOD, "--by", "LSCB chair")
    assert code == 0 and "signed off by LSCB chair" in out
