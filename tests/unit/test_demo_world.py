"""One synthetic world per data directory (`synth.demo.claim_world`), the ground-truth comparison
(`synth.truth.compare`) and synth's corrected resubmissions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synth.demo import WORLD_MARKER, claim_world
from synth.truth import compare

QUARTER = {"period": "2025-Q4", "children": 200, "seed": 1}
YEAR = {"year": "2025-26", "children": 100, "seed": 1}


def test_a_new_directory_takes_the_world_and_the_same_world_carries_on_there(tmp_path: Path) -> None:
    data = tmp_path / "var"
    assert claim_world(data, QUARTER) == (data, None)
    assert json.loads((data / WORLD_MARKER).read_text()) == QUARTER
    assert claim_world(data, dict(QUARTER)) == (data, None)


def test_another_world_starts_fresh_beside_it_and_says_so(tmp_path: Path) -> None:
    data = tmp_path / "var"
    claim_world(data, QUARTER)
    chosen, message = claim_world(data, YEAR)
    assert chosen == tmp_path / "var-demo-year-2025-26-x100-s1"
    assert message and "another demonstration world (quarter 2025-Q4" in message and "starting" in message
    assert json.loads((data / WORLD_MARKER).read_text()) == QUARTER  # the first is left alone
    again, message = claim_world(data, YEAR)
    assert again == chosen and message and "carrying on" in message
    other, _ = claim_world(data, {**QUARTER, "period": "2025-Q1"})
    assert other == tmp_path / "var-demo-2025-Q1-x200-s1"


def test_a_directory_used_without_a_marker_is_not_mixed_into(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir()
    (data / "lscb.sqlite").write_bytes(b"")
    chosen, message = claim_world(data, QUARTER)
    assert chosen != data and message and "not this demonstration world" in message
    assert not (data / WORLD_MARKER).exists()


CASE = {
    "rule": "X1",
    "period": "2025-Q1",
    "from_council_code": "E06000001",
    "to_council_code": "E06000002",
    "from_local_child_id": "A1",
    "to_local_child_id": None,
}
PICTURE = {**CASE, "rule": "X6", "from_local_child_id": None, "to_local_child_id": "B7"}


def test_compare_is_exact_when_every_case_is_found_once() -> None:
    check = compare([CASE, {**PICTURE, "from_local_child_id": "never compared"}], {"cross_council": [CASE],
                    "whole_picture": [PICTURE]})  # fmt: skip
    assert check.exact
    assert {r.rule: (r.expected, r.found) for r in check.rules}["X6"] == (1, 1)


@pytest.mark.parametrize(
    ("found", "what"),
    [
        ([], "missing"),
        ([CASE, CASE], "extra"),
        ([{**CASE, "from_local_child_id": "A2"}], "extra"),  # the right pair, the wrong child
        ([{**CASE, "to_council_code": "E06000003"}], "pairs_differing"),
    ],
)
def test_compare_names_what_differs(found: list[dict[str, object]], what: str) -> None:
    check = compare(found, {"cross_council": [CASE], "whole_picture": []})
    assert not check.exact
    assert getattr(next(r for r in check.rules if r.rule == "X1"), what) >= 1


def test_a_rejected_return_is_corrected_once_and_the_copy_is_clean(tmp_path: Path) -> None:
    from synth import SynthOptions, generate

    result = generate(
        SynthOptions(
            period="2025-Q1", out=tmp_path, councils=["E06000001", "E06000002", "E06000003", "E06000004"],
            children=5, seed=2, error_rate=0.2, cover_kinds=False, resubmit_rate=1.0,
        )
    )  # fmt: skip
    truth = result.ground_truth
    rejected = [r for r in truth["returns"] if r["has_errors"]]
    copies = {r["resubmission_of"]: r for r in truth["returns"] if r.get("resubmission_of")}
    assert rejected and set(copies) == {r["file"] for r in rejected}
    for original in rejected:
        copy = copies[original["file"]]
        assert copy["file"].endswith("_corrected.xlsx") and copy["injected"] == [] and not copy["has_errors"]
        assert copy["received_at"] > original["received_at"] and copy["late"] == original["late"]
        assert (tmp_path / copy["file"]).read_bytes() != (tmp_path / original["file"]).read_bytes()
    assert {r["corrected"] for r in truth["resubmitted"]} == {c["file"] for c in copies.values()}


def test_without_resubmissions_the_world_is_unchanged(tmp_path: Path) -> None:
    from synth import SynthOptions, generate

    def truth(out: Path, rate: float) -> dict[str, object]:
        options = SynthOptions(period="2025-Q1", out=out, councils=["E06000001", "E06000002"], children=5, seed=4,
                               error_rate=0.2, resubmit_rate=rate)  # fmt: skip
        return generate(options).ground_truth

    none, some = truth(tmp_path / "a", 0.0), truth(tmp_path / "b", 1.0)
    assert none["resubmitted"] == []
    assert none["findings"] == some["findings"]
    assert [r for r in some["returns"] if not r.get("resubmission_of")] == none["returns"]


def test_a_world_directory_made_by_hand_is_not_taken_over(tmp_path: Path) -> None:
    data = tmp_path / "var"
    claim_world(data, QUARTER)
    squatter = tmp_path / "var-demo-year-2025-26-x100-s1"
    squatter.mkdir()
    (squatter / "lscb.sqlite").write_bytes(b"")
    with pytest.raises(RuntimeError, match="holds something else"):
        claim_world(data, YEAR)
