"""Synthetic returns for every council over two periods, stored through `submit_file`, compiled.

The cross-council findings must equal synth's ground truth exactly, and the tracker must show
exactly the councils synth left out (not received) or made late.
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
            period=FIRST, out=synth_dir, periods=2, children=6, seed=5, missing_rate=0.05, late_rate=0.1,
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


def test_pair_counts_and_council_findings_agree_with_findings(compiled: dict[str, Any]) -> None:
    last = compiled["outcomes"][compiled["periods"][-1].code]
    findings = read_csv(last.paths["cross_council_findings"])
    pairs = read_csv(last.paths["cross_council"])
    assert sum(int(p["children"]) for p in pairs) == len(findings)
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
            "time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
            "region_name", "new_la_code", "old_la_code", "la_name",
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
