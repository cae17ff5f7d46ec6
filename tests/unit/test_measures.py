"""Tracker states, lateness, ranks and bands, strategy maturity and rates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from schemas.calendar import Period
from schemas.register import load_register
from transforms.measures import (
    NationalData,
    days_after_deadline,
    gaps,
    league_table,
    rank_and_band,
    strategy_maturity,
    tracker,
)

P = Period.parse("2025-Q2")
TODAY = date(2026, 6, 1)
REGISTER = load_register()
EXPECTED = [c.council_code for c in REGISTER.expected(P)]


def at(days_after_deadline: int) -> datetime:
    return datetime.combine(P.deadline + timedelta(days=days_after_deadline), datetime.min.time(), UTC) + timedelta(
        hours=12
    )


def sub(
    council: str, version: int, status: str, days: int, *, errors: int = 0, open_queries: int = 0
) -> dict[str, Any]:
    return {
        "council_code": council,
        "period": P.code,
        "version": version,
        "status": status,
        "received_at": at(days),
        "errors": errors,
        "queries": open_queries,
        "open_queries": open_queries,
    }


STRATEGY_BEST = {
    "cse_strategy": "REVIEWED",
    "multi_agency_team": "CO_LOCATED",
    "info_sharing_protocol": "SIGNED",
    "protocol_includes_health": "Y",
    "cse_lead_named": "Y",
    "team_police": "Y",
    "team_health": "Y",
    "team_social_care": "Y",
    "team_education": "Y",
    "team_youth_justice": "N",
    "team_voluntary": "N",
}


def data(subs: list[dict[str, Any]], activity: list[dict[str, Any]] | None = None) -> NationalData:
    base = NationalData.empty()
    return NationalData(
        submissions=pd.DataFrame(subs),
        strategy=pd.DataFrame([{"council_code": s["council_code"], "period": P.code, **STRATEGY_BEST} for s in subs]),
        activity=pd.DataFrame(activity) if activity else base.activity,
        children=base.children,
    )


def test_tracker_states_and_lateness() -> None:
    a, b, c, d, e = EXPECTED[:5]
    frame = tracker(
        [P],
        data(
            [
                sub(a, 1, "rejected", -3, errors=4),
                sub(a, 2, "accepted", 2),
                sub(b, 1, "rejected", -1, errors=2),
                sub(c, 1, "accepted", -10, open_queries=2),
                sub(d, 1, "accepted", 0),
                sub(d, 2, "signed_off", 5),
            ]
        ),
        today=TODAY,
    ).set_index("council_code")
    assert len(frame) == len(EXPECTED)
    assert frame.loc[a, "state"] == "accepted" and frame.loc[a, "days_after_deadline"] == 2
    assert frame.loc[a, "late"] and frame.loc[a, "versions"] == 2 and frame.loc[a, "errors"] == 4
    assert frame.loc[b, "state"] == "rejected" and frame.loc[b, "late"]  # nothing accepted by the deadline
    assert frame.loc[c, "state"] == "accepted_open_queries" and not frame.loc[c, "late"]
    assert frame.loc[d, "state"] == "signed_off" and frame.loc[d, "days_after_deadline"] == 0
    assert not frame.loc[d, "late"]  # the first accepted version was on time
    assert frame.loc[e, "state"] == "not_received" and frame.loc[e, "late"]


def test_tracker_not_yet_due_is_not_late() -> None:
    frame = tracker([P], data([]), today=P.deadline)
    assert set(frame["state"]) == {"not_received"}
    assert frame["late"].isna().all()


def test_deadline_day_is_on_time_in_london() -> None:
    q1 = Period.parse("2025-Q1")  # due 11 August 2025, British Summer Time
    just_before_midnight_london = datetime.combine(q1.deadline, datetime.min.time(), UTC) + timedelta(
        hours=22, minutes=59
    )
    assert days_after_deadline(q1, just_before_midnight_london) == 0  # 23:59 BST
    assert days_after_deadline(q1, just_before_midnight_london + timedelta(minutes=2)) == 1


def test_recoded_council_counts_under_expected_code() -> None:
    q1 = Period.parse("2025-Q1")  # Barnsley recoded on 1 May 2025
    subs = [
        {
            "council_code": "E08000016",
            "period": q1.code,
            "version": 1,
            "status": "accepted",
            "received_at": datetime(2025, 8, 1, tzinfo=UTC),
            "errors": 0,
            "queries": 0,
            "open_queries": 0,
        }
    ]
    frame = tracker(
        [q1], NationalData(pd.DataFrame(subs), pd.DataFrame(), pd.DataFrame(), pd.DataFrame()), today=TODAY
    ).set_index("council_code")
    assert "E08000016" not in frame.index
    assert frame.loc["E08000038", "state"] == "accepted"


def test_rank_and_band() -> None:
    values = pd.Series([10.0, 20.0, 20.0, 5.0, None, "z", 1.0, 7.0, 3.0, 8.0])
    ranks, bands = rank_and_band(values, higher_is_better=True)
    assert ranks.tolist() == [3, 1, 1, 6, None, None, 8, 5, 7, 4]
    assert bands.tolist() == ["B", "A", "A", "C", None, None, "D", "C", "D", "B"]
    ranks_low, _ = rank_and_band(values, higher_is_better=False)
    assert ranks_low[6] == 1


def test_strategy_maturity_from_code_list_order() -> None:
    assert strategy_maturity(STRATEGY_BEST) == 10
    worst = {
        **STRATEGY_BEST,
        "cse_strategy": "NONE",
        "multi_agency_team": "NONE",
        "info_sharing_protocol": "NONE",
        "protocol_includes_health": "N",
        "cse_lead_named": "N",
        "team_police": "N",
    }
    assert strategy_maturity(worst) == 0
    assert strategy_maturity({**STRATEGY_BEST, "cse_strategy": "bad"}) is None


def test_league_table_values_and_no_population_means_not_available() -> None:
    a, b = EXPECTED[:2]
    activity = [
        {
            "council_code": a,
            "period": P.code,
            "children_newly_identified": 10,
            "return_interviews_within_72h": 3,
            "children_missing": 4,
            "referrals_to_police": 20,
            "charges": 5,
        },
        {
            "council_code": b,
            "period": P.code,
            "children_newly_identified": 30,
            "return_interviews_within_72h": 0,
            "children_missing": 0,
            "referrals_to_police": 0,
            "charges": 0,
        },
    ]
    national = data([sub(a, 1, "accepted", -5), sub(b, 1, "accepted", 3, errors=1)], activity)
    table = league_table([P], national, today=TODAY)
    rows = table[table["geographic_level"] == "Local authority"].set_index("code")
    assert rows.loc[a, "timeliness_days"] == -5 and rows.loc[a, "timeliness_days_rank"] == 1
    assert rows.loc[a, "return_interview_72h_pct"] == 75.0
    assert rows.loc[b, "return_interview_72h_pct"] == "z"
    assert rows.loc[a, "charges_per_100_referrals"] == 25.0
    assert rows.loc[a, "identified_per_10000"] is None
    england = table[table["geographic_level"] == "National"].iloc[0]
    assert england["return_interview_72h_pct"] == 75.0  # 3 of 4 children, over both councils
    assert england["timeliness_days"] == -1.0

    population = pd.DataFrame({"council_code": [a, b], "year": [2025, 2024], "population_0_17": [20000, 60000]})
    with_pop = league_table([P], national, population=population, today=TODAY)
    rows = with_pop[with_pop["geographic_level"] == "Local authority"].set_index("code")
    assert rows.loc[a, "identified_per_10000"] == 5.0
    assert rows.loc[b, "identified_per_10000"] == 5.0
    assert with_pop[with_pop["geographic_level"] == "National"].iloc[0]["identified_per_10000"] == 5.0


def test_gaps_flags_and_completeness() -> None:
    a = EXPECTED[0]
    national = data([sub(a, 1, "accepted", 0)])
    national.strategy.loc[0, "cse_strategy"] = "PLANNING"
    national.children = pd.DataFrame(
        [
            {
                "council_code": a,
                "period": P.code,
                "local_child_id": "1",
                "upn_key": "k",
                "missing_episodes": 2,
                "return_interview_offered": "N",
            },
            {
                "council_code": a,
                "period": P.code,
                "local_child_id": "2",
                "upn_key": None,
                "missing_episodes": 0,
                "return_interview_offered": None,
            },
        ]
    )
    frame = gaps([P], national, today=TODAY).set_index("council_code")
    assert frame.loc[a, "no_strategy"] and not frame.loc[a, "no_co_located_team"]
    assert frame.loc[a, "missing_no_interview"] == 1
    assert frame.loc[a, "completeness_upn"] == 50.0
    assert frame.loc[a, "completeness_local_child_id"] == 100.0
    other = EXPECTED[1]
    assert frame.loc[other, "missing"] and pd.isna(frame.loc[other, "children"])
