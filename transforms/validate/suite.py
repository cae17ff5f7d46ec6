"""The Great Expectations suite, generated from the standard, and how it is run.

`checks(standard)` walks the standard's rules and fields and emits one `Check` per expectation:
- per field, by type or property (the rule's `applies_to`): required -> not null (VAL-01), code
  list -> in set (VAL-02), integer -> whole-number format and minimum (VAL-04), max_length ->
  lengths (VAL-05), GSS code -> in the register (VAL-06), email / LA number / period / UPN / NHS
  number -> format (VAL-07/08/09, CHD-04, CHD-07);
- per rule, from `CONDITIONS`: the rule's condition over the fields it lists (`rule.fields`),
  as a GX `row_condition` (pandas parser) or a column-pair comparison; the date-range rules
  compare with the period's dates, passed as suite parameters so the suite is built once.

Three frames are validated, so GX runs three times per return:
- `cells`: every value of the return, one row per cell (sheet, field, row), with `given` text,
  `number` (any whole number) and `fid` (which field). The per-field checks run here, grouped:
  one expectation per rule and parameter (e.g. one in-set per code list) whose row_condition
  selects the fields it applies to (`fid in [...]`). GX's cost is per expectation (some
  milliseconds each, whatever the rows), so grouping keeps a return to a few dozen expectations
  instead of one per field and rule.
- `table`: the Children columns the conditional rules read, one row per child (Excel row index).
- `keyvalue`: one row with the About, Strategy and Activity columns the conditional rules read.
Wide columns: `<field>` the given text, `<field>__v` the typed value when valid, `<field>__ok`
validity (key/value columns are prefixed `<Sheet>__`); only those some expectation reads, since
GX's cost per expectation grows with the width of the frame (it hashes and copies every column).

GX is imported lazily, and its context is created once per process and cached. Each run asks
for BOOLEAN_ONLY over the whole suite first, and for unexpected indexes (COMPLETE) only for the
expectations that failed, because COMPLETE over every expectation is many times slower.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from schemas.standard import Field, Rule, Sheet, Standard, load_standard
from transforms.validate.coerce import TYPE_FORMATS, SheetValues

Group = Literal["cells", "keyvalue", "table"]
Kind = Literal["not_null", "be_null", "in_set", "not_in_set", "between", "regex", "lengths", "pair_ge"]


@dataclass(frozen=True)
class Check:
    """One expectation: which rule it checks, the cell it points at, and what GX evaluates."""

    rule: str
    sheet: str
    field: str  # the field whose cell a failure points at
    kind: Kind
    column: str
    args: tuple[tuple[str, Any], ...] = ()
    condition: str | None = None
    needs_period: bool = False
    columns_used: tuple[str, ...] = ()  # every frame column it reads (target, column_B, condition)

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.args)


@dataclass(frozen=True)
class Conditional:
    """A rule's condition. `target` is the field pointed at (default: rule.fields[0]).

    kind/values: what the target must satisfy on rows where `when` (a pandas query over
    `{field}` / `{field:v}` / `{field:ok}` placeholders) holds. For `pair_ge`, `left >= right`
    (typed values) where both are present. For `between`, the typed target within the period
    bounds named in `low` / `high` ("period_start" / "period_end").
    """

    kind: Kind
    when: str | None = None
    values: tuple[str, ...] = ()
    left: str = ""
    right: str = ""
    low: str | None = None
    high: str | None = None
    target: str | None = None
    each_other_field: bool = False  # one expectation per field after the first (STR-03)


# The condition of every conditional rule GX evaluates, keyed by rule id. Field names come from
# the rule; only the logic lives here (a new kind of rule is one entry, or one function).
CONDITIONS: dict[str, Conditional] = {
    "ABT-04": Conditional("between", low="period_end"),
    "STR-02": Conditional("between", high="period_end"),
    "STR-03": Conditional("not_in_set", values=("Y",), when="{multi_agency_team} == 'NONE'", each_other_field=True),
    "STR-04": Conditional(
        "not_in_set", values=("Y",), when="({info_sharing_protocol:ok} == True) & ({info_sharing_protocol} != 'SIGNED')"
    ),
    "ACT-01": Conditional("pair_ge", left="missing_episodes", right="children_missing"),
    "ACT-02": Conditional("pair_ge", left="return_interviews_offered", right="return_interviews_within_72h"),
    "CHD-02": Conditional("not_null", when="{nhs_number}.isnull() & {no_id_reason}.isnull()"),
    "CHD-10": Conditional("pair_ge", left="identified_on", right="date_of_birth"),
    "CHD-11": Conditional("between", high="period_end"),
    "CHD-12": Conditional("not_in_set", values=("N",), when="{missing_episodes:v} > 0"),
    "CHD-13": Conditional("not_null", when="{missing_episodes:v} > 0"),
    "CHD-14": Conditional("between", low="period_start", high="period_end"),
    "CHD-15": Conditional("pair_ge", left="closed_on", right="identified_on"),
    "CHD-16": Conditional("not_null", when="{closed_on:v}.notnull()"),
    "CHD-17": Conditional("not_null", when="{closure_reason:ok} == True"),
    "CHD-18": Conditional("not_null", when="{closure_reason} == 'MOVED_OUT'"),
    "CHD-23": Conditional("not_in_set", values=("HIGH",), when="{referred_to_police} == 'N'"),
    "CHD-24": Conditional("be_null", when="{moved_from_council}.isnull()"),
}

_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")


def group_of(sheet: Sheet) -> Group:
    return "keyvalue" if sheet.layout == "keyvalue" else "table"


def column(sheet: Sheet, name: str, suffix: str = "") -> str:
    tail = f"__{suffix}" if suffix else ""
    return f"{sheet.name}__{name}{tail}" if sheet.layout == "keyvalue" else f"{name}{tail}"


def _field_checks(standard: Standard, rule: Rule, sheet: Sheet, f: Field, gss_codes: frozenset[str]) -> Iterator[Check]:
    def make(kind: Kind, col: str, **args: Any) -> Check:
        return Check(rule.id, sheet.name, f.name, kind, col, tuple(args.items()), columns_used=(col,))

    given = column(sheet, f.name)
    match rule.id:
        case "VAL-01" if f.required:
            yield make("not_null", given)
        case "VAL-02" if f.type == "code":
            yield make("in_set", given, value_set=list(standard.codes(f)))
        case "VAL-04" if f.type == "integer":
            yield make("regex", given, regex=f"^{TYPE_FORMATS['integer']}$")
            if f.minimum is not None:
                yield make("between", column(sheet, f.name, "n"), min_value=f.minimum)
        case "VAL-05" if f.max_length is not None:
            yield make("lengths", given, max_value=f.max_length)
        case "VAL-06" if f.type == "gss_code":
            yield make("in_set", given, value_set=sorted(gss_codes))
        case "VAL-07" | "VAL-08" | "VAL-09" | "CHD-04" | "CHD-07" if f.type in TYPE_FORMATS:
            yield make("regex", given, regex=f"^{TYPE_FORMATS[f.type]}$")


FIELD_RULES = frozenset(
    {"VAL-01", "VAL-02", "VAL-04", "VAL-05", "VAL-06", "VAL-07", "VAL-08", "VAL-09", "CHD-04", "CHD-07"}
)


def _resolve(sheet: Sheet, text: str) -> tuple[str, tuple[str, ...]]:
    """A condition's placeholders -> frame columns; also the columns it reads."""
    columns: list[str] = []

    def sub(match: re.Match[str]) -> str:
        sheet.field(match[1])  # KeyError for a field the sheet does not have
        columns.append(column(sheet, match[1], match[2] or ""))
        return columns[-1]

    return _PLACEHOLDER.sub(sub, text), tuple(columns)


