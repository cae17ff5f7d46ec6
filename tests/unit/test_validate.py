"""Validation beyond the rule table: end to end through real files, typing, the typed return,
identifier safety, GX and the per-return evaluator agreeing, GX staying quiet on stderr, and
the per-return path never importing GX."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from builders import write_csv_bundle, write_xlsx_return
from rules.baseline import NHS, TODAY, UPNS, ReturnData, baseline, build, child_cell, keyvalue_cell, wrong_nhs_digit
from rules.cases import CASES, Case

from schemas.standard import Rule, load_standard
from transforms.quality.gx import gx_evaluate
from transforms.validate import PreviousReturn, validate_file, validate_return
from transforms.validate.messages import IdentifierLeak, render

STANDARD = load_standard("1.0")


def write(path: Path, data: ReturnData) -> Path:
    return write_xlsx_return(path, data.about, data.strategy, data.activity, data.children)


def findings(result: Any) -> list[tuple[str, str | None]]:
    return sorted((f.rule, f.cell) for f in result.findings)


# ---- end to end through files ----------------------------------------------------------------


def test_baseline_xlsx_gives_no_findings(tmp_path: Path) -> None:
    result = validate_file(write(tmp_path / "r.xlsx", baseline()), today=TODAY)
    assert result.findings == []
    assert (result.council_code, result.period, result.standard_version) == ("E06000001", "2025-Q1", "1.0")
    assert result.typed is not None and len(result.typed.children) == 5


FILE_CASES = [
    c
    for c in CASES
    if c.id
    in {
        "bad sex",
        "impossible date",
        "negative count",
        "wrong check letter",
        "NHS check digit",
        "repeated id",
        "closed without reason",
        "open count too low",
        "turned 18, still open",
        "UK and ISO text dates",
        "LA number as a float",
        "other council claimed",
        "referrals fell",
    }
]


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.id for c in FILE_CASES])
def test_cases_through_xlsx(case: Case, tmp_path: Path) -> None:
    data = baseline()
    case.mutate(data)
    result = validate_file(write(tmp_path / "r.xlsx", data), **{"today": TODAY, **case.options})
    assert findings(result) == sorted(case.expected)


def test_file_cases_cover_several_rules() -> None:
    assert len(FILE_CASES) >= 10


def test_header_tolerance(tmp_path: Path) -> None:
    data = baseline()
    labels = {
        "local_child_id": "Local Child ID",
        "date_of_birth": "DATE_OF_BIRTH",
        "council_code": " Council code ",
        "cse_strategy": "CSE Strategy",
        "children_open_at_end": "Children  open at END",
    }
    path = write_xlsx_return(
        tmp_path / "r.xlsx", data.about, data.strategy, data.activity, data.children, header_labels=labels
    )
    assert validate_file(path, today=TODAY).findings == []


def test_csv_bundle_with_uk_dates(tmp_path: Path) -> None:
    data = baseline()
    for child in data.children:
        for name in ("date_of_birth", "identified_on", "closed_on"):
            if isinstance(child[name], datetime):
                child[name] = child[name].strftime("%d/%m/%Y")
    path = write_csv_bundle(tmp_path / "r.zip", data.about, data.strategy, data.activity, data.children)
    result = validate_file(path, today=TODAY)
    assert result.findings == []
    assert result.typed is not None
    assert result.typed.children.loc[2, "date_of_birth"] == date(2010, 5, 1)


def test_cells_in_a_reordered_file(tmp_path: Path) -> None:
    data = baseline()
    data.child("C002")["sex"] = "X"
    header = list(reversed(STANDARD.sheet("Children").field_names))
    path = write_xlsx_return(
        tmp_path / "r.xlsx", data.about, data.strategy, data.activity, data.children, children_header=header
    )
    result = validate_file(path, today=TODAY)
    column = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("sex")]
    assert findings(result) == [("VAL-02", f"Children!{column}3")]
    assert result.findings[0].local_child_id == "C002"


# ---- typing -------------------------------------------------------------------------------------


def test_dates_in_every_accepted_form() -> None:
    data = baseline()
    data.child("C001")["date_of_birth"] = "01/05/2010"
    data.child("C002")["date_of_birth"] = "2011-09-30"
    data.child("C004")["date_of_birth"] = date(2012, 12, 12)
    data.child("C005")["date_of_birth"] = datetime(2008, 1, 1, 13, 45)
    result = validate_return(build(data), today=TODAY)
    assert result.findings == []
    assert result.typed is not None
    births = result.typed.children["date_of_birth"]
    assert list(births) == [
        date(2010, 5, 1),
        date(2011, 9, 30),
        date(2009, 2, 14),
        date(2012, 12, 12),
        date(2008, 1, 1),
    ]


def test_text_dates_at_midnight_are_dates_and_other_times_are_not() -> None:
    data = baseline()
    data.child("C001")["date_of_birth"] = "2010-05-01 00:00:00"  # pandas' to_csv of a date column
    data.child("C002")["date_of_birth"] = "30/09/2011 00:00"  # Excel's CSV export
    data.child("C004")["date_of_birth"] = "2012-12-12T00:00:00"
    data.child("C005")["date_of_birth"] = "01/01/2008 13:45"
    result = validate_return(build(data), today=TODAY)
    assert [(f.rule, f.field, f.local_child_id) for f in result.findings] == [("VAL-03", "date_of_birth", "C005")]
    assert result.typed is not None
    births = list(result.typed.children["date_of_birth"])
    assert births[:4] == [date(2010, 5, 1), date(2011, 9, 30), date(2009, 2, 14), date(2012, 12, 12)]


def test_excel_floats_become_text_and_counts() -> None:
    data = baseline()
    data.child("C001")["local_child_id"] = 12345.0
    data.about["la_number"] = 805.0
    data.activity["charges"] = 0.0
    data.child("C002")["missing_episodes"] = "0"
    result = validate_return(build(data), today=TODAY)
    assert result.findings == []
    assert result.typed is not None
    assert result.typed.children.loc[2, "local_child_id"] == "12345"
    assert result.typed.about["la_number"] == "805"
    assert result.typed.activity["charges"] == 0 and isinstance(result.typed.activity["charges"], int)
    assert result.typed.about["standard_version"] == "1.0"


def test_typed_return_shape() -> None:
    data = baseline()
    data.drop_fields["Children"] = ["moved_from_child_id"]
    result = validate_return(build(data), today=TODAY)
    typed = result.typed
    assert typed is not None
    assert list(typed.children.columns) == list(STANDARD.sheet("Children").field_names)
    assert list(typed.children.index) == [2, 3, 4, 5, 6]
    assert typed.children["moved_from_child_id"].isna().all()
    row = typed.children.loc[2]
    assert row["upn"] == UPNS[0] and row["nhs_number"] is None
    assert isinstance(row["missing_episodes"], int) and row["missing_episodes"] == 2
    assert row["identified_on"] == date(2025, 4, 10)
    assert typed.strategy["strategy_reviewed_on"] == date(2025, 3, 1)
    assert typed.activity["children_open_at_end"] == 3


# ---- identifiers never leave ----------------------------------------------------------------------


def test_no_finding_repeats_an_identifier() -> None:
    data = baseline()
    data.child("C001")["upn"] = "A" + UPNS[0][1:]  # wrong check letter
    data.child("C002")["nhs_number"] = wrong_nhs_digit(NHS[1])
    data.child("C004")["upn"] = UPNS[3][:10]
    data.child("C004")["nhs_number"] = NHS[3] + "9"
    data.child("C005")["no_id_reason"] = "NOT_KNOWN"
    data.child("C003")["upn"] = "x" + UPNS[2 if len(UPNS) > 2 else 0][1:]
    identifiers = {str(c.get(k)) for c in data.children for k in ("upn", "nhs_number") if c.get(k)}
    identifiers |= {i.replace(" ", "").upper() for i in identifiers}
    result = validate_return(build(data), today=TODAY, claimed_council="E06000001")
    assert {f.rule for f in result.findings} >= {"CHD-04", "CHD-05", "CHD-07", "CHD-08", "CHD-03"}
    for finding in result.findings:
        text = " ".join(str(v) for v in finding.to_json().values())
        for identifier in identifiers:
            assert identifier not in text


def test_a_message_that_would_show_an_identifier_fails_loudly() -> None:
    leaky = Rule(id="X-TEST", severity="E", scope="field", message="'{value}' is wrong", description="")
    with pytest.raises(IdentifierLeak):
        render(STANDARD, leaky, {"value": "R805"}, value_field="upn")
    named = Rule(id="X-TEST", severity="E", scope="field", message="{nhs_number}", description="")
    with pytest.raises(IdentifierLeak):
        render(STANDARD, named, {"nhs_number": "1"}, value_field=None)
    with pytest.raises(KeyError):
        render(STANDARD, leaky, {}, value_field="sex")


# ---- PRV-01, the claim, findings' details --------------------------------------------------------


def test_previous_return_names_its_period_and_figure() -> None:
    data = baseline()
    prev = PreviousReturn(period="2024-Q4", activity={"referrals_to_police": 30})
    result = validate_return(build(data), today=TODAY, previous=prev)
    [finding] = result.findings
    assert (finding.rule, finding.cell, finding.field) == (
        "PRV-01",
        keyvalue_cell("Activity", "referrals_to_police"),
        "referrals_to_police",
    )
    assert "is 2, against 30 in 2024-Q4" in finding.message
    assert result.status == "accepted" and result.queries == 1


def test_child_finding_details() -> None:
    data = baseline()
    data.child("C001")["referred_to_police"] = "N"
    [finding] = validate_return(build(data), today=TODAY).findings
    assert finding.to_json() == {
        "rule": "CHD-23",
        "severity": "Q",
        "sheet": "Children",
        "cell": child_cell("risk_level", "C001"),
        "field": "risk_level",
        "local_child_id": "C001",
        "message": STANDARD.rule("CHD-23").message,
    }
    assert finding.row == 2


def test_duplicate_ids_point_at_later_rows_and_name_the_first() -> None:
    data = baseline()
    for who in ("C003", "C005"):
        data.child(who)["local_child_id"] = "C001"
    result = validate_return(build(data), today=TODAY)
    dupes = [f for f in result.findings if f.rule == "CHD-01"]
    assert [f.cell for f in dupes] == ["Children!A4", "Children!A6"]
    assert all("also row 2" in f.message for f in dupes)


# ---- GX and pandas agree; GX is quiet --------------------------------------------------------------


def _many_mistakes() -> ReturnData:
    data = baseline()
    data.child("C001").update(sex="x", ind_missing="N", return_interview_offered=None, referred_to_police="N")
    data.child("C002").update(closure_reason=None, date_of_birth="31/02/2011", moved_from_child_id="Q")
    data.child("C003").update(moved_to_council=None, closed_on=datetime(2025, 5, 1))
    data.child("C004").update(upn=None, nhs_number=None, missing_episodes=-2)
    data.child("C005").update(identified_on=datetime(2025, 7, 2), local_child_id="Y" * 40)
    data.about.update(prepared_by_email="nobody", signed_off_on=datetime(2025, 6, 1))
    data.strategy.update(multi_agency_team="NONE", info_sharing_protocol="NONE", staff_trained="lots")
    data.activity.update(children_missing=9, return_interviews_within_72h=4)
    return data


def test_gx_and_the_evaluator_give_the_same_findings() -> None:
    reference = validate_return(build(_many_mistakes()), today=TODAY).findings
    assert len(reference) >= 15
    assert validate_return(build(_many_mistakes()), today=TODAY, evaluator=gx_evaluate).findings == reference


def test_dates_beyond_the_nanosecond_range_give_the_same_findings_through_gx() -> None:
    # GX gets nanosecond dates where all fit (1677-2262); a typo like 3025 must not break that
    data = baseline()
    data.child("C001").update(closed_on=datetime(3025, 5, 1), closure_reason="RISK_REDUCED")
    data.child("C002").update(identified_on=datetime(1500, 1, 1))
    reference = findings(validate_return(build(data), today=TODAY))
    assert ("CHD-14", "Children!X2") in reference  # closed after the period
    assert any(rule == "CHD-10" for rule, _ in reference)  # identified before birth
    assert findings(validate_return(build(data), today=TODAY, evaluator=gx_evaluate)) == reference


def test_gx_frames_hold_only_the_columns_the_expectations_read() -> None:
    from transforms.quality.gx import RETURN_COLUMNS, return_frame, row_condition
    from transforms.validate.engine import _sheet_values, standard_expectations

    ret = build(baseline())
    children = _sheet_values(STANDARD, STANDARD.sheet("Children"), ret)
    mine = [e for e in standard_expectations("1.0") if e.sheet == "Children"]
    read = {name for e in mine for name in e.fields_read}
    frame = return_frame(children, sorted(read))
    assert set(frame.columns) == {f"{name}{suffix}" for name in read for suffix in ("", "__v", "__ok", "__n")}
    assert str(frame["closed_on__v"].dtype) == "datetime64[ns]"
    for e in mine:
        if e.when:
            frame.eval(row_condition(e.when, RETURN_COLUMNS), parser="pandas", engine="python")  # its columns are there


def test_gx_writes_nothing_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    validate_return(build(_many_mistakes()), today=TODAY, evaluator=gx_evaluate)
    assert capfd.readouterr().err == ""


def test_the_per_return_path_never_imports_gx(tmp_path: Path) -> None:
    """Reading, validating and writing feedback for a return imports no Great Expectations (its
    import alone costs seconds and ~160 MB per process)."""
    import subprocess
    import sys

    path = write(tmp_path / "return.xlsx", _many_mistakes())
    code = (
        "import sys\n"
        "from transforms.ingest import read_return\n"
        "from transforms.validate import validate_return\n"
        "from reports.feedback import write_feedback\n"
        f"ret = read_return({str(path)!r})\n"
        "result = validate_return(ret)\n"
        f"write_feedback(ret, result, __import__('pathlib').Path({str(tmp_path / 'feedback.xlsx')!r}))\n"
        "print(len(result.findings), sorted(m for m in sys.modules if m.split('.')[0] == 'great_expectations'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) >= 15 and out[1:] == ["[]"]


def test_expectations_are_generated_from_the_standard() -> None:
    from transforms.validate.engine import standard_expectations

    made = standard_expectations("1.0")
    code_fields = {f"{s.name}.{f.name}" for s in STANDARD.sheets for f in s.fields if f.type == "code"}
    assert {f"{e.sheet}.{e.field}" for e in made if e.rule == "VAL-02"} == code_fields
    required = {f"{s.name}.{f.name}" for s in STANDARD.sheets for f in s.fields if f.required}
    assert {f"{e.sheet}.{e.field}" for e in made if e.rule == "VAL-01"} == required
    conditional = {e.rule for e in made if e.when}
    assert {"CHD-13", "CHD-16", "CHD-18"} <= conditional
    assert all(rule.expect for rule in STANDARD.rules if rule.id in {e.rule for e in made})


def test_first_gx_validations_in_several_threads_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # the first GX runs build the context and suites together (this once failed: "a datasource
    # of that name already exists"); the gate may run in a thread pool
    from concurrent.futures import ThreadPoolExecutor

    from transforms.quality import gx

    monkeypatch.setattr(gx, "_suites", {})
    gx.gx_context.cache_clear()
    gx._batch_for_rows.cache_clear()
    gx.gx_context()  # a fresh context with no suites yet: the threads race to add them
    data = baseline()
    data.child("C002")["sex"] = "X"
    ret = build(data)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: validate_return(ret, today=TODAY, evaluator=gx_evaluate), range(4)))
    expected = [(f.rule, f.cell) for f in results[0].findings]
    assert ("VAL-02", child_cell("sex", "C002")) in expected
    assert all([(f.rule, f.cell) for f in r.findings] == expected for r in results)


# ---- bounded findings (issue 16, item 2) ----


def test_findings_are_capped_per_rule_with_a_count_of_the_rest(tmp_path: Path) -> None:
    from builders import children_rows, sample_about, sample_activity, sample_strategy

    from transforms.validate.engine import MAX_FINDINGS_PER_RULE

    children = children_rows(MAX_FINDINGS_PER_RULE + 250)
    for child in children:
        child["ethnicity"] = "W" * 500  # long and wrong: quoted truncated
    activity = sample_activity(children_newly_identified=len(children), children_open_at_end=len(children))
    path = write_xlsx_return(tmp_path / "wrong.xlsx", sample_about(), sample_strategy(), activity, children)
    result = validate_file(path, today=date(2025, 9, 1))
    ethnicity = [f for f in result.findings if f.rule == "VAL-02" and f.field == "ethnicity"]
    assert len(ethnicity) == MAX_FINDINGS_PER_RULE + 1
    assert ethnicity[-1].message.startswith("and 250 more findings of rule VAL-02")
    assert all(len(f.message) < 400 for f in result.findings)
    assert "W" * 41 not in ethnicity[0].message


def test_few_findings_are_all_listed() -> None:
    from transforms.findings import Finding
    from transforms.validate.engine import cap_findings

    findings = [Finding("VAL-02", "E", "Children", f"Children!G{i}", "sex", None, "m", i) for i in range(2, 12)]
    assert cap_findings(findings, per_rule=10) == findings
    capped = cap_findings(findings, per_rule=4)
    assert len(capped) == 5 and capped[-1].message.startswith("and 6 more findings")
    assert len(cap_findings(findings, per_rule=100, total=3)) == 4


def test_one_mistake_of_a_whole_sheet_or_period_gives_one_finding(tmp_path: Path) -> None:
    from builders import children_rows, sample_about, sample_activity, sample_strategy

    today = date(2025, 9, 1)
    future = write_xlsx_return(
        tmp_path / "future.xlsx",
        sample_about(period="2027-Q1"),
        sample_strategy(),
        sample_activity(),
        children_rows(30),
    )
    assert [f.rule for f in validate_file(future, today=today).findings] == ["ABT-03"]
    activity = sample_activity(children_newly_identified=0, children_open_at_end=0)
    blank = write_xlsx_return(
        tmp_path / "blank.xlsx", sample_about(), sample_strategy(), activity, [], children_header=[]
    )
    assert [f.rule for f in validate_file(blank, today=today).findings] == ["STRUCT-06"]
