"""The national data-quality gate's suites: what Great Expectations checks before a quarter's
compiled outputs or a year's publication are published (write, audit, publish).

Pure: frames in, `GateBatch`es out (GX is imported inside the functions). The frames are given
as arguments: the stored child records as the store returns them, the compiled and published
tables as their CSV text (`dtype=str`, blanks kept as "").

- `stored_records_batch`: the standard's Children expectations (`schemas.expectations`, through
  `gx_expectation`) over the stored child records, whatever route they came by. Each field is
  read from its stored column (given = typed = stored; `date_of_birth` is stored as
  `birth_month`); an expectation that reads a raw identifier is skipped (none is stored); `is
  valid` reads as "present" (a stored value is typed). Query rules are GX warnings: an accepted
  return may carry queries. The period bounds are suite parameters.
- `tracker_batch`: one row per council the register expects, states of `TRACKER_STATES`.
- `league_batch`: ranks within 1..the councils with a value, bands A-D.
- `published_counts_batch`, `published_totals_batch`: in a published table no count of 1 to 5
  shows (it is `c`), England and regional totals are rounded to 10, and every total agrees
  with the rows it adds up as `transforms.disclosure` makes it (see `published_totals_batch`).
- `returns_batch`: the annual returns table expects the register's councils each quarter.

`failure_messages` turns a batch's GX result into one line per failing expectation: counts, and
council or area codes only; never a child's value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from schemas.expectations import Expectation
from schemas.lifecycle import TRACKER_STATES
from schemas.register import COUNTRY_CODE
from schemas.standard import Standard
from transforms.disclosure import HIGH, LOW, NOT_APPLICABLE, NOT_AVAILABLE, SUPPRESSED, round_total
from transforms.measures import BANDS, children_fields
from transforms.quality.gx import ColumnNames, GateBatch, failing_rows, gx_expectation

STORED_RECORDS = "child_records"
COUNCIL = "Local authority"
REGION = "Regional"
ENGLAND = "National"
NO_VALUE = ("", NOT_AVAILABLE, NOT_APPLICABLE)  # a cell without a figure (blank, x, z)
MARKERS = (SUPPRESSED, NOT_AVAILABLE, NOT_APPLICABLE)
SMALL_COUNTS = tuple(str(n) for n in range(LOW, HIGH + 1))
COUNT_OR_MARKER = rf"^(?:\d+|{'|'.join(MARKERS)})$"
ROUNDED_OR_MARKER = rf"^(?:\d*0|{NOT_AVAILABLE}|{NOT_APPLICABLE})$"  # a total is never suppressed
ROUNDED_OR_SUPPRESSED = rf"^(?:\d*0|{'|'.join(MARKERS)})$"  # a table's cells at a rounded level
HALF = 10 // 2  # a total rounded to the nearest 10 is within 5 of the exact sum
SHOWN_EXAMPLES = 5  # codes named in one message


def _meta(check: str, describe: str) -> dict[str, Any]:
    return {"check": check, "describe": describe}


# ---- stored child records -------------------------------------------------------------------------


def stored_columns(standard: Standard) -> dict[str, str]:
    """Children field -> the column it is stored in, for every field that is stored (raw
    identifiers are not: only their keys are)."""
    identifiers = {f.name for f in standard.sheet("Children").fields if f.identifier}
    return {name: column for name, column in children_fields(standard) if name not in identifiers}


def stored_column_names(standard: Standard) -> ColumnNames:
    """Where `gx_expectation` finds a field in a frame of stored records: its stored column, as
    given, typed and number alike; a stored value is valid wherever it is present."""
    stored = stored_columns(standard)
    return ColumnNames(given=stored.__getitem__, typed=stored.__getitem__, number=stored.__getitem__)


def stored_expectations(expectations: Sequence[Expectation], standard: Standard) -> list[Expectation]:
    """The Children expectations that stored records can be held to (none reading a raw identifier)."""
    stored = stored_columns(standard)
    return [e for e in expectations if e.sheet == "Children" and all(f in stored for f in e.fields_read)]


def stored_records_batch(
    records: pd.DataFrame,
    expectations: Sequence[Expectation],
    *,
    standard: Standard,
    period_start: date,
    period_end: date,
    name: str = STORED_RECORDS,
) -> GateBatch:
    """The stored child records of a period (one row each, as `store.national` reads them) and
    the standard's Children expectations over them. Child-level: GX keeps counts only."""
    stored = stored_columns(standard)
    names = stored_column_names(standard)
    chosen = stored_expectations(expectations, standard)
    sheet = standard.sheet("Children")
    types = {stored[f]: sheet.field(f).type for e in chosen for f in e.fields_read}
    index = pd.RangeIndex(len(records))
    columns = {column: _stored_values(records[column], kind, index) for column, kind in types.items()}
    columns["council_code"] = pd.Series(records["council_code"].to_numpy(), index=index)  # names a council, not a child
    suite = tuple(
        gx_expectation(
            e,
            names,
            _meta(f"{e.rule} {e.field}", f"{e.rule} {e.describe()}"),
            severity="warning" if standard.rule(e.rule).severity == "Q" else None,
        )
        for e in chosen
    )
    return GateBatch(
        name=name,
        frame=pd.DataFrame(columns, index=index),
        expectations=suite,
        parameters={"period_start": pd.Timestamp(period_start), "period_end": pd.Timestamp(period_end)},
        child_level=True,
        label="council_code",
    )


