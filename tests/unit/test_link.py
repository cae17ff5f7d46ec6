"""Cross-council rules X1 to X5 over small hand-made sets of child records."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from schemas.calendar import Period
from transforms.link import CrossCouncilFinding, cluster, council_findings, link, pair_counts, prepare

A = "E06000001"  # Hartlepool
B = "E06000002"  # Middlesbrough
C = "E06000003"  # Redcar and Cleveland
CUMBRIA = "E10000006"
CUMBERLAND = "E06000063"
BARNSLEY_OLD = "E08000016"
BARNSLEY_NEW = "E08000038"


def rec(council: str, period: str, local_id: str, **fields: Any) -> dict[str, Any]:
    p = Period.parse(period)
    row: dict[str, Any] = {
        "council_code": council,
        "period": period,
        "local_child_id": local_id,
        "upn_key": None,
        "nhs_key": None,
        "birth_month": "2010-05",
        "sex": "F",
        "identified_on": p.start.replace(year=p.start.year - 1),
        "closed_on": None,
        "closure_reason": None,
        "moved_to_council": None,
        "moved_from_council": None,
        "moved_from_child_id": None,
    }
    row.update(fields)
    return row


def run(rows: list[dict[str, Any]], submissions: list[tuple[str, str]] | None = None, **kw: Any) -> set[tuple]:
    frame = pd.DataFrame(rows)
    subs = submissions if submissions is not None else sorted({(r["council_code"], r["period"]) for r in rows})
    result = link(frame, subs, **kw)
    return {
        (f.rule, f.period, f.from_council_code, f.to_council_code, f.from_local_child_id, f.to_local_child_id)
        for f in result.findings
    }


def moved_out(council: str, period: str, local_id: str, to: str, **fields: Any) -> dict[str, Any]:
    end = Period.parse(period).end
    return rec(council, period, local_id, closed_on=end, closure_reason="MOVED_OUT", moved_to_council=to, **fields)


# ---------------------------------------------------------------- linkage


def test_linkage_through_either_identifier() -> None:
    rows = [
        rec(A, "2025-Q1", "a1", upn_key="u1"),
        rec(B, "2025-Q1", "b1", upn_key="u1", nhs_key="n1"),
        rec(C, "2025-Q1", "c1", nhs_key="n1"),
        rec(C, "2025-Q1", "c2", nhs_key="n2"),
    ]
    labels = cluster(prepare(pd.DataFrame(rows)))
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] != labels[0]


def test_linkage_by_moved_from_reference_when_keys_missing() -> None:
    rows = [
        rec(A, "2025-Q1", "a1"),
        rec(B, "2025-Q2", "b1", moved_from_council=A, moved_from_child_id="a1"),
        rec(A, "2025-Q1", "a2", upn_key="u1"),
        rec(B, "2025-Q2", "b2", upn_key="u2", moved_from_council=A, moved_from_child_id="a2"),  # keys disagree
    ]
    labels = cluster(prepare(pd.DataFrame(rows)))
    assert labels[0] == labels[1]
    assert labels[2] != labels[3]


def test_same_local_id_in_one_council_across_periods_and_recode_is_one_child() -> None:
    rows = [rec(BARNSLEY_OLD, "2024-Q4", "x"), rec(BARNSLEY_NEW, "2025-Q1", "x"), rec(A, "2025-Q1", "x")]
    labels = cluster(prepare(pd.DataFrame(rows)))
    assert labels[0] == labels[1] != labels[2]


# ---------------------------------------------------------------- X1


def test_x1_fires_when_child_not_in_destination_in_p_or_next() -> None:
    rows = [moved_out(A, "2025-Q1", "a1", B, upn_key="u1"), rec(B, "2025-Q1", "b9"), rec(B, "2025-Q2", "b9")]
    assert ("X1", "2025-Q1", A, B, "a1", None) in run(rows)


def test_x1_quiet_when_child_arrives_next_period_through_nhs_key() -> None:
    rows = [
        moved_out(A, "2025-Q1", "a1", B, upn_key="u1", nhs_key="n1"),
        rec(B, "2025-Q2", "b1", nhs_key="n1", identified_on=Period.parse("2025-Q2").start),
    ]
    assert not {f for f in run(rows) if f[0] == "X1"}


def test_x1_fires_when_child_only_arrives_two_periods_later() -> None:
    rows = [moved_out(A, "2025-Q1", "a1", B, upn_key="u1"), rec(B, "2025-Q3", "b1", upn_key="u1")]
    assert ("X1", "2025-Q1", A, B, "a1", None) in run(rows)


def test_x1_quiet_when_destination_split_and_child_in_successor() -> None:
    rows = [
        moved_out(A, "2022-Q4", "a1", CUMBRIA, upn_key="u1"),
        rec(CUMBERLAND, "2023-Q1", "cu1", upn_key="u1"),
    ]
    assert not {f for f in run(rows) if f[0] == "X1"}


def test_x1_quiet_when_destination_recoded() -> None:
    rows = [
        moved_out(A, "2025-Q1", "a1", BARNSLEY_OLD, nhs_key="n1"),
        rec(BARNSLEY_NEW, "2025-Q2", "bn1", nhs_key="n1"),
    ]
    assert not {f for f in run(rows) if f[0] == "X1"}


def test_x1_waits_for_next_period_when_not_decided() -> None:
    rows = [moved_out(A, "2025-Q2", "a1", B, upn_key="u1"), rec(B, "2025-Q2", "b9")]
    assert not run(rows, x1_decided_through="2025-Q1")
    assert run(rows) == {("X1", "2025-Q2", A, B, "a1", None)}


# ---------------------------------------------------------------- X2


def test_x2_fires_for_new_case_elsewhere_while_still_open() -> None:
    rows = [
        rec(A, "2025-Q1", "a1", upn_key="u1"),
        rec(B, "2025-Q2", "b1", upn_key="u1", identified_on=Period.parse("2025-Q2").start),
    ]
    assert ("X2", "2025-Q2", A, B, "a1", "b1") in run(rows)


def test_x2_new_case_by_first_appearance_after_a_return_without_the_child() -> None:
    rows = [
        rec(A, "2025-Q1", "a1", upn_key="u1"),
        rec(B, "2025-Q1", "b0"),
        rec(B, "2025-Q2", "b1", upn_key="u1"),  # identified long ago, but new to B
    ]
    assert ("X2", "2025-Q2", A, B, "a1", "b1") in run(rows)
    # without B's earlier return, B's first record says nothing about the case being new
    assert not {f for f in run(rows[:1] + rows[2:]) if f[0] == "X2"}


def test_x2_quiet_when_previous_council_closed_the_case() -> None:
    rows = [
        moved_out(A, "2025-Q1", "a1", B, upn_key="u1"),
        rec(B, "2025-Q1", "b1", upn_key="u1", identified_on=Period.parse("2025-Q1").start),
    ]
    assert not {f for f in run(rows) if f[0] in ("X1", "X2")}


def test_x2_quiet_for_reorganisation_and_recode() -> None:
    rows = [
        rec(CUMBRIA, "2022-Q4", "c1", upn_key="u1"),
        rec(CUMBERLAND, "2023-Q1", "cu1", upn_key="u1", identified_on=Period.parse("2023-Q1").start),
        rec(BARNSLEY_OLD, "2024-Q4", "b1", upn_key="u2"),
        rec(BARNSLEY_NEW, "2025-Q1", "b1x", upn_key="u2", identified_on=Period.parse("2025-Q1").start),
    ]
    assert not run(rows)


# ---------------------------------------------------------------- X3


def test_x3_fires_on_different_birth_month_or_sex() -> None:
    rows = [
        rec(A, "2025-Q1", "a1", upn_key="u1", birth_month="2010-05"),
        rec(B, "2025-Q1", "b1", upn_key="u1", birth_month="2010-06", closed_on=None),
        rec(A, "2025-Q1", "a2", nhs_key="n2", sex="F"),
        rec(C, "2025-Q2", "c2", nhs_key="n2", sex="M"),
    ]
    found = {f for f in run(rows) if f[0] == "X3"}
    assert found == {("X3", "2025-Q1", A, B, "a1", "b1"), ("X3", "2025-Q2", A, C, "a2", "c2")}


def test_x3_quiet_for_unknown_sex_same_council_and_recode() -> None:
    rows = [
        rec(A, "2025-Q1", "a1", upn_key="u1", sex="F"),
        rec(B, "2025-Q2", "b1", upn_key="u1", sex="U", identified_on=None),
        rec(A, "2025-Q1", "a3", upn_key="u3", birth_month="2010-05"),
        rec(A, "2025-Q2", "a3", upn_key="u3", birth_month="2010-07"),  # same council: not X3
        rec(BARNSLEY_OLD, "2024-Q4", "x", nhs_key="n1", birth_month="2011-01"),
        rec(BARNSLEY_NEW, "2025-Q1", "x", nhs_key="n1", birth_month="2011-02"),
    ]
    assert not {f for f in run(rows) if f[0] == "X3"}


# ---------------------------------------------------------------- X4


def test_x4_fires_when_named_previous_council_never_reported_child() -> None:
    rows = [rec(B, "2025-Q1", "b1", upn_key="u1", moved_from_council=A), rec(A, "2025-Q1", "a9")]
    assert run(rows) == {("X4", "2025-Q1", A, B, None, "b1")}


def test_x4_reported_once_in_first_period() -> None:
    rows = [
        rec(B, "2025-Q1", "b1", moved_from_council=A, moved_from_child_id="zz"),
        rec(B, "2025-Q2", "b1", moved_from_council=A, moved_from_child_id="zz"),
    ]
    assert run(rows) == {("X4", "2025-Q1", A, B, None, "b1")}


def test_x4_quiet_when_previous_council_or_its_predecessor_reported() -> None:
    rows = [
        rec(A, "2024-Q4", "a1", upn_key="u1"),
        rec(B, "2025-Q1", "b1", upn_key="u1", moved_from_council=A),
        rec(CUMBRIA, "2022-Q4", "c1", nhs_key="n1"),
        rec(C, "2023-Q2", "r1", nhs_key="n1", moved_from_council=CUMBERLAND),
    ]
    assert not {f for f in run(rows) if f[0] == "X4"}


# ---------------------------------------------------------------- X5


def test_x5_fires_when_open_at_same_period_end_in_two_councils() -> None:
    rows = [rec(A, "2025-Q1", "a1", nhs_key="n1"), rec(B, "2025-Q1", "b1", nhs_key="n1")]
    assert run(rows) == {("X5", "2025-Q1", A, B, "a1", "b1")}


def test_x5_quiet_when_one_closed_and_for_two_codes_of_one_council() -> None:
    rows = [
        moved_out(A, "2025-Q1", "a1", B, nhs_key="n1"),
        rec(B, "2025-Q1", "b1", nhs_key="n1", identified_on=Period.parse("2025-Q1").start),
        rec(BARNSLEY_OLD, "2025-Q1", "x", upn_key="u2"),
        rec(BARNSLEY_NEW, "2025-Q1", "y", upn_key="u2"),
    ]
    assert not run(rows)


def test_x5_linked_through_either_identifier() -> None:
    rows = [
        rec(A, "2025-Q1", "a1", upn_key="u1"),
        rec(
            B,
            "2024-Q4",
            "b1",
            upn_key="u1",
            nhs_key="n1",
            closed_on=Period.parse("2024-Q4").end,
            closure_reason="OTHER",
        ),
        rec(C, "2025-Q1", "c1", nhs_key="n1"),
    ]
    assert ("X5", "2025-Q1", A, C, "a1", "c1") in run(rows)


# ---------------------------------------------------------------- what councils are told


def test_council_messages_carry_only_own_id_and_no_keys() -> None:
    findings = [
        CrossCouncilFinding("X1", "2025-Q1", A, B, "a1", None),
        CrossCouncilFinding("X3", "2025-Q1", A, B, "a1", "b1"),
        CrossCouncilFinding("X4", "2025-Q1", A, B, None, "b1"),
        CrossCouncilFinding("X5", "2025-Q1", A, B, "a1", "b1"),
        CrossCouncilFinding("X2", "2025-Q1", A, B, "a1", "b1"),
    ]
    told = council_findings(findings)
    for item in told:
        others = {"a1"} if item.council_code == B else {"b1"}
        assert item.local_child_id not in others
        assert not any(other in item.message.split() for other in others)
        assert "a1" not in item.message if item.council_code == B else "b1" not in item.message
        assert "{" not in item.message
    assert {(t.council_code, t.rule) for t in told} == {
        (A, "X1"),
        (B, "X1"),
        (A, "X3"),
        (B, "X3"),
        (B, "X4"),
        (A, "X5"),
        (B, "X5"),
        (A, "X2"),
    }


def test_pair_counts() -> None:
    findings = [
        CrossCouncilFinding("X5", "2025-Q1", A, B, "a1", "b1"),
        CrossCouncilFinding("X5", "2025-Q1", A, B, "a2", "b2"),
        CrossCouncilFinding("X1", "2025-Q1", A, C, "a3", None),
    ]
    counts = pair_counts(findings)
    assert counts.to_dict("records") == [
        {"time_period": "2025-Q1", "rule": "X1", "from_council_code": A, "to_council_code": C, "children": 1},
        {"time_period": "2025-Q1", "rule": "X5", "from_council_code": A, "to_council_code": B, "children": 2},
    ]


@pytest.mark.parametrize("through", ["2025-Q1", None])
def test_through_limits_records(through: str | None) -> None:
    rows = [rec(A, "2025-Q2", "a1", nhs_key="n1"), rec(B, "2025-Q2", "b1", nhs_key="n1")]
    assert bool(run(rows, through=through)) is (through is None)


# ---------------------------------------------------------------- stable identities (children to trace)


def traced(rows: list[dict[str, Any]], **kw: Any) -> dict[tuple, Any]:
    frame = pd.DataFrame(rows)
    subs = sorted({(r["council_code"], r["period"]) for r in rows})
    result = link(frame, subs, **kw)
    assert [t.finding for t in result.traceable] == result.findings  # one each, in the same order
    return {
        (t.finding.rule, t.finding.period, t.finding.from_council_code, t.finding.to_council_code): t
        for t in result.traceable
    }


def test_identity_survives_later_returns_and_other_children() -> None:
    lost = moved_out(A, "2025-Q1", "a1", B, upn_key="key-upn-1", sex="M", birth_month="2011-03")
    first = traced([lost, rec(B, "2025-Q1", "b9")])
    later = traced(
        [
            rec(C, "2025-Q2", "c1", upn_key="key-upn-0"),  # another child, with a smaller key
            rec(B, "2025-Q2", "b9"),
            rec(B, "2025-Q1", "b9"),
            lost,
            # the same child seen again later with a new, smaller key: not before the finding's period
            rec(C, "2025-Q3", "c7", upn_key="key-upn-1", nhs_key="key-nhs-0"),
        ]
    )
    key = ("X1", "2025-Q1", A, B)
    assert first[key].identity == later[key].identity
    assert len(first[key].identity) == 64 and int(first[key].identity, 16) >= 0
    assert (first[key].closed_on, first[key].birth_month, first[key].sex) == (
        Period.parse("2025-Q1").end,
        "2011-03",
        "M",
    )


def test_identity_follows_the_lineage_not_the_code() -> None:
    """A move to Barnsley named by its old or its new code is the same case."""
    old = traced([moved_out(A, "2025-Q1", "a1", BARNSLEY_OLD, nhs_key="key-nhs-1")])
    new = traced([moved_out(A, "2025-Q1", "a1", BARNSLEY_NEW, nhs_key="key-nhs-1")])
    assert old[("X1", "2025-Q1", A, BARNSLEY_OLD)].identity == new[("X1", "2025-Q1", A, BARNSLEY_NEW)].identity


def test_identity_differs_by_child_rule_pair_and_period() -> None:
    rows = [
        moved_out(A, "2025-Q1", "a1", B, upn_key="key-upn-1"),
        moved_out(A, "2025-Q1", "a2", B, upn_key="key-upn-2"),
        moved_out(A, "2025-Q1", "a3", C, upn_key="key-upn-3"),
        moved_out(A, "2025-Q2", "a4", C, upn_key="key-upn-4"),
        rec(A, "2025-Q1", "a5", upn_key="key-upn-5"),
        rec(B, "2025-Q1", "b5", upn_key="key-upn-5"),  # X5 (and X2) for the same child
        rec(A, "2025-Q2", "a5", upn_key="key-upn-5"),
        rec(B, "2025-Q2", "b5", upn_key="key-upn-5"),
    ]
    result = link(pd.DataFrame(rows), sorted({(r["council_code"], r["period"]) for r in rows}))
    identities = [t.identity for t in result.traceable]
    assert len(identities) == len(set(identities)) >= 6
    x5 = {t.finding.period: t.identity for t in result.traceable if t.finding.rule == "X5"}
    assert set(x5) == {"2025-Q1", "2025-Q2"} and x5["2025-Q1"] != x5["2025-Q2"]


def test_a_child_without_a_key_is_known_by_lineage_and_local_id() -> None:
    rows = [moved_out(A, "2025-Q1", "a1", B), rec(B, "2025-Q1", "b9")]
    once = traced(rows)[("X1", "2025-Q1", A, B)]
    again = traced(list(reversed(rows)))[("X1", "2025-Q1", A, B)]
    other = traced([moved_out(A, "2025-Q1", "a2", B), rec(B, "2025-Q1", "b9")])[("X1", "2025-Q1", A, B)]
    assert once.identity == again.identity != other.identity


def test_no_key_leaves_linkage() -> None:
    rows = [
        moved_out(A, "2025-Q1", "a1", B, upn_key="key-upn-1", nhs_key="key-nhs-1"),
        rec(A, "2025-Q1", "a5", upn_key="key-upn-5"),
        rec(B, "2025-Q1", "b5", upn_key="key-upn-5", sex="M"),
    ]
    result = link(pd.DataFrame(rows), sorted({(r["council_code"], r["period"]) for r in rows}))
    assert result.traceable
    text = repr(result)
    assert "key-" not in text
