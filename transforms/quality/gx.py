"""The standard's expectations (`schemas.expectations`) as Great Expectations expectations.

One translation, two uses:
- `gx_evaluate` runs a return's expectations through GX, with the same contract as the
  per-return evaluator (`transforms.validate.evaluate.evaluate`); the agreement test runs the
  rule case table through both and requires the same findings;
- the national data-quality gate (`transforms.quality.gate`, run by `pipeline.quality`) builds GX
  suites over the stored child records with `gx_expectation` and the stored records' column
  names, and `run_checkpoints` runs them as GX Checkpoints that write Data Docs.

GX is imported here only, lazily; nothing on the per-return path imports this module.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from schemas.expectations import Clause, Expectation
from transforms.validate.coerce import SheetValues


@dataclass(frozen=True)
class ColumnNames:
    """Where a field's given text, typed value, validity and number are in a GX batch's frame.
    `valid` None: a value is valid wherever its typed value is there (stored records)."""

    given: Callable[[str], str]
    typed: Callable[[str], str]
    number: Callable[[str], str]
    valid: Callable[[str], str] | None = None


RETURN_COLUMNS = ColumnNames(
    given=lambda f: f, typed=lambda f: f"{f}__v", number=lambda f: f"{f}__n", valid=lambda f: f"{f}__ok"
)

_CLASSES = {
    "present": "ExpectColumnValuesToNotBeNull",
    "blank": "ExpectColumnValuesToBeNull",
    "in_set": "ExpectColumnValuesToBeInSet",
    "not_in_set": "ExpectColumnValuesToNotBeInSet",
    "matches": "ExpectColumnValuesToMatchRegex",
    "length_at_most": "ExpectColumnValueLengthsToBeBetween",
}


def row_condition(clauses: Sequence[Clause], names: ColumnNames) -> str:
    """`when` as a GX row condition (pandas query syntax)."""
    parts = []
    for clause in clauses:
        match clause.op:
            case "blank":
                parts.append(f"{names.given(clause.field)}.isnull()")
            case "valid":
                parts.append(
                    f"({names.valid(clause.field)} == True)"
                    if names.valid
                    else f"{names.typed(clause.field)}.notnull()"
                )
            case "eq":
                parts.append(f"({names.given(clause.field)} == {clause.value!r})")
            case "ne":
                parts.append(f"({names.given(clause.field)} != {clause.value!r})")
            case "gt":
                parts.append(f"({names.typed(clause.field)} > {clause.value!r})")
    return " & ".join(parts)


def gx_expectation(
    e: Expectation, names: ColumnNames, meta: dict[str, Any] | None = None, *, severity: str | None = None
) -> Any:
    """The GX expectation that checks `e` over a frame laid out as `names` says (`severity`: GX's
    critical, warning or info; GX's default, critical, when None)."""
    import great_expectations.expectations as gxe

    kwargs: dict[str, Any] = {"meta": {"rule": e.rule, "sheet": e.sheet, "field": e.field, **(meta or {})}}
    if severity is not None:
        kwargs["severity"] = severity
    if e.when:
        kwargs.update(row_condition=row_condition(e.when, names), condition_parser="pandas")
    if e.kind in ("at_least", "at_most"):
        if e.other is not None:
            greater, lesser = (e.field, e.other) if e.kind == "at_least" else (e.other, e.field)
            return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=names.typed(greater),
                column_B=names.typed(lesser),
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                **kwargs,
            )
        limit: Any = {"$PARAMETER": e.bound} if e.bound is not None else e.limit
        column = names.typed(e.field) if e.bound is not None else names.number(e.field)
        bound = {"min_value": limit} if e.kind == "at_least" else {"max_value": limit}
        return gxe.ExpectColumnValuesToBeBetween(column=column, **bound, **kwargs)
    cls = getattr(gxe, _CLASSES[e.kind])
    column = names.given(e.field)
    if e.kind in ("in_set", "not_in_set"):
        kwargs["value_set"] = list(e.values)
    elif e.kind == "matches":
        kwargs["regex"] = f"^(?:{e.pattern})$"
    elif e.kind == "length_at_most":
        kwargs["max_value"] = e.limit
    return cls(column=column, **kwargs)


# ---- GX's own context ------------------------------------------------------------------------------

# One lock per process around GX: its context, data sources and suites are shared, and neither
# building them nor validating on them is documented as thread-safe.
GX_LOCK = threading.RLock()


@functools.cache
def gx_context() -> Any:
    """One ephemeral GX context per process, for validating returns' frames."""
    return new_gx_context()


