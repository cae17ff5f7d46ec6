"""Synthetic returns for every council over two periods, stored through `submit_file`, compiled.

The cross-council findings must equal synth's ground truth exactly, and the tracker must show
exactly the councils synth left out (not received) or made late. The national data-quality gate
passes on the compiled quarter (and its Data Docs show no child's id or key), and fails, naming
each, on a deleted tracker row, a rank of 0 and a stored record closed before it was identified.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.calendar import Period
from schemas.register import load_register

FIRST = "2025-Q1"
TODAY = date(2026, 11, 1)  # after both periods' and the next period's deadlines


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pipeline.compile import compile_period
    from pipeline.receive import submit_file
    from store.migrate import upgrade
    from synth import SynthOptions, generate

    root = tmp_path_factory.mktemp("compile")
    synth_dir = root / "returns"
    generate(
        SynthOptions(
            period=FIRST,
            out=synth_dir,
            periods=2,
            children=6,
            seed=5,
            missing_rate=0.05,
            late_rate=0.1,
            format="csv",
        )
    )
    url = f"sqlite:///{root / 'lscb.sqlite'}"
    upgrade(url)
    manifest = json.loads((synth_dir / "manifest.json").read_text())
    statuses = []
    for entry in manifest["files"]:
        outcome = submit_file(
            synth_dir / entry["file"],
            entry["council_code"],
            submitted_by="synth@example.gov.uk",
            received_at=datetime.fromisoformat(entry["received_at"]),
            engine_or_url=url,
            secret=b"integration-test-key",
        )
        statuses.append(outcome.status)
    periods = [Period.parse(FIRST), Period.parse(FIRST).next()]
    outcomes = {p.code: compile_period(url, p, root / p.code, today=TODAY) for p in periods}
    return {
        "truth": json.loads((synth_dir / "ground_truth.json").read_text()),
        "outcomes": outcomes,
        "statuses": statuses,
        "periods": periods,
        "url": url,
        "root": root,
    }


def read_csv(path: str | Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_every_file_was_stored(compiled: dict[str, Any]) -> None:
    assert compiled["statuses"] and set(compiled["statuses"]) <= {"accepted", "signed_off"}


def test_cross_council_findings_equal_ground_truth(compiled: dict[str, Any]) -> None:
    last = compiled["outcomes"][compiled["periods"][-1].code]
    rows = read_csv(last.paths["cross_council_findings"])
    found = {tuple((k, v or None) for k, v in sorted(row.items())) for row in rows}
    truth = {tuple(sorted(case.items())) for case in compiled["truth"]["cross_council"]}
    assert truth, "synth planted no cross-council cases"
    assert found == truth


def test_whole_pictures_equal_ground_truth_and_are_counted_per_council(compiled: dict[str, Any]) -> None:
    from sqlalchemy import select

    from store.engine import get_engine
    from store.tracing import TracedFinding

    with get_engine(compiled["url"]).connect() as connection:
        rows = connection.execute(select(TracedFinding).where(TracedFinding.rule == "X6")).all()
    found = {
        (r.period, r.from_council_code, r.to_council_code, r.from_local_child_id, r.to_local_child_id) for r in rows
    }
    truth = {
        (c["period"], c["from_council_code"], c["to_council_code"], c["from_local_child_id"], c["to_local_child_id"])
        for c in compiled["truth"]["whole_picture"]
    }
    assert truth, "synth planted no whole picture"
    assert found == truth
    for period in compiled["periods"]:
        counts = read_csv(compiled["outcomes"][period.code].paths["whole_picture"])
        by_council = {r["new_la_code"]: r["children_whole_picture"] for r in counts if r["new_la_code"]}
        expected: dict[str, int] = {}
        for case in truth:
            if case[0] == period.code:
                expected[case[2]] = expected.get(case[2], 0) + 1
        assert {code: int(n) for code, n in by_council.items() if n not in ("x", "0")} == expected
        assert compiled["outcomes"][period.code].findings["X6"] == sum(expected.values())


def test_pair_counts_and_council_findings_agree_with_findings(compiled: dict[str, Any]) -> None:
    last = compiled["outcomes"][compiled["periods"][-1].code]
    findings = read_csv(last.paths["cross_council_findings"])
    rows = read_csv(last.paths["cross_council"])
    pairs = [r for r in rows if r["geographic_level"] == "Local authority"]
    assert sum(int(p["children"]) for p in pairs) == len(findings)
    # England's total per period and rule equals its pairs, and the compiled period has all five
    england = {(r["time_identifier"], r["time_period"], r["rule"]): int(r["children"]) for r in rows
               if r["geographic_level"] == "National"}  # fmt: skip
    assert sum(england.values()) == len(findings)
    last_quarter = f"Financial year Q{compiled['periods'][-1].quarter}"
    assert {rule for (q, _, rule) in england if q == last_quarter} == {"X1", "X2", "X3", "X4", "X5"}
    told = read_csv(last.paths["council_findings"])
    for row in told:
        own = {f["from_local_child_id"] for f in findings if f["from_council_code"] == row["council_code"]} | {
            f["to_local_child_id"] for f in findings if f["to_council_code"] == row["council_code"]
        }
        if row["local_child_id"]:
            assert row["local_child_id"] in own
        others = {f["to_local_child_id"] for f in findings if f["from_council_code"] == row["council_code"]} | {
            f["from_local_child_id"] for f in findings if f["to_council_code"] == row["council_code"]
        }
        assert not any(other and other in row["message"] for other in others - own)


def test_tracker_shows_missing_and_late_councils(compiled: dict[str, Any]) -> None:
    truth = compiled["truth"]
    register = load_register()
    for period in compiled["periods"]:
        rows = read_csv(compiled["outcomes"][period.code].paths["tracker"])
        assert len(rows) == len(register.expected(period))
        not_received = {r["new_la_code"] for r in rows if r["state"] == "not_received"}
        late = {r["new_la_code"] for r in rows if r["state"] != "not_received" and r["late"] == "Y"}
        assert not_received == {m["council_code"] for m in truth["missing"] if m["period"] == period.code}
        assert late == {m["council_code"] for m in truth["late"] if m["period"] == period.code}
        outcome = compiled["outcomes"][period.code]
        assert outcome.not_received == len(not_received)
        assert outcome.late == len(late)


def test_the_headline_counts_are_the_trackers(compiled: dict[str, Any]) -> None:
    """`lscb demo report` (pipeline.tracker.period_summary) counts lateness and states exactly as
    tracker.csv does (it once counted late versions instead, and printed late 0 beside 4 late)."""
    from pipeline.tracker import period_summary

    for period in compiled["periods"]:
        rows = read_csv(compiled["outcomes"][period.code].paths["tracker"])
        summary = period_summary(compiled["url"], period, today=TODAY)
        assert summary["late_returns"] == sum(r["state"] != "not_received" and r["late"] == "Y" for r in rows) > 0
        states: dict[str, int] = {}
        for r in rows:
            states[r["state"]] = states.get(r["state"], 0) + 1
        assert summary["by_state"] == dict(sorted(states.items()))
        assert summary["expected_councils"] == len(rows)


def test_outputs_exist_and_are_ees_shaped(compiled: dict[str, Any]) -> None:
    outcome = compiled["outcomes"][compiled["periods"][0].code]
    for name in ("tracker", "league_table", "gaps"):
        header = read_csv(outcome.paths[name])[0]
        assert list(header)[:10] == [
            "time_period",
            "time_identifier",
            "geographic_level",
            "country_code",
            "country_name",
            "region_code",
            "region_name",
            "new_la_code",
            "old_la_code",
            "la_name",
        ]
        assert header["time_period"] == "202526"
    html = Path(outcome.paths["dashboard"]).read_text()
    assert "<svg" in html and "<script" not in html and 'lang="en-GB"' in html
    assert Path(outcome.paths["xlsx"]).stat().st_size > 0


def test_compile_and_annual_on_an_empty_database(migrated_url: str, tmp_path: Path) -> None:
    """Day one of the service: nothing stored yet, and the national team lists who has not
    submitted (a compile of a period before the first return once died on a date comparison)."""
    from pipeline.annual import build_annual
    from pipeline.compile import compile_period

    period = Period.parse("2026-Q1")
    outcome = compile_period(migrated_url, period, tmp_path / "q", today=TODAY)
    rows = read_csv(outcome.paths["tracker"])
    assert len(rows) == len(load_register().expected(period)) == outcome.not_received
    assert {r["state"] for r in rows} == {"not_received"} and all(r["late"] == "Y" for r in rows)
    assert outcome.findings == {rule: 0 for rule in outcome.findings}
    annual = build_annual(migrated_url, "2025-26", tmp_path / "annual", today=TODAY)
    assert annual.received_returns == 0 and annual.expected_returns > 0


# ---- the national data-quality gate -----------------------------------------------------------------


def test_the_gate_passes_on_the_compiled_quarter_and_its_data_docs_show_no_child(
    compiled: dict[str, Any], tmp_path: Path
) -> None:
    from sqlalchemy import select

    from pipeline.quality import audit_quarter
    from store.engine import get_engine
    from store.models import child_records

    period = compiled["periods"][0]
    result = audit_quarter(compiled["url"], period, Path(compiled["outcomes"][period.code].out_dir), tmp_path / "docs")
    assert result.success, result.messages
    assert set(result.suites) == {"child_records", "tracker.csv", "league_table.csv"}
    assert all(suite["expectations"] > 0 and suite["failed"] == 0 for suite in result.suites.values())
    index = Path(result.docs)
    assert index == tmp_path / "docs" / "index.html" and index.is_file()

    columns = [child_records.c.local_child_id, child_records.c.upn_key, child_records.c.nhs_key,
               child_records.c.moved_from_child_id]  # fmt: skip
    with get_engine(compiled["url"]).connect() as connection:
        stored = {str(v) for row in connection.execute(select(*columns)) for v in row if v}
    assert len(stored) > 1000
    written = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in index.parent.rglob("*") if p.is_file())
    assert "child_records" in written  # the stored records' suite is there, with its counts ...
    assert not [value for value in stored if value in written]  # ... and no child's id or key


def test_the_gate_fails_on_tampered_tables_and_records_and_names_each(compiled: dict[str, Any], tmp_path: Path) -> None:
    import shutil

    from sqlalchemy import insert, select

    from pipeline.quality import audit_quarter
    from store.engine import dispose_engines, get_engine
    from store.models import Submission, child_records

    period = compiled["periods"][0]
    folder = tmp_path / "outputs"
    shutil.copytree(compiled["outcomes"][period.code].out_dir, folder)
    tracker = (folder / "tracker.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    removed = tracker.pop(5)
    (folder / "tracker.csv").write_text("".join(tracker), encoding="utf-8")
    league = list(csv.DictReader((folder / "league_table.csv").open(encoding="utf-8", newline="")))
    ranked = next(row for row in league if row["strategy_maturity_rank"] not in ("x", ""))
    ranked["strategy_maturity_rank"] = "0"
    with (folder / "league_table.csv").open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(league[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(league)

    # a record written straight to the database, closed before it was identified
    database = tmp_path / "lscb.sqlite"
    shutil.copy(compiled["root"] / "lscb.sqlite", database)
    url = f"sqlite:///{database}"
    with get_engine(url).begin() as connection:
        first = connection.execute(
            select(child_records).join(Submission, Submission.id == child_records.c.submission_id)
            .where(child_records.c.period == period.code, Submission.status == "accepted").limit(1)
        ).mappings().one()  # fmt: skip
        row = {k: v for k, v in first.items() if k != "id"}
        row.update(local_child_id="TAMPERED-1", identified_on=period.end, closed_on=period.start,
                   closure_reason="RISK_REDUCED", moved_to_council=None)  # fmt: skip
        connection.execute(insert(child_records), [row])
    try:
        result = audit_quarter(url, period, folder, tmp_path / "docs")
    finally:
        dispose_engines()
    assert not result.success
    code = removed.split(",")[7]
    expected = len(load_register().expected(period))
    assert f"tracker.csv: {expected - 1} rows, the register expects {expected} for {period.code} ({code} missing)" \
        in result.messages  # fmt: skip
    assert any(m.startswith("league_table.csv: strategy_maturity_rank is within 1..") and ranked["new_la_code"] in m
               for m in result.messages)  # fmt: skip
    assert any(m.startswith("child_records: CHD-15 Children.closed_on is at least identified_on: 1 of ")
               and f"({first['council_code']}: 1)" in m for m in result.messages)  # fmt: skip
    assert result.failures["child_records"] == {"CHD-15 closed_on": 1}
    assert result.failures["tracker.csv"]["rows"] == 1
    assert result.failures["league_table.csv"]["strategy_maturity_rank range"] == 1
    assert "TAMPERED-1" not in json.dumps(result.to_json())
    assert Path(result.docs).is_file()  # the failed audit's Data Docs are written too


def test_lscb_audit_exits_0_on_the_compiled_quarter_and_1_on_a_tampered_one(
    compiled: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from lscb.cli import main

    period = compiled["periods"][0].code
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LSCB_OUTPUTS", str(compiled["root"]))  # the compile wrote <root>/<period>
    monkeypatch.setenv("LSCB_DATABASE_URL", compiled["url"])
    assert main(["quality", "--period", period, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["success"] and result["scope"] == period
    assert result["docs"] == str(compiled["root"] / period / "data_docs" / "index.html")

    folder = tmp_path / "tampered"
    shutil.copytree(compiled["root"] / period, folder, ignore=shutil.ignore_patterns("data_docs"))
    (folder / "league_table.csv").unlink()
    assert main(["quality", "--period", period, "--dir", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "the data-quality gate FAILED" in out and f"league_table.csv: not written (expected in {folder})" in out
    assert (folder / "data_docs" / "index.html").is_file()
    assert main(["quality", "--period", period, "--dir", str(tmp_path / "nowhere")]) == 2


def test_cli_compile_and_annual_on_an_empty_database(
    migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lscb compile` on a database with no returns writes a tracker of every expected council,
    not received, and exits 0; `lscb annual` for a year with none says so in one line."""
    from lscb.cli import main

    monkeypatch.setenv("LSCB_DATABASE_URL", migrated_url)
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    assert main(["compile", "--period", "2026-Q1", "--out", str(tmp_path / "q")]) == 0
    rows = read_csv(tmp_path / "q" / "tracker.csv")
    assert len(rows) == len(load_register().expected(Period.parse("2026-Q1")))  # 153 in the register today
    assert {r["state"] for r in rows} == {"not_received"}
    capsys.readouterr()
    assert main(["annual", "--year", "2025-26", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "no accepted return is stored for any quarter of the year yet" in out[0]