def _stored_values(values: pd.Series, kind: str, index: pd.Index) -> pd.Series:
    """A stored column as GX compares it: dates as datetimes (compared with the period bounds),
    whole numbers as nullable integers (whose text has no `.0`), the rest as stored."""
    raw = pd.Series(values.to_numpy(dtype=object), index=index, dtype=object)
    raw = raw.where(raw.notna(), None)
    if kind == "date":
        try:
            return pd.to_datetime(raw).astype("datetime64[ns]")
        except (pd.errors.OutOfBoundsDatetime, OverflowError):  # a year like 3025: slower, still compared
            return pd.Series([None if v is None else pd.Timestamp(v).to_pydatetime() for v in raw], index=index)
    if kind == "integer":
        return pd.to_numeric(raw, errors="coerce").astype("Int64")
    return raw


# ---- compiled tables ----------------------------------------------------------------------------------


def tracker_batch(
    tracker: pd.DataFrame,
    *,
    period: str,
    expected: Sequence[str],
    time_columns: Mapping[str, str],
    name: str = "tracker.csv",
) -> GateBatch:
    """The compiled tracker: one row for each council the register expects for `period`, each
    with a tracker state; `time_columns` are the EES time columns the period's rows carry."""
    import great_expectations.expectations as gxe

    codes = sorted(set(expected))
    suite: list[Any] = [
        gxe.ExpectTableRowCountToEqual(
            value=len(codes),
            meta={**_meta("rows", f"one row per council the register expects for {period}"), "period": period},
        ),
        gxe.ExpectColumnDistinctValuesToEqualSet(
            column="new_la_code",
            value_set=codes,
            meta={**_meta("councils", f"the councils the register expects for {period}"), "period": period},
        ),
        gxe.ExpectColumnValuesToBeUnique(column="new_la_code", meta=_meta("one row each", "one row per council")),
        gxe.ExpectColumnValuesToBeInSet(
            column="state", value_set=list(TRACKER_STATES), meta=_meta("states", "state is a tracker state")
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="geographic_level", value_set=[COUNCIL], meta=_meta("councils only", "every row is a council")
        ),
    ]
    for column, value in time_columns.items():
        suite.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=column, value_set=[value], meta=_meta(column, f"{column} is {value} ({period})")
            )
        )
    return GateBatch(name=name, frame=tracker.reset_index(drop=True), expectations=tuple(suite), label="new_la_code")


