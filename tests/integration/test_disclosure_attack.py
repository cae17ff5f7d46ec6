"""An attacker's view of every published table of a generated year (small counts, rows of zeros,
cross-council findings): each `c` is an unknown non-negative integer; every published total is an
equation over the council cells it adds up, a total rounded to 10 only as the interval it rounds
from (R-5 to R+4), a row total exactly. For each suppressed cell, integer programming (scipy's
`milp`) finds its least and greatest feasible values: no suppressed cell may have only one."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

SUPPRESSED = "c"
TABLES = {  # published table -> (count columns, the row total among them or None)
    "children": (["children_newly_identified", "missing_no_interview"], None),
    "cross_council": (["x1", "x2", "x3", "x4", "x5", "total"], "total"),
    "whole_picture": (["children_whole_picture"], None),
}


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def feasible_ranges(rows: list[dict[str, str]], columns: list[str], row_total: str | None) -> dict[Any, tuple]:
    """(area, column) of each `c` -> (least, greatest) value the published table allows. Every
    cell of the lowest level is a variable: a `c` any non-negative integer, a council's figure
    exactly itself, a region's (rounded, when regions are the lowest level) R-5 to R+4."""
    lowest = "Local authority" if any(r["geographic_level"] == "Local authority" for r in rows) else "Regional"
    cells = [r for r in rows if r["geographic_level"] == lowest]
    variables = [(i, c) for i in range(len(cells)) for c in columns]
    position = {cell: j for j, cell in enumerate(variables)}
    lower, upper = np.zeros(len(variables)), np.zeros(len(variables))
    for (i, column), j in position.items():
        value = cells[i][column]
        if value == SUPPRESSED:
            lower[j], upper[j] = 0, 10**6
        elif value not in ("x", "z", ""):
            exact = float(value)
            lower[j], upper[j] = (max(exact - 5, 0), exact + 4) if lowest == "Regional" else (exact, exact)
    a_rows, low, high = [], [], []
    for total in (r for r in rows if r["geographic_level"] != lowest):
        for column in columns:
            if total[column] in ("x", "z", SUPPRESSED, ""):
                continue
            row = np.zeros(len(variables))
            for i, r in enumerate(cells):
                if total["geographic_level"] == "National" or r["region_code"] == total["region_code"]:
                    row[position[(i, column)]] = 1
            rounded = float(total[column])
            a_rows.append(row)
            low.append(max(rounded - 5, 0))
            high.append(rounded + 4)
    if row_total:
        for i in range(len(cells)):
            row = np.zeros(len(variables))
            for column in columns:
                row[position[(i, column)]] = -1 if column == row_total else 1
            a_rows.append(row)
            low.append(0)
            high.append(0)
    constraints = [LinearConstraint(np.array(a_rows), low, high)] if a_rows else []
    ranges = {}
    for (i, column), j in position.items():
        if cells[i][column] != SUPPRESSED:
            continue
        extremes = []
        for sign in (1.0, -1.0):
            goal = np.zeros(len(variables))
            goal[j] = sign
            result = milp(
                goal, constraints=constraints, integrality=np.ones(len(variables)), bounds=Bounds(lower, upper)
            )
            assert result.success, result.message
            extremes.append(round(sign * result.fun))
        ranges[(cells[i].get("la_name") or cells[i]["region_name"], column)] = tuple(extremes)
    return ranges


@pytest.mark.parametrize("table", sorted(TABLES))
def test_no_suppressed_cell_of_a_published_table_has_a_single_feasible_value(generated_year: Any, table: str) -> None:
    columns, row_total = TABLES[table]
    rows = read(generated_year.annual_dir / f"{table}.csv")
    ranges = feasible_ranges(rows, columns, row_total)
    pinned = {cell: r for cell, r in ranges.items() if r[0] == r[1]}
    assert not pinned, f"{table}: suppressed cells an attacker recovers exactly: {pinned}"


def test_the_generated_year_has_suppressed_cells_and_zero_rows(generated_year: Any) -> None:
    rows = read(generated_year.annual_dir / "cross_council.csv")
    councils = [r for r in rows if r["geographic_level"] == "Local authority"]
    assert sum(r[c] == SUPPRESSED for r in councils for c in TABLES["cross_council"][0]) >= 20
    assert any(r["total"] == "0" for r in councils)


def test_the_attack_recovers_a_cell_hidden_beside_a_zero_total() -> None:
    """The attack itself: Hull's row total is 0, so a `c` in it can only be 0."""
    area = {"region_code": "R", "region_name": ""}
    rows = [
        {"geographic_level": "National", **area, "la_name": "", "a": "10", "b": "0", "t": "10"},
        {"geographic_level": "Local authority", **area, "la_name": "Hull", "a": "c", "b": "0", "t": "0"},
        {"geographic_level": "Local authority", **area, "la_name": "York", "a": "8", "b": "0", "t": "8"},
    ]
    assert feasible_ranges(rows, ["a", "b", "t"], "t") == {("Hull", "a"): (0, 0)}