def _conditional_checks(rule: Rule, sheet: Sheet, spec: Conditional) -> Iterator[Check]:
    targets = list(rule.fields[1:]) if spec.each_other_field else [spec.target or rule.fields[0]]
    for target in targets:
        sheet.field(target)
        if spec.kind == "pair_ge":
            sheet.field(spec.left)
            sheet.field(spec.right)
            left, right = column(sheet, spec.left, "v"), column(sheet, spec.right, "v")
            yield Check(
                rule.id, sheet.name, target, "pair_ge", left, (("column_B", right),),
                columns_used=(left, right),
            )
            continue
        if spec.kind == "between":
            args: dict[str, Any] = {}
            if spec.low:
                args["min_value"] = {"$PARAMETER": spec.low}
            if spec.high:
                args["max_value"] = {"$PARAMETER": spec.high}
            typed = column(sheet, target, "v")
            yield Check(
                rule.id, sheet.name, target, "between", typed, tuple(args.items()),
                needs_period=True, columns_used=(typed,),
            )
            continue
        condition, columns = _resolve(sheet, spec.when) if spec.when else (None, ())
        args = {"value_set": list(spec.values)} if spec.values else {}
        given = column(sheet, target)
        yield Check(
            rule.id, sheet.name, target, spec.kind, given, tuple(args.items()),
            condition=condition, columns_used=(given, *columns),
        )