def league_batch(league: pd.DataFrame, *, measures: Sequence[str], name: str = "league_table.csv") -> GateBatch:
    """A league table (compiled or published): for each measure, council ranks within 1..the
    number of councils with a value (a suppressed `c` value had one), a rank wherever a council
    has a figure, none for England and the regions, bands A-D where there is a rank."""
    import great_expectations.expectations as gxe

    frame = league.reset_index(drop=True).copy()
    council = frame["geographic_level"] == COUNCIL
    frame["area"] = _area(frame)
    on_council = f'(geographic_level == "{COUNCIL}")'
    suite: list[Any] = []
    for m in measures:
        rank, band = f"{m}_rank", f"{m}_band"
        values = frame[m] if m in frame else pd.Series("", index=frame.index)
        figure = pd.to_numeric(values, errors="coerce").notna()
        with_value = int((council & ~values.isin(NO_VALUE)).sum())  # ranked before any suppression
        frame[f"{rank}__n"] = pd.to_numeric(frame[rank], errors="coerce") if rank in frame else math.nan
        frame[f"{m}__figure"] = council & figure
        suite += [
            gxe.ExpectColumnValuesToMatchRegex(
                column=rank, regex=COUNT_OR_MARKER, meta=_meta(f"{rank} text", f"{rank} is a whole number or a marker")
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column=f"{rank}__n",
                row_condition=f"({m}__figure == True)",
                condition_parser="pandas",
                meta=_meta(f"{rank} given", f"every council with a {m} figure has a rank"),
            ),
            gxe.ExpectColumnValuesToBeNull(
                column=f"{rank}__n",
                row_condition=f'(geographic_level != "{COUNCIL}")',
                condition_parser="pandas",
                meta=_meta(f"{rank} councils only", f"only councils have a {rank}"),
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column=band,
                value_set=list(BANDS),
                row_condition=f"{rank}__n.notnull()",
                condition_parser="pandas",
                meta=_meta(f"{band} given", f"{band} is A to D wherever there is a rank"),
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column=band, value_set=[*BANDS, *MARKERS], meta=_meta(f"{band} text", f"{band} is A to D or a marker")
            ),
        ]
        if with_value:
            suite.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=f"{rank}__n",
                    min_value=1,
                    max_value=with_value,
                    row_condition=on_council,
                    condition_parser="pandas",
                    meta=_meta(f"{rank} range", f"{rank} is within 1..{with_value} (the councils with a value)"),
                )
            )
        else:
            suite.append(
                gxe.ExpectColumnValuesToBeNull(
                    column=f"{rank}__n", meta=_meta(f"{rank} range", f"no {rank}: no council has a value")
                )
            )
    return GateBatch(name=name, frame=frame, expectations=tuple(suite), label="area")


def _area(table: pd.DataFrame) -> pd.Series:
    """The code of each row's area: the council's, the region's, or England's."""
    level = table["geographic_level"]
    council = table["new_la_code"] if "new_la_code" in table else pd.Series("", index=table.index)
    region = table["region_code"] if "region_code" in table else pd.Series("", index=table.index)
    return council.where(level == COUNCIL, region.where(level == REGION, COUNTRY_CODE))


# ---- published tables ---------------------------------------------------------------------------------


def published_counts_batch(
    table: pd.DataFrame, *, name: str, columns: Sequence[str], suppressible_levels: Sequence[str] = ()
) -> GateBatch:
    """A published table's child counts: no count of 1 to 5 shows (it must be `c`), every cell
    a whole number or a marker, England and regional totals rounded to the nearest 10.
    `suppressible_levels`: levels that are the table's cells rather than its totals (X6 is
    published by region only), so a rounded figure or `c`."""
    import great_expectations.expectations as gxe

    frame = table.reset_index(drop=True).copy()
    frame["area"] = _area(frame)
    suite: list[Any] = []
    for column in columns:
        suite += [
            gxe.ExpectColumnValuesToNotBeInSet(
                column=column,
                value_set=list(SMALL_COUNTS),
                meta=_meta(f"{column} no small counts", f"{column} shows no count of 1 to 5 (they are c)"),
            ),
            gxe.ExpectColumnValuesToMatchRegex(
                column=column, regex=COUNT_OR_MARKER, meta=_meta(f"{column} text", f"{column} is a count or a marker")
            ),
            gxe.ExpectColumnValuesToMatchRegex(
                column=column,
                regex=ROUNDED_OR_MARKER,
                row_condition=" & ".join(
                    f'(geographic_level != "{level}")' for level in (COUNCIL, *suppressible_levels)
                ),
                condition_parser="pandas",
                meta=_meta(f"{column} rounded", f"England and regional {column} are rounded to the nearest 10"),
            ),
        ]
        for level in suppressible_levels:
            suite.append(
                gxe.ExpectColumnValuesToMatchRegex(
                    column=column,
                    regex=ROUNDED_OR_SUPPRESSED,
                    row_condition=f'(geographic_level == "{level}")',
                    condition_parser="pandas",
                    meta=_meta(f"{column} {level} rounded", f"{level} {column} are rounded to the nearest 10 or c"),
                )
            )
    return GateBatch(name=name, frame=frame, expectations=tuple(suite), label="area")


