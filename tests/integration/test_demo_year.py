"""The demonstration year tells the truth: one synthetic world over the four quarters of a year
(`synth.demo.prepare_year`, what `make demo-year` delivers), every file stored in the order it was
received through the same use case as the inbox DAG (rejected returns, their corrected copies,
late ones), then the compile of the last quarter: its X1-X6 findings equal the world's ground
truth per rule, per pair of councils and per child, with no X3 the world does not contain.

Shown once to fail when the world or the linkage is broken: see docs/DEVELOPING.md ("the
demonstration year's ground truth"); `test_a_broken_linkage_is_caught` keeps one such break here.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.calendar import Period, financial_year_periods

YEAR = "2025-26"
TODAY = date(2026, 12, 1)  # after the deadline of the quarter after the year: every X1 decided


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pipeline.receive import submit_file
    from store.migrate import upgrade
    from synth.demo import prepare_year

    root = tmp_path_factory.mktemp("demo-year")
    files = prepare_year(YEAR, staging=root / "synth", children=4, seed=3)
    staging = Path(files.truth).parent
    url = f"sqlite:///{root / 'lscb.sqlite'}"
    upgrade(url)
    statuses: Counter[str] = Counter()
    for entry in files.between(None, None):  # in the order they were received
        outcome = submit_file(
            staging / entry["file"],
            entry["council_code"],
            submitted_by="demo@example.gov.uk",
            received_at=datetime.fromisoformat(entry["received_at"]),
            engine_or_url=url,
            secret=b"demo-year-test-key",
        )
        statuses[outcome.status] += 1
    return {
        "files": files,
        "truth": json.loads(Path(files.truth).read_text(encoding="utf-8")),
        "url": url,
        "statuses": statuses,
        "last": financial_year_periods(YEAR)[-1],
    }


def test_the_world_holds_a_year_of_what_the_demo_promises(year: dict[str, Any]) -> None:
    truth = year["truth"]
    assert truth["periods"] == [p.code for p in financial_year_periods(YEAR)]
    assert truth["resubmitted"], "no return was rejected and corrected"
    assert truth["late"] and truth["missing"]
    assert year["statuses"]["rejected"] == len(truth["resubmitted"])  # each rejected once, then corrected
    assert year["statuses"]["duplicate"] == 0
    rules = Counter(c["rule"] for c in truth["cross_council"]) + Counter(c["rule"] for c in truth["whole_picture"])
    assert set(rules) == {"X1", "X2", "X3", "X4", "X5", "X6"}
    assert {c["period"] for c in truth["whole_picture"]} >= {p.code for p in financial_year_periods(YEAR)[:3]}


def test_the_compile_finds_exactly_what_the_world_holds(year: dict[str, Any]) -> None:
    from pipeline.compile import findings_through
    from synth.truth import compare

    found = findings_through(year["url"], year["last"], today=TODAY)
    check = compare(found, year["truth"])
    assert check.exact, "\n".join(check.lines() + [f"extra {k}" for k in check.extra_examples])
    by_rule = {r.rule: r for r in check.rules}
    assert all(by_rule[rule].expected > 0 for rule in ("X1", "X2", "X3", "X4", "X5", "X6"))
    # no identity conflict the world does not contain (the failure of the per-quarter demos)
    world_x3 = sum(1 for c in year["truth"]["cross_council"] if c["rule"] == "X3")
    assert sum(1 for f in found if f.rule == "X3") == world_x3


def test_before_the_next_deadline_the_last_quarters_x1_is_not_yet_decided(year: dict[str, Any]) -> None:
    from pipeline.compile import findings_through

    last: Period = year["last"]
    found = findings_through(year["url"], last, today=last.final_compile_day)
    assert not [f for f in found if f.rule == "X1" and f.period == last.code]
    assert [c for c in year["truth"]["cross_council"] if c["rule"] == "X1" and c["period"] == last.code]


def test_a_broken_linkage_is_caught(year: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Linking on the pseudonymised UPN alone (the NHS number ignored) loses the children whose
    councils share only the NHS number: the comparison must say so."""
    from pipeline.compile import findings_through
    from synth.truth import compare
    from transforms import link

    original = link.prepare

    def upn_only(children: Any, *args: Any, **kwargs: Any) -> Any:
        frame = original(children, *args, **kwargs)
        frame["nhs_key"] = None
        return frame

    monkeypatch.setattr(link, "prepare", upn_only)
    check = compare(findings_through(year["url"], year["last"], today=TODAY), year["truth"])
    assert not check.exact
