"""The cross-council cases synth plants are found by the national linker exactly once each, and
nothing else is: good moves (including a chain that links only through either identifier) raise
nothing, and every X1-X5 case is there."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from synth import SynthOptions, generate
from transforms.link import link

sys.path.insert(0, str(Path(__file__).parent))
from test_synth_support import child_records  # noqa: E402


@pytest.mark.parametrize(("periods", "seed"), [(1, 1), (3, 2)])
def test_linker_finds_exactly_the_planted_cases(tmp_path: Path, periods: int, seed: int) -> None:
    result = generate(
        SynthOptions(
            period="2025-Q1", out=tmp_path, periods=periods, children=15, seed=seed, missing_rate=0.05, format="csv"
        )
    )
    truth = result.ground_truth
    records, submissions = child_records(tmp_path)
    found = [tuple(f.to_json().values()) for f in link(records, submissions).findings]
    planted = [tuple(case.values()) for case in truth["cross_council"]]
    assert len(set(planted)) == len(planted)  # each case once in the ground truth
    assert Counter(found) == Counter(planted)
    rules = {case["rule"] for case in truth["cross_council"]}
    assert rules == {"X1", "X2", "X3", "X4", "X5"}
    moves = truth["moves"]
    assert len(moves) >= 10
    if periods > 1:
        assert any(m["period"] != m["arrival_period"] for m in moves)  # arrivals in the next period
        labels = {m["identifiers"] for m in moves}
        assert {"upn -> upn+nhs", "upn+nhs -> nhs"} <= labels  # linkage through either identifier
    missing = {(m["council_code"], m["period"]) for m in truth["missing"]}
    for case in truth["cross_council"]:
        assert (case["from_council_code"], case["period"]) not in missing or case["rule"] == "X2"
        assert case["from_council_code"] != case["to_council_code"]


def test_cases_prefer_returns_without_errors(tmp_path: Path) -> None:
    result = generate(SynthOptions(period="2025-Q1", out=tmp_path, children=10, seed=4, error_rate=0.01, format="csv"))
    truth = result.ground_truth
    rejected = {(r["council_code"], r["period"]) for r in truth["returns"] if r["has_errors"]}
    assert rejected
    involved = {(c[k], c["period"]) for c in truth["cross_council"] for k in ("from_council_code", "to_council_code")}
    assert not involved & rejected