def published_totals_batch(
    table: pd.DataFrame, *, name: str, columns: Sequence[str], row_total: str | None = None
) -> GateBatch:
    """Every published total against the cells it adds up, one row per (total, column).

    `transforms.disclosure.protect` computes a total from the exact council values (suppressed
    ones included) and rounds England's and the regions' to 10 (halves up). So, from the
    published table alone: a total is at least the rounded sum of the council figures shown
    (hidden ones are never negative), and equal to it when none of them is hidden; England is
    within the rounding of the sum of the regional totals (each within 5 of its exact sum); and
    a row total (`row_total`) agrees with its row's cells the same way."""
    import great_expectations.expectations as gxe

    frame = table.reset_index(drop=True)
    level = frame["geographic_level"]
    councils = frame[level == COUNCIL]
    rows: list[dict[str, Any]] = []
    for column in [*columns, *([row_total] if row_total else [])]:
        regions = frame[level == REGION]
        for _, region in regions.iterrows():
            members = councils[councils["region_code"] == region["region_code"]][column]
            rows.append(_bounds(region["region_code"], column, region[column], [_sum_bounds(members, rounded=True)]))
        for _, england in frame[level == ENGLAND].iterrows():
            basis = [_sum_bounds(councils[column], rounded=True)]
            regional = [_number(v) for v in regions[column]]
            if regional and all(v is not None for v in regional):
                total = sum(v for v in regional if v is not None)
                basis.append((round_total(total - HALF * len(regional)), round_total(total + HALF * len(regional))))
            rows.append(_bounds(COUNTRY_CODE, column, england[column], basis))
    if row_total:
        for _, row in frame.iterrows():
            cells = pd.Series([row[c] for c in columns])
            if row["geographic_level"] == COUNCIL:
                basis = [_sum_bounds(cells, rounded=False)]
            else:  # each cell rounded to 10 as well
                shown = [_number(v) for v in cells]
                if any(v is None for v in shown):
                    continue
                total = sum(v for v in shown if v is not None)
                basis = [(round_total(total - HALF * len(shown)), round_total(total + HALF * len(shown)))]
            area = row["new_la_code"] if row["geographic_level"] == COUNCIL else _area(frame.loc[[row.name]]).iloc[0]
            rows.append(_bounds(area, f"{row_total} of the row", row[row_total], basis))
    derived = pd.DataFrame(rows, columns=["area", "column", "where", "published", "lower", "upper"])
    for column in ("published", "lower", "upper"):
        derived[column] = pd.to_numeric(derived[column], errors="coerce")
    suite = (
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="published",
            column_B="lower",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=_meta("totals not too small", "a total is at least what the cells it adds up give"),
        ),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="upper",
            column_B="published",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=_meta("totals not too large", "a total is at most what the cells it adds up give"),
        ),
    )
    return GateBatch(name=f"{name} totals", frame=derived, expectations=suite, label="where")


def _number(value: Any) -> float | None:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return None if pd.isna(number) else float(number)


def _sum_bounds(cells: pd.Series, *, rounded: bool) -> tuple[float | None, float | None]:
    """(lowest, highest) total the published cells allow: hidden cells (`c`) are 0 or more, so
    with any hidden there is no upper bound; x and z cells are not in a total."""
    shown = [n for n in (_number(v) for v in cells) if n is not None]
    hidden = int((cells == SUPPRESSED).sum())
    total = sum(shown)
    low = round_total(total) if rounded else total
    return low, (low if hidden == 0 else None)


def _bounds(area: str, column: str, published: Any, basis: list[tuple[Any, Any]]) -> dict[str, Any]:
    lows = [low for low, _ in basis if low is not None]
    highs = [high for _, high in basis if high is not None]
    lower, upper = (max(lows) if lows else None), (min(highs) if highs else None)
    allowed = "at least" if upper is None else ("exactly" if lower == upper else f"{_figure(lower)} to")
    bound = _figure(lower) if upper is None or lower == upper else _figure(upper)
    return {
        "area": area,
        "column": column,
        # names the total in a message: codes and published figures only
        "where": f"{area} {column}: {published} published, the cells it adds up give {allowed} {bound}",
        "published": _number(published),
        "lower": lower,
        "upper": upper,
    }


def _figure(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"


def returns_batch(returns: pd.DataFrame, *, expected: Mapping[str, int], name: str = "returns.csv") -> GateBatch:
    """The annual returns table: one row per quarter (`expected`: time_identifier -> the number of
    councils the register expects that quarter), each expecting the register's councils."""
    import great_expectations.expectations as gxe

    frame = returns.reset_index(drop=True).copy()
    frame["register_expected"] = pd.to_numeric(frame["time_identifier"].map(dict(expected)), errors="coerce")
    frame["expected__n"] = pd.to_numeric(frame["expected"], errors="coerce")
    suite = (
        gxe.ExpectTableRowCountToEqual(value=len(expected), meta=_meta("quarters", "one row per quarter of the year")),
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="expected__n",
            column_B="register_expected",
            ignore_row_if="both_values_are_missing",
            meta=_meta("expected", "each quarter expects the councils the register expects"),
        ),
    )
    return GateBatch(name=name, frame=frame, expectations=suite, label="time_identifier")


