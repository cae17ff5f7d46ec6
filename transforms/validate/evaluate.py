"""The per-return evaluator: every expectation of the standard (`schemas.expectations`) over the
return's typed sheets, vectorised, in one pass. This is what gives a council its feedback.

An evaluator takes the expectations, the typed sheets and the period bounds, and returns each
failing expectation with the index labels of the rows that fail it. `evaluate` is the one used
per return; `transforms.quality.gx.gx_evaluate` runs the same expectations through Great
Expectations, and a test holds the two to the same findings.

Semantics (the same in both): a blank value passes every check but `present`; a comparison
with another field holds where both values are typed; `when` clauses read the value as given
(`==`, `!=`, `is blank`), its validity (`is valid`) or its typed number (`>`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from schemas.expectations import Clause, Expectation
from transforms.validate.coerce import SheetValues

Failing = list[tuple[Expectation, list[Any]]]
Evaluator = Callable[[Sequence[Expectation], Mapping[str, SheetValues], Mapping[str, date]], Failing]


def evaluate(
    expectations: Sequence[Expectation], sheets: Mapping[str, SheetValues], bounds: Mapping[str, date]
) -> Failing:
    """Each failing expectation with the labels of its failing rows, in the order given.

    `bounds` holds `period_start` / `period_end` (empty when the period is unknown: expectations
    that need it are skipped)."""
    failing: Failing = []
    matched: dict[tuple[str, str, str], np.ndarray] = {}
    for expectation in expectations:
        values = sheets.get(expectation.sheet)
        if values is None or values.given.empty:
            continue
        if expectation.needs_period and expectation.bound not in bounds:
            continue
        mask = _failing(expectation, values, bounds, matched)
        if mask.any():
            failing.append((expectation, list(values.given.index[mask])))
    return failing


def _failing(
    e: Expectation, sv: SheetValues, bounds: Mapping[str, date], matched: dict[tuple[str, str, str], np.ndarray]
) -> np.ndarray:
    given = sv.given[e.field]
    present = given.notna().to_numpy()
    match e.kind:
        case "present":
            fails = ~present
        case "blank":
            fails = present
        case "in_set":
            fails = present & ~given.isin(e.values).to_numpy()
        case "not_in_set":
            fails = present & given.isin(e.values).to_numpy()
        case "matches":
            assert e.pattern is not None
            key = (e.sheet, e.field, e.pattern)
            if key not in matched:
                matched[key] = _fullmatch(given, e.pattern)
            fails = present & ~matched[key]
        case "length_at_most":
            lengths = np.array([len(v) if isinstance(v, str) else 0 for v in given.to_numpy(dtype=object)])
            fails = present & (lengths > (e.limit or 0))
        case "at_least" | "at_most":
            fails = _compared(e, sv, bounds)
        case _:  # pragma: no cover - Kind is closed
            raise ValueError(f"unknown expectation kind {e.kind!r}")
    if e.when:
        fails = fails & _rows(e.when, sv)
    return np.asarray(fails, dtype=bool)


def _compared(e: Expectation, sv: SheetValues, bounds: Mapping[str, date]) -> np.ndarray:
    if e.limit is not None and e.other is None and e.bound is None:
        number = sv.numbers.get(e.field)
        values = number if number is not None else pd.to_numeric(sv.typed[e.field], errors="coerce")
        with np.errstate(invalid="ignore"):
            return (values < e.limit).to_numpy() if e.kind == "at_least" else (values > e.limit).to_numpy()
    target = sv.typed[e.field]
    if e.other is not None:
        other = sv.typed[e.other]
    else:
        assert e.bound is not None
        other = pd.Series(pd.Timestamp(bounds[e.bound]), index=target.index)
    both = (target.notna() & other.notna()).to_numpy()
    with np.errstate(invalid="ignore"):
        holds = (target >= other) if e.kind == "at_least" else (target <= other)
    return both & ~holds.fillna(False).to_numpy(dtype=bool)


def _rows(clauses: tuple[Clause, ...], sv: SheetValues) -> np.ndarray:
    """The rows where every clause of `when` holds."""
    selected = np.ones(len(sv.given), dtype=bool)
    for clause in clauses:
        selected &= clause_mask(clause, sv.given[clause.field], sv.valid[clause.field], sv.typed[clause.field])
    return selected


def clause_mask(clause: Clause, given: pd.Series, valid: pd.Series, typed: pd.Series) -> np.ndarray:
    """Where one clause holds, from a field's given text, validity and typed value."""
    match clause.op:
        case "blank":
            return given.isna().to_numpy()
        case "valid":
            return valid.to_numpy(dtype=bool)
        case "eq":
            return (given == clause.value).fillna(False).to_numpy(dtype=bool)
        case "ne":
            return ~(given == clause.value).fillna(False).to_numpy(dtype=bool)  # a blank is "not equal"
        case "gt":
            numbers = pd.to_numeric(typed, errors="coerce")
            with np.errstate(invalid="ignore"):
                return (numbers > clause.value).fillna(False).to_numpy(dtype=bool)
    raise ValueError(f"unknown clause {clause.op!r}")  # pragma: no cover - Op is closed


def _fullmatch(given: pd.Series, pattern: str) -> np.ndarray:
    """Present text that is wholly the pattern (one compiled regex, one pass)."""
    fullmatch = re.compile(pattern).fullmatch
    return np.array([isinstance(v, str) and fullmatch(v) is not None for v in given.to_numpy(dtype=object)], dtype=bool)
