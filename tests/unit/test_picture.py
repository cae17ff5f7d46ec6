"""X6, the whole picture (standard section 5), over small hand-made sets of child records."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from schemas.register import load_register
from tests.unit.test_link import CUMBERLAND, CUMBRIA, A, B, C, rec
from transforms.link import WHOLE_PICTURE, council_findings, link
from transforms.picture import INDICATORS, Seen, children_by_council, describe, indicator_label

WESTMORLAND = "E06000064"  # Westmorland and Furness: Cumbria's other successor


def child(council: str, period: str, local_id: str, **fields: Any) -> dict[str, Any]:
    """A child record with every warning sign quiet (N, no episodes, LOW risk) unless given."""
    quiet: dict[str, Any] = {name: "N" for name in INDICATORS}
    quiet |= {"risk_level": "LOW", "missing_episodes": 0, "return_interview_offered": None, "upn_key": "u1"}
    return rec(council, period, local_id, **(quiet | fields))


def pictures(rows: list[dict[str, Any]], **kw: Any) -> list[Any]:
    frame = pd.DataFrame(rows)
    subs = sorted({(r["council_code"], r["period"]) for r in rows})
    return link(frame, subs, **kw).whole_pictures


def told(rows: list[dict[str, Any]]) -> set[tuple[str, str, str | None]]:
    return {
        (case.finding.to_council_code, case.finding.period, case.finding.to_local_child_id) for case in pictures(rows)
    }


def test_an_indicator_recorded_only_elsewhere_goes_to_the_council_now_responsible() -> None:
    rows = [
        child(
            A,
            "2025-Q1",
            "a1",
            ind_sti="Y",
            closed_on=pd.Timestamp("2025-03-20"),
            closure_reason="MOVED_OUT",
            moved_to_council=B,
        ),
        child(B, "2025-Q2", "b1", ind_sti="N"),
    ]
    cases = pictures(rows)
    assert [
        (c.finding.rule, c.finding.to_council_code, c.finding.period, c.finding.to_local_child_id) for c in cases
    ] == [(WHOLE_PICTURE, B, "2025-Q2", "b1")]
    case = cases[0]
    assert case.finding.from_local_child_id is None  # never A's id
    assert case.picture is not None
    assert case.picture.indicators == (("ind_sti", Seen(A, "2025-Q1")),)
    assert case.picture.signs == ("indicators",)
    assert case.picture.elsewhere == (Seen(A, "2025-Q1"),)
    assert "a1" not in repr(case.picture.to_json())
    # and nothing to A: A's child is closed, and A is told nothing of B's record
    assert all(c.finding.to_council_code != A for c in cases)


def test_the_same_indicators_in_both_councils_give_no_picture() -> None:
    signs = {"ind_sti": "Y", "ind_missing": "Y", "missing_episodes": 2, "return_interview_offered": "N"}
    rows = [
        child(A, "2025-Q1", "a1", **signs, risk_level="HIGH"),
        child(B, "2025-Q2", "b1", **signs, risk_level="HIGH"),
    ]
    assert told(rows) == set()


def test_records_older_than_12_months_do_not_count() -> None:
    # the last 12 months of 2025-Q2 are 2024-Q3 to 2025-Q2: 2024-Q2 ended a year before
    for older in ("2024-Q1", "2024-Q2"):
        assert told([child(A, older, "a1", ind_sti="Y"), child(B, "2025-Q2", "b1")]) == set()
    assert told([child(A, "2024-Q3", "a1", ind_sti="Y"), child(B, "2025-Q2", "b1")]) == {(B, "2025-Q2", "b1")}


def test_a_reorganised_council_is_not_another_council_for_its_own_children() -> None:
    # Cumbria's record of the child, and the same child open in its successor Cumberland
    rows = [child(CUMBRIA, "2023-Q1", "c1", ind_pregnancy="Y"), child(CUMBERLAND, "2023-Q2", "c1")]
    assert told(rows) == set()
    # ...but Cumbria's other successor is another council for Cumberland
    rows = [child(WESTMORLAND, "2023-Q2", "w1", ind_pregnancy="Y"), child(CUMBERLAND, "2023-Q3", "k1")]
    assert told(rows) == {(CUMBERLAND, "2023-Q3", "k1")}


def test_every_kind_of_sign_fires_and_each_is_quiet_when_b_shows_it() -> None:
    cases = {
        "missing": (
            {"missing_episodes": 3, "ind_missing": "Y", "return_interview_offered": "Y"},
            {"missing_episodes": 1, "ind_missing": "Y", "return_interview_offered": "Y"},
        ),
        "risk": ({"risk_level": "HIGH"}, {"risk_level": "HIGH"}),
        "no_return_interview": (
            {"missing_episodes": 1, "ind_missing": "Y", "return_interview_offered": "N"},
            {"missing_episodes": 1, "ind_missing": "Y", "return_interview_offered": "N"},
        ),
    }
    for sign, (elsewhere, here) in cases.items():
        fired = pictures([child(A, "2025-Q1", "a1", **elsewhere), child(B, "2025-Q2", "b1")])
        assert len(fired) == 1 and sign in fired[0].picture.signs, sign
        quiet = pictures([child(A, "2025-Q1", "a1", **elsewhere), child(B, "2025-Q2", "b1", **here)])
        assert quiet == [], (sign, [c.picture.signs for c in quiet])


def test_lower_risk_elsewhere_is_no_sign() -> None:
    assert told([child(A, "2025-Q1", "a1", risk_level="LOW"), child(B, "2025-Q2", "b1", risk_level="HIGH")]) == set()


def test_the_picture_combines_every_other_council_and_keeps_b_out_of_it() -> None:
    rows = [
        child(A, "2024-Q3", "a1", ind_truancy="Y", risk_level="MEDIUM"),
        child(
            C,
            "2025-Q1",
            "c1",
            ind_offending="Y",
            risk_level="HIGH",
            missing_episodes=2,
            ind_missing="Y",
            return_interview_offered="N",
        ),
        child(B, "2025-Q1", "b0", ind_gang_association="Y"),  # B's own earlier record: not "elsewhere"
        child(B, "2025-Q2", "b1", risk_level="MEDIUM"),
    ]
    (case,) = [c for c in pictures(rows) if c.finding.period == "2025-Q2"]
    picture = case.picture
    assert picture.elsewhere == (Seen(A, "2024-Q3"), Seen(C, "2025-Q1"))
    assert {name for name, _ in picture.indicators} == {"ind_truancy", "ind_offending", "ind_missing"}
    assert picture.highest_risk_level == "HIGH" and picture.highest_risk_at == (Seen(C, "2025-Q1"),)
    assert picture.missing_episodes_elsewhere == 2 and picture.missing_at == (Seen(C, "2025-Q1"),)
    assert picture.no_return_interview == (Seen(C, "2025-Q1"),)
    assert picture.signs == ("indicators", "missing", "risk", "no_return_interview")
    assert picture.other_councils == (C, A)  # the latest record first
    assert case.finding.from_council_code == C
    names = {A: "Hartlepool", C: "Redcar and Cleveland"}
    lines = describe(picture, names.__getitem__)
    assert "Truancy recorded by Hartlepool in 2024-Q3" in lines
    assert any(line.startswith("Risk assessed as high by Redcar and Cleveland in 2025-Q1") for line in lines)
    assert not any("b0" in line or "a1" in line or "c1" in line for line in lines)


def test_one_picture_per_child_council_and_period_with_a_stable_identity() -> None:
    rows = [child(A, "2025-Q1", "a1", ind_sti="Y"), child(B, "2025-Q2", "b1"), child(B, "2025-Q3", "b1")]
    first = pictures(rows)
    assert [(c.finding.period, c.finding.to_council_code) for c in first] == [("2025-Q2", B), ("2025-Q3", B)]
    assert len({c.identity for c in first}) == 2
    # a late record from another council adds to the picture; the case keeps its identity
    again = pictures([*rows, child(C, "2025-Q2", "c9", ind_pregnancy="Y")])
    assert {c.identity for c in again} >= {c.identity for c in first}
    q2 = [c for c in again if c.finding.period == "2025-Q2" and c.finding.to_council_code == B][0]
    assert {name for name, _ in q2.picture.indicators} == {"ind_sti", "ind_pregnancy"}


def test_a_child_open_in_two_councils_gets_a_picture_in_each() -> None:
    rows = [child(A, "2025-Q2", "a1", ind_sti="Y"), child(B, "2025-Q2", "b1", ind_pregnancy="Y")]
    assert told(rows) == {(A, "2025-Q2", "a1"), (B, "2025-Q2", "b1")}


def test_closed_cases_and_unlinked_children_get_nothing() -> None:
    closed = child(B, "2025-Q2", "b1", closed_on=pd.Timestamp("2025-05-01"), closure_reason="RISK_REDUCED")
    assert told([child(A, "2025-Q1", "a1", ind_sti="Y"), closed]) == set()
    assert told([child(A, "2025-Q1", "a1", ind_sti="Y", upn_key="u2"), child(B, "2025-Q2", "b1")]) == set()


def test_x6_is_not_a_pair_finding_and_counts_children_once_per_council() -> None:
    rows = [child(A, "2025-Q1", "a1", ind_sti="Y"), child(B, "2025-Q2", "b1"), child(B, "2025-Q3", "b1")]
    result = link(pd.DataFrame(rows), sorted({(r["council_code"], r["period"]) for r in rows}))
    assert all(f.rule != WHOLE_PICTURE for f in result.findings)
    assert council_findings(result.findings) == [t for t in council_findings(result.findings) if t.rule != "X6"]
    register = load_register()
    assert children_by_council([c.picture for c in result.whole_pictures], register.lineage_or_self) == {
        register.lineage_or_self(B): 1
    }


@pytest.mark.parametrize("name", INDICATORS)
def test_every_indicator_has_a_label(name: str) -> None:
    label = indicator_label(name)
    assert label and not label.startswith("ind_") and label == label.strip()
