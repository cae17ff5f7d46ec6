"""Statistical disclosure control for published tables (standard section 7).

- Primary suppression: a count of 1 to 5 is shown as `c` (0 is shown: it reveals no child).
- Secondary suppression: every published total (a region's, England's, or a row total across
  columns) is one equation over the council cells it adds up. No equation may be left with a
  single suppressed cell, and, checked with linear algebra over all the equations at once, no
  suppressed cell may be worked out exactly even if every total were published exactly. Where
  one could, the smallest unsuppressed cell of a helpful equation is suppressed too, and the
  check runs again.
- England and regional totals are rounded to the nearest 10 (halves up).
- Rates and percentages whose count behind them is 1 to 5 are shown as `c`.
- `z` means not applicable, `x` not available; both pass through unchanged.

Analysts' internal outputs are exact: only the published copy goes through `protect`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SUPPRESSED = "c"
NOT_APPLICABLE = "z"
NOT_AVAILABLE = "x"
LOW, HIGH = 1, 5  # counts in this range are suppressed
ROUND_TO = 10


def round_total(value: Any) -> Any:
    """Nearest 10, halves up (15 -> 20, 14 -> 10); markers pass through."""
    if not _is_number(value):
        return value
    return int(math.floor(float(value) / ROUND_TO + 0.5) * ROUND_TO)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and not (isinstance(value, float | np.floating) and math.isnan(value))
    )


def is_primary(value: Any) -> bool:
    return _is_number(value) and LOW <= float(value) <= HIGH


@dataclass
class Protected:
    """A published table and what was done to it."""

    table: pd.DataFrame  # council rows then regional rows then the England row
    primary: int
    secondary: int
    suppressed_cells: list[tuple[str, str]]  # (council code, column)


def protect(
    councils: pd.DataFrame,
    columns: Sequence[str],
    *,
    code: str = "council_code",
    region: str = "region_code",
    row_total: str | None = None,
    extra_equations: Sequence[Sequence[tuple[str, str]]] = (),
) -> Protected:
    """Suppress the council cells of `columns` and add regional and England rows.

    `councils`: one row per council with `code`, `region` and the count columns (exact values;
    None or markers for not available). `row_total`: name of a column that `protect` adds, the
    sum of `columns` in each row, itself a published cell. Returns the council rows with `c` in
    suppressed cells, then one row per region (`geographic_level` Regional) and one for England,
    totals rounded to 10.
    """
    frame = councils.reset_index(drop=True).copy()
    cols = list(columns)
    if row_total:
        frame[row_total] = [
            sum(int(v) for v in row if _is_number(v)) if any(_is_number(v) for v in row) else None
            for row in frame[cols].itertuples(index=False)
        ]
        cols.append(row_total)
    values = {(i, c): frame.at[i, c] for i in range(len(frame)) for c in cols}
    equations = _equations(frame, cols, region, row_total, columns)
    for extra in extra_equations:
        index = {frame.at[i, code]: i for i in range(len(frame))}
        equations.append([(index[k], c) for k, c in extra])
    suppressed = {cell for cell, v in values.items() if is_primary(v)}
    primary = len(suppressed)
    # a row whose published total is 0 pins every cell in it to 0 (counts are never negative):
    # hiding one of them would hide nothing and its `c` would suggest 1 to 5 children
    pinned = (
        {
            (i, c)
            for i in range(len(frame))
            if _is_number(frame.at[i, row_total]) and frame.at[i, row_total] == 0
            for c in cols
        }
        if row_total
        else set()
    )
    suppressed = secondary_suppression(values, equations, suppressed, pinned=pinned)
    published = frame.copy()
    for col in cols:
        published[col] = published[col].astype(object)
    for i, col in suppressed:
        published.at[i, col] = SUPPRESSED
    published["geographic_level"] = "Local authority"
    totals = _total_rows(frame, cols, region)
    table = pd.concat([published, totals], ignore_index=True)
    return Protected(
        table=table,
        primary=primary,
        secondary=len(suppressed) - primary,
        suppressed_cells=sorted((str(frame.at[i, code]), c) for i, c in suppressed),
    )


def _equations(
    frame: pd.DataFrame, cols: list[str], region: str, row_total: str | None, components: Sequence[str]
) -> list[list[tuple[int, str]]]:
    equations: list[list[tuple[int, str]]] = []
    for col in cols:
        equations.append([(i, col) for i in range(len(frame))])  # England
        for _, members in frame.groupby(region).groups.items():
            equations.append([(int(i), col) for i in members])
    if row_total:
        for i in range(len(frame)):
            equations.append([(i, c) for c in components] + [(i, row_total)])
    return equations


def secondary_suppression(
    values: dict[tuple[int, str], Any],
    equations: list[list[tuple[int, str]]],
    suppressed: set[tuple[int, str]],
    *,
    pinned: set[tuple[int, str]] | frozenset[tuple[int, str]] = frozenset(),
) -> set[tuple[int, str]]:
    """Add cells to `suppressed` until no suppressed cell can be recovered from the equations.
    `pinned`: cells the published totals already give away (never chosen: hiding them protects
    nothing)."""
    suppressed = set(suppressed)
    active = list(equations)
    for _ in range(10 * len(values) + 10):
        # a total whose other cells are all given away by zero row totals cannot be helped by
        # hiding one of them: its own rounding (to 10) is what protects its `c`
        active = [eq for eq in active if not (pinned and _given_away(eq, suppressed, pinned))]
        lonely = next((eq for eq in active if sum(cell in suppressed for cell in eq) == 1), None)
        if lonely is None:
            exposed = recoverable(active, suppressed)
            if not exposed:
                return suppressed
            target = exposed[0]
            helpful = [eq for eq in active if target in eq and any(c not in suppressed | pinned for c in eq)]
            if not helpful:  # its totals are all hidden: widen through a total of another hidden cell
                helpful = [
                    eq
                    for eq in active
                    if any(c in suppressed for c in eq) and any(c not in suppressed | pinned for c in eq)
                ]
            if not helpful:
                raise ValueError("cannot protect a total whose every cell is already suppressed")
            lonely = helpful[0]
        candidates = [c for c in lonely if c not in suppressed and c not in pinned and _is_number(values[c])]
        if not candidates:
            candidates = [c for c in lonely if c not in suppressed and c not in pinned]
        if not candidates:
            raise ValueError("cannot protect a total whose every cell is already suppressed")
        # the smallest non-zero count first (a zero hides little), then the smallest
        suppressed.add(min(candidates, key=lambda c: (_key(values[c]) == 0, _key(values[c]), c)))
    raise RuntimeError("secondary suppression did not settle")


def _given_away(
    equation: list[tuple[int, str]], suppressed: set[tuple[int, str]], pinned: set[tuple[int, str]] | frozenset
) -> bool:
    hidden = [c for c in equation if c in suppressed]
    return bool(hidden) and all(c in suppressed or c in pinned for c in equation) and any(c in pinned for c in equation)


def _key(value: Any) -> float:
    return float(value) if _is_number(value) else math.inf


def recoverable(equations: list[list[tuple[int, str]]], suppressed: set[tuple[int, str]]) -> list[tuple[int, str]]:
    """Suppressed cells whose exact value follows from the totals (all taken as exact).

    Cell k is determined when the unit vector e_k lies in the row space of the equations
    restricted to the suppressed cells: rank([A; e_k]) == rank(A).
    """
    unknowns = sorted(suppressed)
    if not unknowns:
        return []
    position = {cell: j for j, cell in enumerate(unknowns)}
    rows = []
    for eq in equations:
        row = np.zeros(len(unknowns))
        for cell in eq:
            if cell in position:
                row[position[cell]] = 1.0
        if row.any():
            rows.append(row)
    if not rows:
        return []
    matrix = np.array(rows)
    base = np.linalg.matrix_rank(matrix)
    found = []
    for j, cell in enumerate(unknowns):
        unit = np.zeros(len(unknowns))
        unit[j] = 1.0
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == base:
            found.append(cell)
    return found


def _total_rows(frame: pd.DataFrame, cols: list[str], region: str) -> pd.DataFrame:
    rows = []
    for region_code, group in frame.groupby(region):
        rows.append({region: region_code, "geographic_level": "Regional", **_sums(group, cols)})
    rows.append({region: "", "geographic_level": "National", **_sums(frame, cols)})
    return pd.DataFrame(rows)


def _sums(group: pd.DataFrame, cols: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in cols:
        numbers = [v for v in group[col] if _is_number(v)]
        out[col] = round_total(sum(numbers)) if numbers else NOT_AVAILABLE
    return out


def suppress_rates(
    frame: pd.DataFrame, rate_columns: dict[str, str], counts: pd.DataFrame, *, code: str = "code"
) -> pd.DataFrame:
    """Show as `c` every rate whose count (in `counts`, column named by `rate_columns[rate]`) is
    1 to 5, with its rank and band; other values pass through."""
    out = frame.copy()
    lookup = counts.set_index(code)
    for rate, count_column in rate_columns.items():
        for extra in (rate, f"{rate}_rank", f"{rate}_band", f"{rate}_change"):
            if extra in out.columns:
                out[extra] = out[extra].astype(object)
        for i, row in out.iterrows():
            key = row[code]
            if key in lookup.index and count_column in lookup.columns and is_primary(lookup.at[key, count_column]):
                for extra in (rate, f"{rate}_rank", f"{rate}_band", f"{rate}_change"):
                    if extra in out.columns:
                        out.at[i, extra] = SUPPRESSED
    return out


def markers(value: Any) -> Any:
    """None -> `x` (not available); other values as they are."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_AVAILABLE
    return value