# ---- what failed, in a line each ------------------------------------------------------------------------


def is_failure(outcome: Any) -> bool:
    """A failing expectation that stops publication: any but GX warnings (the query rules)."""
    return not outcome.success and str(getattr(outcome.expectation_config.severity, "value", "critical")) == "critical"


def failure_messages(batch: GateBatch, result: Any) -> list[str]:
    """One line per failing expectation of `batch`: what was expected, how many rows failed and,
    through `batch.label`, which councils or areas (counts only for child-level batches)."""
    by_check = {o.expectation_config.meta.get("check"): o for o in result.results}
    lines = []
    for outcome in result.results:
        if outcome.success:
            continue
        meta = outcome.expectation_config.meta
        describe = meta.get("describe") or outcome.expectation_config.type
        suffix = "" if is_failure(outcome) else " (a query: reported, publication goes on)"
        info = outcome.exception_info or {}
        if info.get("raised_exception"):
            reason = str(info.get("exception_message") or "").strip().splitlines()[:1]
            lines.append(f"{batch.name}: {describe} could not be checked: {' '.join(reason) or 'GX raised an error'}")
            continue
        found = outcome.result or {}
        if meta.get("check") == "rows":
            lines.append(_rows_message(batch, outcome, by_check.get("councils")))
        elif meta.get("check") == "councils":
            if by_check.get("rows") is None or by_check["rows"].success:
                lines.append(f"{batch.name}: {_council_differences(outcome)} for {meta.get('period', '')}")
        elif "unexpected_count" in found:
            count, total = int(found["unexpected_count"]), int(found.get("element_count") or 0)
            lines.append(
                f"{batch.name}: {describe}: {count:,} of {total:,} row(s) fail{_where(batch, outcome)}{suffix}"
            )
        else:
            lines.append(f"{batch.name}: {describe} (found {found.get('observed_value')!r}){suffix}")
    return lines


def _rows_message(batch: GateBatch, rows: Any, councils: Any | None) -> str:
    found = rows.result.get("observed_value")
    expected = rows.expectation_config.kwargs.get("value")
    period = rows.expectation_config.meta.get("period", "")
    detail = f" ({_council_differences(councils)})" if councils is not None and not councils.success else ""
    return f"{batch.name}: {found} rows, the register expects {expected} for {period}{detail}"


def _council_differences(outcome: Any) -> str:
    """The register's councils without a row and the rows of councils it does not expect (GX
    lists a few of each; the counts are exact)."""
    found = outcome.result or {}
    parts = []
    for listed, count, what in (
        ("partial_missing_list", "missing_count", "missing"),
        ("partial_unexpected_list", "unexpected_count", "not expected"),
    ):
        codes = sorted(str(v) for v in found.get(listed) or [])
        more = int(found.get(count) or 0) - len(codes)
        if codes:
            parts.append(f"{_codes(codes)}{f' and {more} more' if more > 0 else ''} {what}")
    return ", ".join(parts) or "the councils differ from the register's"


def failing_count(outcome: Any) -> int:
    """How many rows (or values) a failed expectation found wrong; 1 for a table-level check."""
    found = outcome.result or {}
    count = int(found.get("unexpected_count") or 0)
    if "partial_missing_list" in found:  # a set of values: the expected ones missing count too
        count += int(found.get("missing_count") or 0)  # (for a column of values, missing means blank)
    return max(count, 1)


def _codes(codes: Sequence[str]) -> str:
    shown = ", ".join(codes[:SHOWN_EXAMPLES])
    return shown + (f" and {len(codes) - SHOWN_EXAMPLES} more" if len(codes) > SHOWN_EXAMPLES else "")


def _where(batch: GateBatch, outcome: Any) -> str:
    """Which councils or areas the failing rows belong to (asked of GX for failures only)."""
    if batch.label is None or batch.label not in batch.frame:
        return ""
    rows = failing_rows(batch.frame, outcome.expectation_config.to_domain_obj(), batch.parameters)
    labels = [str(v) for v in batch.frame.loc[rows, batch.label]]
    if not labels:
        return ""
    if batch.child_level:  # how many children's rows in each council, never which children
        counts = pd.Series(labels).value_counts().sort_index()
        return " (" + _codes([f"{code}: {n}" for code, n in counts.items()]) + ")"
    return " (" + _codes(list(dict.fromkeys(labels))) + ")"