def checks(standard: Standard, gss_codes: frozenset[str]) -> tuple[Check, ...]:
    """Every expectation of the suite, generated from the standard (cached per version)."""
    return _checks(standard.version, gss_codes)


@functools.cache
def _checks(version: str, gss_codes: frozenset[str]) -> tuple[Check, ...]:
    standard = load_standard(version)
    out: list[Check] = []
    for rule in standard.rules:
        if rule.scope == "cross_council":
            continue
        if rule.id in FIELD_RULES:
            for sheet in standard.sheets:
                if rule.sheets and sheet.name not in rule.sheets:
                    continue
                for f in sheet.fields:
                    if f.name in rule.fields:
                        out.extend(_field_checks(standard, rule, sheet, f, gss_codes))
        elif rule.id in CONDITIONS:
            for sheet_name in rule.sheets[:1]:
                out.extend(_conditional_checks(rule, standard.sheet(sheet_name), CONDITIONS[rule.id]))
    return tuple(out)


# ---- expectations as GX runs them ------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One GX expectation: the checks it stands for (several fields for the `cells` group)."""

    group: Group
    rule: str
    kind: Kind
    column: str
    args: tuple[tuple[str, Any], ...]
    condition: str | None
    needs_period: bool
    checks: tuple[Check, ...]


def field_keys(standard: Standard) -> list[tuple[str, str]]:
    """(sheet, field) for every field of the standard; a position in this list is a `fid`."""
    return [(sheet.name, f.name) for sheet in standard.sheets for f in sheet.fields]


def _cells_column(check: Check) -> str:
    return "number" if check.column.endswith("__n") else "given"


def plan(standard: Standard, gss_codes: frozenset[str]) -> tuple[Planned, ...]:
    return _plan(standard.version, gss_codes)


@functools.cache
def _plan(version: str, gss_codes: frozenset[str]) -> tuple[Planned, ...]:
    standard = load_standard(version)
    fids = {key: number for number, key in enumerate(field_keys(standard))}
    grouped: dict[tuple[Any, ...], list[Check]] = {}
    planned: list[Planned] = []
    for check in checks(standard, gss_codes):
        if check.rule in FIELD_RULES:
            key = (check.rule, check.kind, _cells_column(check), repr(check.args))
            grouped.setdefault(key, []).append(check)
            continue
        group = group_of(standard.sheet(check.sheet))
        planned.append(
            Planned(group, check.rule, check.kind, check.column, check.args, check.condition, check.needs_period,
                    (check,))
        )
    for (rule_id, kind, column_name, _), members in grouped.items():
        numbers = sorted(fids[(c.sheet, c.field)] for c in members)
        planned.append(
            Planned("cells", rule_id, kind, column_name, members[0].args, f"fid in {numbers}", False, tuple(members))
        )
    return tuple(planned)


def gx_rule_ids() -> frozenset[str]:
    return FIELD_RULES | frozenset(CONDITIONS)


# ---- frames -----------------------------------------------------------------------------------


