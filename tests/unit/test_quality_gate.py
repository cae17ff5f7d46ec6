"""The national data-quality gate's suites (`transforms.quality.gate`) on small frames, through
GX Checkpoints: each check passes on clean tables and names what a tampered one breaks, child
records are held to the standard's Children expectations in their stored columns, and GX keeps
counts only for them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from schemas.calendar import Period
from schemas.expectations import expectations
from schemas.register import load_register
from schemas.standard import load_standard
from transforms.quality.gate import (
    failure_messages,
    is_failure,
    league_batch,
    published_counts_batch,
    published_totals_batch,
    stored_column_names,
    stored_expectations,
    stored_records_batch,
    tracker_batch,
)
from transforms.quality.gx import GateBatch, run_checkpoints

PERIOD = Period.parse("2025-Q1")
EXPECTED = ["E06000001", "E06000002", "E06000003"]
TIME = {"time_period": "202526", "time_identifier": "Financial year Q1"}


def _audit(batch: GateBatch, tmp_path: Path) -> tuple[bool, list[str], Any]:
    (result,) = run_checkpoints("test", [batch], tmp_path / "docs")
    failed = any(is_failure(o) for o in result.results)
    return not failed, failure_messages(batch, result), result


def _tracker(codes: list[str], states: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            **{k: [v] * len(codes) for k, v in TIME.items()},
            "geographic_level": ["Local authority"] * len(codes),
            "new_la_code": codes,
            "state": states or ["accepted"] * len(codes),
        }
    )


def test_the_tracker_has_one_row_per_expected_council(tmp_path: Path) -> None:
    kwargs = {"period": PERIOD.code, "expected": EXPECTED, "time_columns": TIME}
    assert _audit(tracker_batch(_tracker(EXPECTED), **kwargs), tmp_path)[0]

    passed, messages, _ = _audit(tracker_batch(_tracker(EXPECTED[1:]), **kwargs), tmp_path)
    assert not passed
    assert messages == ["tracker.csv: 2 rows, the register expects 3 for 2025-Q1 (E06000001 missing)"]

    swapped = _tracker(["E06000001", "E06000002", "E09000001"])  # right count, a council the period lacks
    passed, messages, _ = _audit(tracker_batch(swapped, **kwargs), tmp_path)
    assert not passed and messages == ["tracker.csv: E06000003 missing, E09000001 not expected for 2025-Q1"]

    passed, messages, _ = _audit(
        tracker_batch(_tracker(EXPECTED, ["accepted", "lost", "signed_off"]), **kwargs), tmp_path
    )
    assert not passed and messages == ["tracker.csv: state is a tracker state: 1 of 3 row(s) fail (E06000002)"]


def _league(ranks: list[str], bands: list[str], values: list[str]) -> pd.DataFrame:
    levels = ["National", "Regional", *["Local authority"] * len(ranks)]
    return pd.DataFrame(
        {
            "geographic_level": levels,
            "region_code": ["", "E12000001", *["E12000001"] * len(ranks)],
            "new_la_code": ["", "", *EXPECTED[: len(ranks)]],
            "timeliness_days": ["1.5", "1.5", *values],
            "timeliness_days_rank": ["x", "x", *ranks],
            "timeliness_days_band": ["x", "x", *bands],
        }
    )


def test_league_table_ranks_and_bands(tmp_path: Path) -> None:
    clean = _league(["1", "2", "x"], ["A", "C", "x"], ["-3", "2", "x"])
    assert _audit(league_batch(clean, measures=["timeliness_days"]), tmp_path)[0]

    passed, messages, _ = _audit(
        league_batch(_league(["0", "2", "x"], ["A", "E", "x"], ["-3", "2", "x"]), measures=["timeliness_days"]),
        tmp_path,
    )
    assert not passed
    range_message = "timeliness_days_rank is within 1..2 (the councils with a value): 1 of 3 row(s) fail (E06000001)"
    assert f"league_table.csv: {range_message}" in messages
    bands = [m for m in messages if m.startswith("league_table.csv: timeliness_days_band is A to D")]
    assert bands and all("(E06000002)" in m for m in bands)

    unranked = _league(["1", "x", "x"], ["A", "x", "x"], ["-3", "2", "x"])  # a council with a figure and no rank
    passed, messages, _ = _audit(league_batch(unranked, measures=["timeliness_days"]), tmp_path)
    assert not passed and any("has a rank" in m and "(E06000002)" in m for m in messages)


def _children_table(council: list[str], england: str, region: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "geographic_level": ["National", "Regional", *["Local authority"] * len(council)],
            "region_code": ["", "E12000001", *["E12000001"] * len(council)],
            "new_la_code": ["", "", *EXPECTED[: len(council)]],
            "children_newly_identified": [england, region, *council],
        }
    )


def test_published_counts_show_no_count_of_1_to_5_and_totals_are_rounded(tmp_path: Path) -> None:
    columns = ["children_newly_identified"]
    clean = _children_table(["12", "c", "7"], "30", "30")
    assert _audit(published_counts_batch(clean, name="children.csv", columns=columns), tmp_path)[0]
    assert _audit(published_totals_batch(clean, name="children.csv", columns=columns), tmp_path)[0]

    small = _children_table(["12", "3", "7"], "20", "20")
    passed, messages, _ = _audit(published_counts_batch(small, name="children.csv", columns=columns), tmp_path)
    assert not passed
    assert messages == [
        "children.csv: children_newly_identified shows no count of 1 to 5 (they are c): 1 of 5 row(s) fail (E06000002)"
    ]
    unrounded = _children_table(["12", "c", "7"], "31", "30")
    passed, messages, _ = _audit(published_counts_batch(unrounded, name="children.csv", columns=columns), tmp_path)
    assert not passed and "rounded to the nearest 10" in messages[0] and "(E92000001)" in messages[0]


def test_a_table_published_by_region_may_show_c_for_a_region_but_never_for_england(tmp_path: Path) -> None:
    """X6 is published by region only: its regions are the table's cells (a rounded figure or c),
    England its total (always rounded)."""

    def picture(england: str, regions: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "geographic_level": ["National", *["Regional"] * len(regions)],
                "region_code": ["", *[f"E1200000{n + 1}" for n in range(len(regions))]],
                "new_la_code": ["", *[""] * len(regions)],
                "children_whole_picture": [england, *regions],
            }
        )

    def audit(table: pd.DataFrame) -> bool:
        batch = published_counts_batch(
            table, name="whole_picture.csv", columns=["children_whole_picture"], suppressible_levels=["Regional"]
        )
        return bool(_audit(batch, tmp_path)[0])

    assert audit(picture("20", ["c", "10", "c"]))
    assert not audit(picture("c", ["c", "10"]))  # England is never suppressed
    assert not audit(picture("20", ["7", "10"]))  # a region's figure is rounded
    # without the option a region's c is a suppressed total, as before
    plain = published_counts_batch(picture("20", ["c", "10"]), name="w.csv", columns=["children_whole_picture"])
    assert not _audit(plain, tmp_path)[0]


def test_published_totals_agree_with_the_council_rows_after_rounding(tmp_path: Path) -> None:
    columns = ["children_newly_identified"]
    # 12 + 7 + 8 = 27 -> 30; nothing hidden, so the totals are exactly that
    exact = _children_table(["12", "7", "8"], "30", "30")
    assert _audit(published_totals_batch(exact, name="children.csv", columns=columns), tmp_path)[0]
    too_small = _children_table(["12", "c", "48"], "50", "50")  # at least 60 shown
    passed, messages, _ = _audit(published_totals_batch(too_small, name="children.csv", columns=columns), tmp_path)
    assert not passed
    assert any(
        "E12000001 children_newly_identified: 50 published, the cells it adds up give at least 60" in m
        for m in messages
    )
    too_large = _children_table(["12", "7", "8"], "40", "30")
    passed, messages, _ = _audit(published_totals_batch(too_large, name="children.csv", columns=columns), tmp_path)
    assert not passed and any("E92000001 children_newly_identified: 40 published" in m for m in messages)


def test_row_totals_agree_with_their_cells(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "geographic_level": ["National", "Regional", "Local authority", "Local authority"],
            "region_code": ["", "E12000001", "E12000001", "E12000001"],
            "new_la_code": ["", "", "E06000001", "E06000002"],
            "x1": ["20", "20", "8", "9"],
            "x2": ["10", "10", "6", "c"],
            "total": ["30", "30", "14", "c"],
        }
    )
    kwargs: dict[str, Any] = {"name": "cross_council.csv", "columns": ["x1", "x2"], "row_total": "total"}
    assert _audit(published_totals_batch(table, **kwargs), tmp_path)[0]
    table.loc[2, "total"] = "15"
    passed, messages, _ = _audit(published_totals_batch(table, **kwargs), tmp_path)
    assert not passed and any("E06000001 total of the row: 15 published" in m for m in messages)


# ---- stored child records ---------------------------------------------------------------------------------


def _stored(children: int = 8) -> pd.DataFrame:
    """Child records as the store holds them (pseudonymised, date of birth to the month)."""
    from pipeline.receive import child_rows
    from tests.support.synthetic import synthetic_result

    frames = []
    for code in EXPECTED:
        result = synthetic_result(code, PERIOD.code, children=children, seed=4)
        assert result.typed is not None
        frames.append(pd.DataFrame(child_rows(result.typed.children, b"unit-key", code, PERIOD.code)))
    return pd.concat(frames, ignore_index=True)


def _records_batch(records: pd.DataFrame) -> GateBatch:
    standard = load_standard()
    gss = frozenset(c.council_code for c in load_register().all())
    return stored_records_batch(
        records, expectations(standard, gss), standard=standard, period_start=PERIOD.start, period_end=PERIOD.end
    )


def test_stored_records_read_stored_columns_and_skip_raw_identifiers() -> None:
    standard = load_standard()
    gss = frozenset(c.council_code for c in load_register().all())
    every = [e for e in expectations(standard, gss) if e.sheet == "Children"]
    kept = stored_expectations(every, standard)
    assert kept and all("upn" not in e.fields_read and "nhs_number" not in e.fields_read for e in kept)
    assert {e.rule for e in every} - {e.rule for e in kept} == {"CHD-02", "CHD-04", "CHD-07"}
    names = stored_column_names(standard)
    assert names.given("date_of_birth") == names.typed("date_of_birth") == "birth_month"
    assert names.valid is None  # `is valid` reads as present
    with pytest.raises(KeyError):
        names.given("upn")


def test_stored_records_pass_and_a_closure_before_identification_fails_by_rule(tmp_path: Path) -> None:
    records = _stored()
    assert _audit(_records_batch(records), tmp_path)[0]

    row = records.index[records["council_code"] == "E06000002"][0]
    records.loc[row, ["identified_on", "closed_on", "closure_reason"]] = [PERIOD.end, PERIOD.start, "RISK_REDUCED"]
    passed, messages, result = _audit(_records_batch(records), tmp_path)
    assert not passed
    assert messages == [
        f"child_records: CHD-15 Children.closed_on is at least identified_on: 1 of {len(records)} row(s) fail "
        "(E06000002: 1)"
    ]
    # counts only: no value of any child's record in the result GX keeps (and renders)
    kept = json.dumps(result.to_json_dict(), default=str)
    for column in ("local_child_id", "upn_key", "nhs_key"):
        assert not any(str(v) in kept for v in records[column].dropna()), column


def test_a_query_rule_is_reported_as_a_warning_that_does_not_stop_publication(tmp_path: Path) -> None:
    records = _stored()
    records.loc[0, ["risk_level", "referred_to_police"]] = ["HIGH", "N"]  # CHD-23, a query
    passed, messages, _ = _audit(_records_batch(records), tmp_path)
    assert passed
    (message,) = messages
    assert message.startswith("child_records: CHD-23") and "publication goes on" in message


def test_out_of_range_dates_are_still_compared(tmp_path: Path) -> None:
    records = _stored(children=2)
    records.loc[0, "identified_on"] = date(3025, 1, 1)  # beyond pandas' nanosecond dates
    passed, messages, _ = _audit(_records_batch(records), tmp_path)
    assert not passed and any(m.startswith("child_records: CHD-11") for m in messages)
