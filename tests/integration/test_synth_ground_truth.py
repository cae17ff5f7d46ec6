"""Exactness: what validation finds in synthetic returns is exactly synth's ground truth.

Synth injects breaches, each meant to produce exactly one finding (docs/DEVELOPING.md, "Where a
finding points"); validation must report those and nothing else: the set of
(council, rule, cell, field) per return must be equal, with no misses and no extras. A clean set
(error rate 0) must give no finding at all.

Validation costs about a second a file (the GX suite), so to keep the national test run fast
this validates, out of all councils of 2025-Q1, a smallest set of returns that between them hold
every kind of injected breach (greedy set cover), plus a sample of clean returns. Set
`LSCB_SYNTH_EXACT_ALL=1` to validate every return.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from synth import SynthOptions, generate
from synth.inject import KIND_NAMES
from transforms.validate import validate_file

pytestmark = pytest.mark.slow

ALL = os.environ.get("LSCB_SYNTH_EXACT_ALL", "") not in ("", "0")
CHILDREN = 40
ERROR_RATE = 0.3
Key = tuple[str, str, str | None, str | None]


def _cover(truth: dict[str, Any]) -> list[str]:
    """Files that between them hold every injected kind (greedy: the file adding most kinds first)."""
    kinds: dict[str, set[str]] = {}
    for finding in truth["findings"]:
        kinds.setdefault(finding["file"], set()).add(finding["injection"])
    wanted = set(KIND_NAMES)
    chosen: list[str] = []
    while wanted:
        best = max(sorted(kinds), key=lambda name: len(kinds[name] & wanted))
        if not kinds[best] & wanted:
            break
        chosen.append(best)
        wanted -= kinds[best]
    return chosen


def _compare(out: Path, truth: dict[str, Any], files: list[str]) -> tuple[list[str], int]:
    """Problems (misses, extras) over the given files, and the number of findings compared."""
    council_of = {r["file"]: r["council_code"] for r in truth["returns"]}
    expected: dict[str, dict[Key, str]] = {}
    for f in truth["findings"]:
        key = (f["council_code"], f["rule"], f["cell"], f["field"])
        expected.setdefault(f["file"], {})[key] = f["injection"]
    problems: list[str] = []
    compared = 0
    for name in files:
        code = council_of[name]
        result = validate_file(out / name, claimed_council=code)
        got = {(code, f.rule, f.cell, f.field): f for f in result.findings}
        want = expected.get(name, {})
        compared += len(want)
        for key in sorted(set(want) - set(got), key=str):
            problems.append(f"{name}: MISSED {key} (injection {want[key]})")
        for key in sorted(set(got) - set(want), key=str):
            problems.append(f"{name}: EXTRA {key}: {got[key].message}")
    return problems, compared


@pytest.mark.parametrize(("fmt", "seed"), [("xlsx", 11), ("csv", 12)])
def test_validation_finds_exactly_the_injected_breaches(tmp_path: Path, fmt: str, seed: int) -> None:
    result = generate(
        SynthOptions(period="2025-Q1", out=tmp_path, children=CHILDREN, seed=seed, error_rate=ERROR_RATE, format=fmt)
    )  # type: ignore[arg-type]
    truth = result.ground_truth
    made = Counter(f["injection"] for f in truth["findings"])
    assert set(made) == set(KIND_NAMES), f"kinds never injected: {sorted(set(KIND_NAMES) - set(made))}"
    files = sorted(r["file"] for r in truth["returns"]) if ALL else _cover(truth)
    problems, compared = _compare(tmp_path, truth, files)
    assert compared >= len(KIND_NAMES)
    assert not problems, f"{len(problems)} disagreements:\n" + "\n".join(problems[:60])


def test_clean_returns_give_no_findings(tmp_path: Path) -> None:
    result = generate(SynthOptions(period="2025-Q1", out=tmp_path, children=CHILDREN, seed=13))
    truth = result.ground_truth
    assert truth["findings"] == []
    names = sorted(r["file"] for r in truth["returns"])
    # a sample: the largest and smallest returns, councils with cross-council cases, a recoded council
    by_size = sorted(truth["returns"], key=lambda r: r["children"])
    involved = {c["from_council_code"] for c in truth["cross_council"]} | {c["to_council_code"] for c in truth["moves"]}
    sample = [by_size[0]["file"], by_size[-1]["file"], "E08000038_2025-Q1.xlsx"]
    sample += sorted(r["file"] for r in truth["returns"] if r["council_code"] in involved)[:5]
    files = names if ALL else list(dict.fromkeys(sample))
    problems, _ = _compare(tmp_path, truth, files)
    assert not problems, "\n".join(problems[:60])
