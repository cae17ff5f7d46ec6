"""Disclosure control: no published 1-5, no suppressed cell recoverable from totals, totals rounded."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import pytest

from transforms.disclosure import (
    SUPPRESSED,
    markers,
    protect,
    recoverable,
    round_total,
    suppress_rates,
)

COLUMNS = ["x1", "x2", "x3"]


def council_table(seed: int, councils: int = 30, regions: int = 4) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(councils):
        row: dict[str, Any] = {"council_code": f"E06{i:06d}", "region_code": f"R{i % regions}"}
        for col in COLUMNS:
            row[col] = rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 14, 30, 120])
        rows.append(row)
    return pd.DataFrame(rows)


def published_equations(table: pd.DataFrame, columns: list[str], row_total: str | None) -> list[dict[str, Any]]:
    """Every published total as (cells, total) for an attacker: column sums per region and for
    England, and each council's row total."""
    councils = table[table["geographic_level"] == "Local authority"]
    equations = []
    for col in columns:
        equations.append({"cells": [(i, col) for i in councils.index], "total": None})
        for _, group in councils.groupby("region_code"):
            equations.append({"cells": [(i, col) for i in group.index], "total": None})
    if row_total:
        for i in councils.index:
            equations.append({"cells": [(i, c) for c in COLUMNS], "total": (i, row_total)})
    return equations


@pytest.mark.parametrize("seed", range(8))
def test_no_published_cell_holds_one_to_five_and_totals_are_rounded(seed: int) -> None:
    exact = council_table(seed)
    result = protect(exact, COLUMNS, row_total="total")
    table = result.table
    councils = table[table["geographic_level"] == "Local authority"]
    for col in [*COLUMNS, "total"]:
        for value in councils[col]:
            assert value == SUPPRESSED or not (1 <= int(value) <= 5)
        totals = table[table["geographic_level"] != "Local authority"][col]
        assert all(int(v) % 10 == 0 for v in totals)
    england = table[table["geographic_level"] == "National"].iloc[0]
    assert england["x1"] == round_total(int(exact["x1"].sum()))


@pytest.mark.parametrize("seed", range(8))
def test_suppressed_cells_cannot_be_recovered_from_row_or_column_totals(seed: int) -> None:
    exact = council_table(seed)
    result = protect(exact, COLUMNS, row_total="total")
    table = result.table
    assert result.primary > 0
    councils = table[table["geographic_level"] == "Local authority"]
    suppressed = {(i, c) for i in councils.index for c in [*COLUMNS, "total"] if councils.at[i, c] == SUPPRESSED}
    # The attack: take each total as if published exactly (the rounding only helps the defender),
    # and solve any equation with a single unknown.
    for eq in published_equations(table, COLUMNS, "total"):
        cells = eq["cells"] + ([eq["total"]] if eq["total"] else [])
        unknown = [cell for cell in cells if cell in suppressed]
        assert len(unknown) != 1, f"{unknown[0]} recoverable from one total"
    # and the stronger attack: all equations at once (linear algebra)
    eqs = [eq["cells"] + ([eq["total"]] if eq["total"] else []) for eq in published_equations(table, COLUMNS, "total")]
    assert recoverable(eqs, suppressed) == []


def test_recoverable_finds_a_lonely_suppressed_cell() -> None:
    eqs = [[(0, "a"), (1, "a"), (2, "a")], [(0, "a"), (0, "b")]]
    assert recoverable(eqs, {(0, "a")}) == [(0, "a")]
    assert recoverable(eqs, {(0, "a"), (1, "a"), (0, "b")}) == []


def test_rounding_half_up_and_markers() -> None:
    assert [round_total(v) for v in (0, 4, 5, 14, 15, 1234)] == [0, 0, 10, 10, 20, 1230]
    assert round_total("x") == "x"
    assert markers(None) == "x"
    assert markers(0) == 0


def test_rates_with_small_counts_are_suppressed() -> None:
    frame = pd.DataFrame({"code": ["A", "B"], "rate": [12.5, 40.0], "rate_rank": [2, 1]})
    counts = pd.DataFrame({"code": ["A", "B"], "n": [3, 40]})
    out = suppress_rates(frame, {"rate": "n"}, counts)
    assert out["rate"].tolist() == [SUPPRESSED, 40.0]
    assert out["rate_rank"].tolist() == [SUPPRESSED, 1]


def test_exact_input_is_not_changed() -> None:
    exact = council_table(1)
    before = exact.copy()
    protect(exact, COLUMNS, row_total="total")
    pd.testing.assert_frame_equal(exact, before)


def test_secondary_suppression_never_hides_a_cell_of_a_row_whose_total_is_0() -> None:
    """Kingston upon Hull's row of zeros: a `c` in it could only be 0 (and suggest 1 to 5)."""
    frame = pd.DataFrame(
        [
            {"council_code": "A", "region_code": "R", "x2": 3, "x5": 0},
            {"council_code": "B", "region_code": "R", "x2": 0, "x5": 0},
            {"council_code": "C", "region_code": "R", "x2": 0, "x5": 0},
        ]
        + [{"council_code": f"S{i}", "region_code": "S", "x2": 9 + i, "x5": 7 + 2 * i} for i in range(6)]
    )
    result = protect(frame, ["x2", "x5"], row_total="total")
    hidden = {code for code, _ in result.suppressed_cells}
    assert ("A", "x2") in result.suppressed_cells and not hidden & {"B", "C"}
    assert len(hidden - {"A"}) >= 1  # still protected through England's total