def cells_frame(standard: Standard, values: list[SheetValues]) -> tuple[pd.DataFrame, list[tuple[str, str, Any]]]:
    """Every present value of the return, one row each, and (sheet, field, index) per row."""
    fids = {key: number for number, key in enumerate(field_keys(standard))}
    given_parts: list[pd.Series] = []
    number_parts: list[pd.Series] = []
    fid_parts: list[np.ndarray] = []
    where: list[tuple[str, str, Any]] = []
    for sv in values:
        for f in sv.spec.fields:
            if f.name not in sv.present:
                continue
            given = sv.given[f.name]
            given_parts.append(given)
            number_parts.append(sv.numbers[f.name] if f.name in sv.numbers else pd.Series(np.nan, index=given.index))
            fid_parts.append(np.full(len(given), fids[(sv.name, f.name)], dtype=np.int64))
            where.append((sv.name, f.name, given.index))
    if not given_parts:
        return pd.DataFrame({"fid": [], "given": [], "number": []}), []
    frame = pd.DataFrame(
        {
            "fid": np.concatenate(fid_parts),
            "given": pd.concat(given_parts, ignore_index=True).astype(object),
            "number": pd.concat(number_parts, ignore_index=True).astype(float),
        }
    )
    return frame, where


def locate_cells(where: list[tuple[str, str, Any]], positions: list[int]) -> list[tuple[str, str, Any]]:
    """Positions in the cells frame -> (sheet, field, index in that sheet)."""
    starts = np.cumsum([0] + [len(index) for _, _, index in where])
    out: list[tuple[str, str, Any]] = []
    for position in positions:
        part = int(np.searchsorted(starts, position, side="right") - 1)
        sheet, name, index = where[part]
        out.append((sheet, name, index[position - starts[part]]))
    return out


def wide_frame(standard: Standard, group: Group, values: list[SheetValues]) -> pd.DataFrame:
    """The columns the group's conditional expectations read (given, typed, validity), and no
    others: GX fingerprints the whole frame of a batch (a hash of every column) and its row
    conditions copy every column, so each unused column costs time on every expectation.
    Dates are nanosecond datetimes, the kind GX compares as arrays rather than value by value."""
    wanted: set[str] = set()
    for planned in _plan_for_frames(standard):
        if planned.group == group:
            for check in planned.checks:
                wanted.update(check.columns_used)
    columns: dict[str, pd.Series] = {}
    index = values[0].given.index
    for sv in values:
        spec = sv.spec
        for f in spec.fields:
            given, ok, typed = column(spec, f.name), column(spec, f.name, "ok"), column(spec, f.name, "v")
            if given in wanted:
                columns[given] = sv.given[f.name].set_axis(index)
            if ok in wanted:
                columns[ok] = sv.valid[f.name].set_axis(index)
            if typed in wanted:
                value = sv.typed[f.name].set_axis(index)
                if f.type == "date":
                    value = _nanoseconds(value)
                columns[typed] = value
    return pd.DataFrame(columns, index=index)


def _nanoseconds(dates: pd.Series) -> pd.Series:
    """Dates as nanosecond datetimes where every one fits (1677 to 2262); a date outside that
    (a typo like 3025) keeps microseconds, which GX compares correctly, only more slowly."""
    try:
        return dates.astype("datetime64[ns]")
    except pd.errors.OutOfBoundsDatetime:
        return dates


def _plan_for_frames(standard: Standard) -> tuple[Planned, ...]:
    # The wide frames' columns do not depend on the register's codes.
    return tuple(p for p in _plan(standard.version, frozenset()) if p.group != "cells")


# ---- GX runtime -------------------------------------------------------------------------------


@dataclass
class _Runtime:
    batch_definitions: dict[Group, Any]
    suites: dict[Group, Any]
    expectations: dict[Group, list[tuple[Planned, Any]]]


