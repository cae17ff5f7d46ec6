"""Children to trace as measures (pure): ages, the gap report's >28 days column, the summary."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd

from transforms.measures import findings_open_too_long, trace_ages, trace_summary

A, B, C = "E06000001", "E06000002", "E06000003"
BARNSLEY_OLD, BARNSLEY_NEW = "E08000016", "E08000038"
TODAY = date(2026, 3, 1)


def case(rule: str, a: str, b: str, first: date, status: str = "open", **fields: object) -> dict[str, object]:
    return {
        "rule": rule,
        "period": "2025-Q3",
        "from_council_code": a,
        "to_council_code": b,
        "status": status,
        "present": True,
        "first_seen_on": first,
        "resolved_at": None,
        **fields,
    }


def gaps_rows(*codes: str, period: str = "2025-Q3") -> pd.DataFrame:
    return pd.DataFrame([{"period": period, "council_code": code, "missing": False} for code in codes])


def test_open_longer_than_28_days_counts_each_council_told_about_it() -> None:
    traced = pd.DataFrame(
        [
            case("X1", A, B, date(2026, 2, 1)),  # 28 days: not longer than 28
            case("X1", A, B, date(2026, 1, 31)),  # 29 days: both councils are told
            case("X2", A, C, date(2026, 1, 1), status="acknowledged"),  # only A is told of an X2
            case("X4", A, C, date(2026, 1, 1)),  # only C is told of an X4
            case("X5", A, B, date(2026, 1, 1), status="resolved", resolved_at=datetime(2026, 2, 1, tzinfo=UTC)),
            case("X5", A, C, date(2026, 1, 1), present=False),  # no longer found: not a gap this compile
            case("X3", B, C, date(2026, 1, 1), period="2025-Q4"),  # about a later period than the row
        ]
    )
    out = findings_open_too_long(gaps_rows(A, B, C), traced, TODAY)
    assert dict(zip(out["council_code"], out["findings_open_over_28_days"], strict=True)) == {A: 2, B: 1, C: 1}
    assert list(out.columns)[:3] == ["period", "council_code", "missing"]


def test_a_recoded_council_keeps_its_cases() -> None:
    traced = pd.DataFrame([case("X1", A, BARNSLEY_OLD, date(2026, 1, 1))])
    out = findings_open_too_long(gaps_rows(BARNSLEY_NEW), traced, TODAY)
    assert out["findings_open_over_28_days"].tolist() == [1]


def test_ages_and_summary() -> None:
    traced = pd.DataFrame(
        [
            case("X1", A, B, date(2026, 2, 19)),
            case("X1", A, B, date(2026, 1, 30), status="acknowledged"),
            case("X1", A, B, date(2026, 1, 1), status="resolved", resolved_at=datetime(2026, 1, 11, 9, tzinfo=UTC)),
            case("X5", B, A, date(2026, 1, 1), present=False),
        ]
    )
    ages = trace_ages(traced, TODAY)
    assert ages["days_open"].tolist()[:2] == [10, 30] and pd.isna(ages["days_open"].iloc[2])
    assert ages["days_to_resolve"].iloc[2] == 10 and ages["over_limit"].tolist() == [False, True, False, False]
    councils, pairs = trace_summary(traced, TODAY)
    by_council = councils.set_index("council_code").to_dict("index")
    assert by_council[A] == {
        "open": 2,
        "acknowledged": 1,
        "no_longer_found": 1,
        "resolved": 1,
        "over_28_days": 1,
        "oldest_open_days": 30,
        "median_open_days": 20.0,
        "median_days_to_resolve": 10.0,
    }
    assert by_council[B]["open"] == 2 and by_council[B]["no_longer_found"] == 1
    assert [
        (r["from_council_code"], r["to_council_code"], r["open"], r["resolved"]) for r in pairs.to_dict("records")
    ] == [
        (A, B, 2, 1),
        (B, A, 0, 0),
    ]


def test_no_cases_yet() -> None:
    empty = pd.DataFrame(
        columns=[
            "rule",
            "period",
            "from_council_code",
            "to_council_code",
            "status",
            "present",
            "first_seen_on",
            "resolved_at",
        ]
    )
    assert findings_open_too_long(gaps_rows(A), empty, TODAY)["findings_open_over_28_days"].tolist() == [0]
    councils, pairs = trace_summary(empty, TODAY)
    assert councils.empty and pairs.empty