def new_gx_context() -> Any:
    """A new ephemeral GX context, without progress bars (they write to stderr)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def run_suite(name: str, frame: pd.DataFrame, expectations: Sequence[Any], parameters: Mapping[str, Any]) -> Any:
    """Validate `frame` against a suite of GX expectations; returns GX's validation result
    (SUMMARY). The suite and its data asset are created once per name and process."""
    with GX_LOCK:
        suite, batch_definition = _suite(name, tuple(expectations))
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame.rename_axis(None)})
        return batch.validate(suite, result_format="SUMMARY", expectation_parameters=dict(parameters))


_suites: dict[str, tuple[Any, Any]] = {}


def _suite(name: str, expectations: tuple[Any, ...]) -> tuple[Any, Any]:
    if name not in _suites:
        import great_expectations as gx

        context = gx_context()
        source = context.data_sources.add_pandas(f"lscb-{name}")
        batch_definition = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
        suite = context.suites.add(gx.ExpectationSuite(name=name))
        for expectation in expectations:
            suite.add_expectation(expectation)
        _suites[name] = (suite, batch_definition)
    return _suites[name]


def failing_rows(frame: pd.DataFrame, expectation: Any, parameters: Mapping[str, Any]) -> list[Any]:
    """The index labels of the rows of `frame` that fail one GX expectation (COMPLETE, so only
    ask for failing expectations: COMPLETE over everything is many times slower)."""
    with GX_LOCK:
        batch = _batch_for_rows().get_batch(batch_parameters={"dataframe": frame.rename_axis(None)})
        detail = batch.validate(
            expectation,
            result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False},
            expectation_parameters=dict(parameters),
        )
    raise_on_exception(detail)
    rows = list(detail.result.get("unexpected_index_list") or [])
    if len(rows) != detail.result.get("unexpected_count", len(rows)):
        raise RuntimeError(f"GX listed {len(rows)} of {detail.result.get('unexpected_count')} failing rows")
    return rows


@functools.cache
def _batch_for_rows() -> Any:
    source = gx_context().data_sources.add_pandas("lscb-rows")
    return source.add_dataframe_asset("rows").add_batch_definition_whole_dataframe("whole")


def raise_on_exception(result: Any) -> None:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        raise RuntimeError(f"GX expectation failed to run: {info.get('exception_message')}")


# ---- the national gate's Checkpoints ------------------------------------------------------------------

DOCS_SITE = "lscb_gate"
# Child-level rows: counts only, so no value of a child's record reaches a result or Data Docs.
COUNTS_ONLY: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 0}
# Council- and area-level rows: a few unexpected values help an analyst see what is wrong.
WITH_EXAMPLES: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 10}


@dataclass(frozen=True)
class GateBatch:
    """One batch of the national data-quality gate: a frame, the GX expectations it must meet,
    and their parameters. `child_level`: a row is a child, so GX keeps counts only. `label`: a
    non-identifying column (a council or area code) that names a failing row in messages."""

    name: str
    frame: pd.DataFrame
    expectations: tuple[Any, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    child_level: bool = False
    label: str | None = None


def run_checkpoints(run_name: str, batches: Sequence[GateBatch], docs_dir: Path) -> list[Any]:
    """Validate every batch through a GX Checkpoint of its own (a ValidationDefinition: the
    batch's suite over its frame), under one run id, then build the Data Docs site into
    `docs_dir` (`index.html`). Returns each batch's suite validation result.

    One Checkpoint per batch because GX hands every ValidationDefinition of a Checkpoint the same
    batch parameters, and an in-memory frame is a batch parameter. The site is built once at the
    end rather than by an UpdateDataDocsAction per Checkpoint (each rebuilds the index and reloads
    every template: ~1 s a batch). A new context per call: its stores, and so the site, hold this
    run's results only."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    docs_dir.mkdir(parents=True, exist_ok=True)
    with GX_LOCK:
        context = new_gx_context()
        for site in list(context.get_site_names()):
            context.delete_data_docs_site(site)  # the default site writes to a temporary folder
        context.add_data_docs_site(
            site_name=DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
        results = []
        for batch in batches:
            source = context.data_sources.add_pandas(batch.name)
            definition = source.add_dataframe_asset(batch.name).add_batch_definition_whole_dataframe("whole")
            # given whole: suite.add_expectation stores the whole suite again each time
            suite = context.suites.add(gx.ExpectationSuite(name=batch.name, expectations=list(batch.expectations)))
            validation = context.validation_definitions.add(
                gx.ValidationDefinition(name=batch.name, data=definition, suite=suite)
            )
            checkpoint = context.checkpoints.add(
                gx.Checkpoint(
                    name=f"{run_name} {batch.name}",
                    validation_definitions=[validation],
                    result_format=COUNTS_ONLY if batch.child_level else WITH_EXAMPLES,
                )
            )
            outcome = checkpoint.run(
                batch_parameters={"dataframe": batch.frame.rename_axis(None)},
                expectation_parameters=dict(batch.parameters),
                run_id=run_id,
            )
            (result,) = outcome.run_results.values()
            results.append(result)
        context.build_data_docs(site_names=[DOCS_SITE])
    return results


# ---- a return's expectations through GX --------------------------------------------------------------


def return_frame(sv: SheetValues, fields: Sequence[str]) -> pd.DataFrame:
    """A sheet's `fields` laid out as `RETURN_COLUMNS` (given, typed, validity, number)."""
    columns: dict[str, pd.Series] = {}
    index = sv.given.index
    for name in dict.fromkeys(fields):
        columns[name] = sv.given[name]
        typed = sv.typed[name]
        if sv.spec.field(name).type == "date":
            typed = _nanoseconds(typed)
        columns[f"{name}__v"] = typed
        columns[f"{name}__ok"] = sv.valid[name]
        columns[f"{name}__n"] = sv.numbers[name] if name in sv.numbers else pd.Series(float("nan"), index=index)
    return pd.DataFrame(columns, index=index)


def _nanoseconds(dates: pd.Series) -> pd.Series:
    """Dates as nanosecond datetimes where every one fits (1677 to 2262), which GX compares as
    arrays; a date outside that (a typo like 3025) keeps microseconds, compared more slowly."""
    try:
        return dates.astype("datetime64[ns]")
    except pd.errors.OutOfBoundsDatetime:
        return dates


EvaluatorInput = tuple[Sequence[Expectation], Mapping[str, SheetValues], Mapping[str, date]]


def gx_evaluate(
    expectations: Sequence[Expectation], sheets: Mapping[str, SheetValues], bounds: Mapping[str, date]
) -> list[tuple[Expectation, list[Any]]]:
    """`transforms.validate.evaluate.evaluate`, through Great Expectations: one suite per sheet."""
    return gx_evaluate_many([(expectations, sheets, bounds)])[0]


def gx_evaluate_many(inputs: Sequence[EvaluatorInput]) -> list[list[tuple[Expectation, list[Any]]]]:
    """`gx_evaluate` for many returns at once: the rows of every return's sheet in one frame,
    so GX's cost per expectation (milliseconds, whatever the rows) is paid once per sheet."""
    results: list[dict[int, list[Any]]] = [{} for _ in inputs]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for position, (expectations, _, bounds) in enumerate(inputs):
        key = (tuple(expectations), tuple(sorted(bounds.items())))
        groups.setdefault(key, []).append(position)
    for (expectations, bounds_items), positions in groups.items():
        bounds = dict(bounds_items)
        parameters = {name: pd.Timestamp(day) for name, day in bounds.items()}
        by_sheet: dict[str, list[tuple[int, Expectation]]] = {}
        for number, e in enumerate(expectations):
            if not (e.needs_period and e.bound not in bounds):
                by_sheet.setdefault(e.sheet, []).append((number, e))
        for sheet, members in by_sheet.items():
            fields = [name for _, e in members for name in e.fields_read]
            parts: list[pd.DataFrame] = []
            owners: list[tuple[int, Any]] = []
            for position in positions:
                values = inputs[position][1].get(sheet)
                if values is None or values.given.empty:
                    continue
                part = return_frame(values, fields)
                owners.extend((position, label) for label in part.index)
                parts.append(part.reset_index(drop=True))
            if not parts:
                continue
            frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            suite = [gx_expectation(e, RETURN_COLUMNS, {"number": number}) for number, e in members]
            signature = abs(hash(tuple(repr(e) for _, e in members)))
            result = run_suite(f"return-{sheet}-{signature:x}", frame, suite, parameters)
            by_number = dict(zip((number for number, _ in members), suite, strict=True))
            for outcome in result.results:
                raise_on_exception(outcome)
                if outcome.success:
                    continue
                number = int(outcome.expectation_config.meta["number"])
                for row in failing_rows(frame, by_number[number], parameters):
                    position, label = owners[int(row)]
                    results[position].setdefault(number, []).append(label)
    return [
        [(inputs[position][0][number], rows) for number, rows in sorted(found.items())]
        for position, found in enumerate(results)
    ]