_EXPECTATION_CLASSES = {
    "not_null": "ExpectColumnValuesToNotBeNull",
    "be_null": "ExpectColumnValuesToBeNull",
    "in_set": "ExpectColumnValuesToBeInSet",
    "not_in_set": "ExpectColumnValuesToNotBeInSet",
    "between": "ExpectColumnValuesToBeBetween",
    "regex": "ExpectColumnValuesToMatchRegex",
    "lengths": "ExpectColumnValueLengthsToBeBetween",
    "pair_ge": "ExpectColumnPairValuesAToBeGreaterThanB",
}

GROUPS: tuple[Group, ...] = ("cells", "keyvalue", "table")


def _expectation(gxe: Any, planned: Planned, number: int) -> Any:
    cls = getattr(gxe, _EXPECTATION_CLASSES[planned.kind])
    kwargs = dict(planned.args)
    meta = {"planned": number, "rule": planned.rule}
    if planned.condition:
        kwargs["row_condition"] = planned.condition
        kwargs["condition_parser"] = "pandas"
    if planned.kind == "pair_ge":
        return cls(column_A=planned.column, or_equal=True, ignore_row_if="either_value_is_missing", meta=meta, **kwargs)
    return cls(column=planned.column, meta=meta, **kwargs)


# One lock per process around GX: the context, its data sources and suites are shared, and
# neither building them (`functools.cache` lets two threads build at once, and the second
# `add_pandas` then fails on the duplicate name) nor validating on them is documented as
# thread-safe. The portal validates uploads in a thread pool; GX work is Python-bound under the
# GIL anyway, so holding the lock costs little.
_GX_LOCK = threading.RLock()


@functools.cache
def _gx_context() -> Any:
    """One ephemeral GX context per process, without progress bars (they write to stderr)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _runtime(standard: Standard, gss_codes: frozenset[str]) -> _Runtime:
    with _GX_LOCK:
        return _runtime_for(standard.version, gss_codes)


@functools.cache
def _runtime_for(version: str, gss_codes: frozenset[str]) -> _Runtime:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    standard = load_standard(version)
    context = _gx_context()
    name = f"lscb-{standard.version}-{len(gss_codes)}"
    source = context.data_sources.add_pandas(name)
    batch_definitions: dict[Group, Any] = {}
    suites: dict[Group, Any] = {}
    expectations: dict[Group, list[tuple[Planned, Any]]] = {group: [] for group in GROUPS}
    for number, planned in enumerate(plan(standard, gss_codes)):
        expectations[planned.group].append((planned, _expectation(gxe, planned, number)))
    for group in GROUPS:
        asset = source.add_dataframe_asset(group)
        batch_definitions[group] = asset.add_batch_definition_whole_dataframe("whole")
        suite = context.suites.add(gx.ExpectationSuite(name=f"{name}-{group}"))
        for _, expectation in expectations[group]:
            suite.add_expectation(expectation)
        suites[group] = suite
    return _Runtime(batch_definitions, suites, expectations)


def warm_up(standard: Standard, gss_codes: frozenset[str]) -> None:
    """Create the GX context and suites now (the one-time cost), e.g. before timing."""
    _runtime(standard, gss_codes)


def run(
    standard: Standard,
    gss_codes: frozenset[str],
    group: Group,
    frame: pd.DataFrame,
    parameters: dict[str, Any],
) -> list[tuple[Planned, list[Any]]]:
    """Validate one frame; returns each failing expectation with the index labels of failing rows."""
    runtime = _runtime(standard, gss_codes)
    if not runtime.expectations[group] or frame.empty:
        return []
    frame = frame.rename_axis(None)  # a named index makes GX report rows as dicts
    with _GX_LOCK:
        return _validate_batch(runtime, group, frame, parameters)


def _validate_batch(
    runtime: _Runtime, group: Group, frame: pd.DataFrame, parameters: dict[str, Any]
) -> list[tuple[Planned, list[Any]]]:
    batch = runtime.batch_definitions[group].get_batch(batch_parameters={"dataframe": frame})
    summary = batch.validate(runtime.suites[group], result_format="BOOLEAN_ONLY", expectation_parameters=parameters)
    by_number = {int(e.meta["planned"]): (p, e) for p, e in runtime.expectations[group]}
    failing: list[tuple[Planned, list[Any]]] = []
    for result in summary.results:
        _raise_on_exception(result)
        if result.success:
            continue
        planned, expectation = by_number[int(result.expectation_config.meta["planned"])]
        detail = batch.validate(
            expectation,
            result_format={"result_format": "COMPLETE", "return_unexpected_index_query": False},
            expectation_parameters=parameters,
        )
        _raise_on_exception(detail)
        rows = list(detail.result.get("unexpected_index_list") or [])
        if len(rows) != detail.result.get("unexpected_count", len(rows)):
            raise RuntimeError(f"GX listed {len(rows)} of {detail.result.get('unexpected_count')} failing rows")
        failing.append((planned, rows))
    return failing


def _raise_on_exception(result: Any) -> None:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        raise RuntimeError(f"GX expectation failed to run: {info.get('exception_message')}")


def describe(standard: Standard, gss_codes: frozenset[str]) -> list[dict[str, Any]]:
    """The generated suite as plain data (for the documentation and tests)."""
    return [
        {"group": p.group, "rule": p.rule, "kind": p.kind, "column": p.column, "condition": p.condition,
         "fields": [f"{c.sheet}.{c.field}" for c in p.checks]}
        for p in plan(standard, gss_codes)
    ]


# ---- the same expectations, evaluated with pandas alone ---------------------------------------


def _parameter(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return parameters[value["$PARAMETER"]]
    return value


_FIELD_IDS = re.compile(r"fid in \[([\d, ]*)\]")


def _condition_mask(condition: str, frame: pd.DataFrame) -> np.ndarray:
    """The rows a row condition selects. The cells frame's conditions (`fid in [...]`, one row
    per cell of the return) are read as a set test on the field-id column: pandas' general
    `eval` over every cell of a large return, once per expectation, cost more than the checks."""
    ids = _FIELD_IDS.fullmatch(condition)
    if ids is not None:
        wanted = [int(part) for part in ids.group(1).split(",") if part.strip()]
        return frame["fid"].isin(wanted).to_numpy(dtype=bool)
    return frame.eval(condition, parser="pandas", engine="python").to_numpy(dtype=bool)


def _unexpected(planned: Planned, frame: pd.DataFrame, parameters: dict[str, Any]) -> pd.Series:
    """Rows failing one expectation, with GX's semantics (nulls ignored except by the null checks)."""
    rows = frame
    if planned.condition:
        rows = frame[_condition_mask(planned.condition, frame)]
    args = {k: _parameter(v, parameters) for k, v in planned.args}
    values = rows[planned.column]
    present = values.notna()
    match planned.kind:
        case "not_null":
            return ~present
        case "be_null":
            return present
        case "in_set":
            return present & ~values.isin(args["value_set"])
        case "not_in_set":
            return present & values.isin(args["value_set"])
        case "regex":
            text = values.where(present, "").astype(str)
            return present & ~text.str.contains(args["regex"], regex=True)
        case "lengths":
            return present & (values.where(present, "").astype(str).str.len() > args["max_value"])
        case "between":
            low, high = args.get("min_value"), args.get("max_value")
            failed = pd.Series(False, index=values.index)
            if low is not None:
                failed |= present & (values < low)
            if high is not None:
                failed |= present & (values > high)
            return failed
        case "pair_ge":
            other = rows[args["column_B"]]
            both = present & other.notna()
            return both & ~(values >= other).fillna(False).astype(bool)
    raise ValueError(f"unknown expectation kind {planned.kind!r}")


def run_native(
    standard: Standard,
    gss_codes: frozenset[str],
    group: Group,
    frame: pd.DataFrame,
    parameters: dict[str, Any],
) -> list[tuple[Planned, list[Any]]]:
    """`run`, with pandas instead of GX: the same generated expectations, the same answers."""
    failing: list[tuple[Planned, list[Any]]] = []
    if frame.empty:
        return failing
    for planned in plan(standard, gss_codes):
        if planned.group != group:
            continue
        unexpected = _unexpected(planned, frame, parameters)
        rows = list(unexpected.index[unexpected.to_numpy(dtype=bool)])
        if rows:
            failing.append((planned, rows))
    return failing
