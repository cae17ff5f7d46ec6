"""Rules no expectation of the standard (`expect:`) can express: plain functions by rule id.

Check digits (UPN, NHS number), uniqueness with the rows of later occurrences, date
arithmetic (ages), the register (in operation, LA numbers, same council), cross-sheet counts,
the upload's claim and the previous return. Each function takes the `Context` and yields
findings; each stays quiet for rows whose inputs are blank (where blank is itself an error) or
failed their type check, so one mistake gives one finding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date

import numpy as np
import pandas as pd

from schemas.calendar import Period
from schemas.identifiers import UPN_ALPHABET, looks_like_identifier, mask_identifiers
from transforms.findings import Finding
from transforms.ingest.model import HeaderProblem, KeyValueSheet, TableSheet
from transforms.validate.context import Context
from transforms.validate.messages import render

RuleFunction = Callable[[Context], Iterable[Finding]]
REGISTRY: dict[str, RuleFunction] = {}


def rule(rule_id: str) -> Callable[[RuleFunction], RuleFunction]:
    """Register a function as the implementation of a rule of the standard."""

    def register(function: RuleFunction) -> RuleFunction:
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} is registered twice")
        REGISTRY[rule_id] = function
        return function

    return register


# ---- vectorised helpers ------------------------------------------------------------------------

_UPN_VALUES = np.full(256, -1, dtype=np.int64)
for _i in range(10):
    _UPN_VALUES[ord(str(_i))] = _i
for _i, _letter in enumerate(UPN_ALPHABET):
    _UPN_VALUES[ord(_letter)] = _i
_UPN_LETTERS = np.frombuffer(UPN_ALPHABET.encode("ascii"), dtype=np.uint8)


def _chars(values: pd.Series, width: int) -> np.ndarray:
    """Fixed-width ASCII strings -> an (n, width) array of byte values."""
    return np.array(values.tolist(), dtype=f"S{width}").view(np.uint8).reshape(len(values), width)


def upn_check_ok(upns: pd.Series) -> pd.Series:
    """UPN check letters, for well-formed UPNs (13 characters of the UPN alphabet)."""
    if upns.empty:
        return pd.Series(dtype=bool, index=upns.index)
    chars = _chars(upns, 13)
    total = (_UPN_VALUES[chars[:, 1:]] * np.arange(2, 14)).sum(axis=1)
    return pd.Series(_UPN_LETTERS[total % 23] == chars[:, 0], index=upns.index)


def nhs_check_ok(numbers: pd.Series) -> pd.Series:
    """Modulus 11 check digits, for well-formed NHS numbers (10 digits)."""
    if numbers.empty:
        return pd.Series(dtype=bool, index=numbers.index)
    digits = _chars(numbers, 10).astype(np.int64) - ord("0")
    check = 11 - (digits[:, :9] * np.arange(10, 1, -1)).sum(axis=1) % 11
    check = np.where(check == 11, 0, check)
    return pd.Series((check != 10) & (check == digits[:, 9]), index=numbers.index)


def age_on(births: pd.Series, on: pd.Series | pd.Timestamp) -> pd.Series:
    """Whole years between two datetime columns (NaN where either is missing)."""
    on_series = on if isinstance(on, pd.Series) else pd.Series(on, index=births.index)
    years = on_series.dt.year - births.dt.year
    before_birthday = (on_series.dt.month < births.dt.month) | (
        (on_series.dt.month == births.dt.month) & (on_series.dt.day < births.dt.day)
    )
    return years - before_birthday.astype(int)


def _rows(mask: pd.Series) -> list[object]:
    return list(mask.index[mask.fillna(False).astype(bool)])


# ---- structure --------------------------------------------------------------------------------


@rule("STRUCT-01")
def unknown_headers(ctx: Context) -> Iterator[Finding]:
    for problem in _header_problems(ctx, "unknown"):
        yield _header_finding(ctx, "STRUCT-01", problem, value=problem.text)


@rule("STRUCT-03")
def duplicate_headers(ctx: Context) -> Iterator[Finding]:
    for problem in _header_problems(ctx, "duplicate"):
        yield _header_finding(ctx, "STRUCT-03", problem, field=problem.text)


def _header_problems(ctx: Context, kind: str) -> Iterator[HeaderProblem]:
    for sheet in ctx.ret.sheets.values():
        for problem in sheet.header_problems:
            if problem.kind == kind:
                yield problem


def _header_finding(ctx: Context, rule_id: str, problem: HeaderProblem, **values: str) -> Finding:
    location = problem.location
    rule_ = ctx.standard.rule(rule_id)
    if "value" in values:  # a header is the council's text too: masked and truncated like a value
        values = {**values, "value": ctx.quoted(values["value"])}
    message = render(ctx.standard, rule_, {"sheet": location.sheet, **values}, value_field=None)
    message = mask_identifiers(message, ctx.identifiers)
    return Finding(
        rule_id, rule_.severity, location.sheet, location.cell, values.get("field"), None, message, location.row
    )


def _blank_table(ctx: Context, sheet: str) -> bool:
    """A table sheet without a single header: no field, nothing unknown, no rows. (A JSON
    return has no header row: its empty `children` array is a return without children.)"""
    raw = ctx.ret.sheets.get(sheet)
    if ctx.ret.format == "json" or not isinstance(raw, TableSheet):
        return False
    return not raw.columns and not raw.header_problems and raw.frame.empty


@rule("STRUCT-06")
def blank_table_sheet(ctx: Context) -> Iterator[Finding]:
    for sheet in ctx.standard.sheets:
        if sheet.layout == "table" and _blank_table(ctx, sheet.name):
            yield ctx.finding("STRUCT-06", sheet.name, None)


@rule("STRUCT-02")
def missing_required_fields(ctx: Context) -> Iterator[Finding]:
    for sheet in ctx.standard.sheets:
        values = ctx.sheets[sheet.name]
        if sheet.layout == "table" and _blank_table(ctx, sheet.name):
            continue  # STRUCT-06 says it once
        for f in sheet.required_fields:
            if f.name not in values.present:
                yield ctx.finding("STRUCT-02", sheet.name, f.name)


@rule("STRUCT-04")
def excel_error_cells(ctx: Context) -> Iterator[Finding]:
    """An error cell whose text passed its field's type check (free text): the field's own
    rules (code lists, formats, dates) report the others, quoting the error."""
    if not ctx.ret.error_cells:
        return
    for sheet in ctx.standard.sheets:
        values = ctx.sheets[sheet.name]
        raw = ctx.ret.sheets.get(sheet.name)
        for cell, text in ctx.ret.error_cells.items():
            if not cell.startswith(f"{sheet.name}!"):
                continue
            letters = "".join(ch for ch in cell.split("!", 1)[1] if ch.isalpha())
            row = int("".join(ch for ch in cell.split("!", 1)[1] if ch.isdigit()))
            if isinstance(raw, TableSheet):
                names = [name for name, letter in raw.columns.items() if letter == letters]
                index: object = row
            elif isinstance(raw, KeyValueSheet):
                names = [name for name, where in raw.locations.items() if where.cell == cell]
                index = 0
            else:
                continue
            for name in names:
                if name in values.valid and bool(values.valid[name].get(index, False)):
                    yield ctx.finding("STRUCT-04", sheet.name, name, index, value=text)


@rule("STRUCT-05")
def hidden_parts(ctx: Context) -> Iterator[Finding]:
    for part in ctx.ret.hidden:
        if part.kind == "sheet":
            what, verb, detail = "The whole", "is", "the sheet itself"
        else:
            shown_items = ", ".join(part.items) + (
                f" and {part.count - len(part.items):,} more" if part.count > len(part.items) else ""
            )
            what = ("Row" if part.kind == "rows" else "Column") + ("s" if part.count != 1 else "")
            verb = "are" if part.count != 1 else "is"
            detail = shown_items
        yield ctx.finding("STRUCT-05", part.sheet, None, what=what, verb=verb, detail=detail)


# ---- typing -----------------------------------------------------------------------------------


@rule("VAL-03")
def unreadable_dates(ctx: Context) -> Iterator[Finding]:
    for values in ctx.sheets.values():
        for name, failed in values.date_failures.items():
            for index in _rows(failed):
                yield ctx.finding("VAL-03", values.name, name, index)


# ---- About ------------------------------------------------------------------------------------


@rule("ABT-01")
def council_in_operation(ctx: Context) -> Iterator[Finding]:
    if ctx.council is not None and ctx.period is not None and not ctx.council.in_operation_during(ctx.period):
        yield ctx.finding("ABT-01", "About", "council_code")


@rule("ABT-02")
def la_number_matches(ctx: Context) -> Iterator[Finding]:
    if ctx.council is None or not ctx.keyvalue_valid("About", "la_number"):
        return
    if ctx.about("la_number") != ctx.council.la_number:
        yield ctx.finding("ABT-02", "About", "la_number", expected=ctx.council.la_number)


@rule("ABT-03")
def period_not_future(ctx: Context) -> Iterator[Finding]:
    if ctx.given_period is not None and ctx.given_period.start > ctx.today:
        yield ctx.finding("ABT-03", "About", "period")


@rule("ABT-05")
def matches_claim(ctx: Context) -> Iterator[Finding]:
    if ctx.claimed_council and ctx.council is not None:
        claimed = ctx.claimed_council.strip().upper()
        given = ctx.council.council_code
        same = claimed == given or (
            ctx.register.find(claimed) is not None and ctx.register.same_council(claimed, given)
        )
        if not same:
            yield ctx.finding("ABT-05", "About", "council_code", claimed=ctx.claimed_council)
    if ctx.claimed_period and ctx.period is not None:
        try:
            claimed_period: Period | None = Period.parse(ctx.claimed_period)
        except ValueError:
            claimed_period = None
        if claimed_period != ctx.period:
            yield ctx.finding("ABT-05", "About", "period", claimed=ctx.claimed_period)


# ---- Strategy ---------------------------------------------------------------------------------


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


@rule("STR-01")
def reviewed_recently(ctx: Context) -> Iterator[Finding]:
    """REVIEWED needs a review date in the 12 months ending on the period end.

    Decision: "within the 12 months before the period end" is the day after the same date a
    year earlier up to the period end; a date after the period end is STR-02's finding.
    """
    if ctx.period is None or ctx.keyvalue_typed("Strategy", "cse_strategy") != "REVIEWED":
        return
    strategy = ctx.sheets["Strategy"]
    if strategy.blank("strategy_reviewed_on").iloc[0]:
        yield ctx.finding("STR-01", "Strategy", "cse_strategy")
        return
    reviewed = ctx.keyvalue_typed("Strategy", "strategy_reviewed_on")
    if reviewed is None:
        return  # not a date: VAL-03
    reviewed_on = pd.Timestamp(reviewed).date()
    if reviewed_on <= _year_before(ctx.period.end):
        yield ctx.finding("STR-01", "Strategy", "cse_strategy")


# ---- Children ---------------------------------------------------------------------------------


@rule("CHD-01")
def unique_local_child_id(ctx: Context) -> Iterator[Finding]:
    ids = ctx.sheets["Children"].given["local_child_id"]
    present = ids.dropna()
    later = present.duplicated(keep="first")
    if not later.any():
        return
    firsts = present[~later]
    first_row = pd.Series(firsts.index, index=firsts.values)
    for index, value in present[later].items():
        yield ctx.finding("CHD-01", "Children", "local_child_id", index, other_row=int(first_row[value]))


@rule("CHD-25")
def local_child_id_is_not_an_identifier(ctx: Context) -> Iterator[Finding]:
    ids = ctx.sheets["Children"].given["local_child_id"].dropna()
    known = ctx.identifiers
    for index, value in ids.items():
        if looks_like_identifier(str(value), known):
            yield ctx.finding("CHD-25", "Children", "local_child_id", index)


@rule("CHD-03")
def no_id_reason_only_without_identifiers(ctx: Context) -> Iterator[Finding]:
    children = ctx.sheets["Children"]
    given, valid = children.given, children.valid
    has_identifier = given["upn"].notna() | given["nhs_number"].notna()
    mistyped = (given["upn"].notna() & ~valid["upn"]) | (given["nhs_number"].notna() & ~valid["nhs_number"])
    for index in _rows(valid["no_id_reason"] & has_identifier & ~mistyped):
        yield ctx.finding("CHD-03", "Children", "no_id_reason", index)


def _well_formed(ctx: Context, name: str) -> pd.Series:
    children = ctx.sheets["Children"]
    return children.given[name][children.valid[name]]


@rule("CHD-05")
def upn_check_letter(ctx: Context) -> Iterator[Finding]:
    upns = _well_formed(ctx, "upn")
    for index in _rows(~upn_check_ok(upns)):
        yield ctx.finding("CHD-05", "Children", "upn", index)


@rule("CHD-06")
def upn_la_digits(ctx: Context) -> Iterator[Finding]:
    upns = _well_formed(ctx, "upn")
    checked = upns[upn_check_ok(upns)]
    unknown = ~checked.str[1:4].isin(ctx.register.la_numbers())
    for index in _rows(unknown):
        yield ctx.finding("CHD-06", "Children", "upn", index)


@rule("CHD-08")
def nhs_check_digit(ctx: Context) -> Iterator[Finding]:
    numbers = _well_formed(ctx, "nhs_number")
    for index in _rows(~nhs_check_ok(numbers)):
        yield ctx.finding("CHD-08", "Children", "nhs_number", index)


def _adult_on_identification(ctx: Context) -> pd.Series:
    typed = ctx.sheets["Children"].typed
    return age_on(typed["date_of_birth"], typed["identified_on"]) >= 18


@rule("CHD-09")
def under_18_on_identification(ctx: Context) -> Iterator[Finding]:
    for index in _rows(_adult_on_identification(ctx)):
        yield ctx.finding("CHD-09", "Children", "date_of_birth", index)


def _open_at_end(ctx: Context) -> pd.Series | None:
    """Children open at the period end: closed_on blank or after it (None without a period).

    A closed_on that is not a date is neither open nor closed (False).
    """
    if ctx.period is None:
        return None
    children = ctx.sheets["Children"]
    end = pd.Timestamp(ctx.period.end)
    return children.blank("closed_on") | (children.typed["closed_on"] > end)


@rule("CHD-22")
def adult_still_open(ctx: Context) -> Iterator[Finding]:
    """Decision: quiet for a child already 18 on identified_on (CHD-09 says what is wrong)."""
    open_ = _open_at_end(ctx)
    if open_ is None:
        return
    births = ctx.sheets["Children"].typed["date_of_birth"]
    adult = age_on(births, pd.Timestamp(ctx.period.end)) >= 18  # type: ignore[union-attr]
    for index in _rows(adult & open_ & ~_adult_on_identification(ctx).fillna(False)):
        yield ctx.finding("CHD-22", "Children", "date_of_birth", index)


@rule("CHD-19")
def moved_to_in_operation(ctx: Context) -> Iterator[Finding]:
    if ctx.period is None:
        return
    children = ctx.sheets["Children"]
    codes = children.given["moved_to_council"][children.valid["moved_to_council"]]
    for index, code in codes.items():
        council = ctx.register.find(str(code))
        if council is not None and not council.in_operation_during(ctx.period):
            yield ctx.finding("CHD-19", "Children", "moved_to_council", index)


@rule("CHD-20")
def moved_to_not_self(ctx: Context) -> Iterator[Finding]:
    if ctx.council is None:
        return
    children = ctx.sheets["Children"]
    codes = children.given["moved_to_council"][children.valid["moved_to_council"]]
    own = ctx.council.council_code
    same = {code for code in codes.unique() if ctx.register.same_council(str(code), own)}
    for index in _rows(codes.isin(same)):
        yield ctx.finding("CHD-20", "Children", "moved_to_council", index)


@rule("CHD-21")
def moved_to_only_with_moved_out(ctx: Context) -> Iterator[Finding]:
    children = ctx.sheets["Children"]
    given, valid = children.given, children.valid
    reason_known = given["closure_reason"].isna() | valid["closure_reason"]
    not_moved_out = given["closure_reason"].ne("MOVED_OUT") | given["closure_reason"].isna()
    for index in _rows(valid["moved_to_council"] & reason_known & not_moved_out):
        yield ctx.finding("CHD-21", "Children", "moved_to_council", index)


# ---- across the sheets of one return ------------------------------------------------------------


@rule("XS-01")
def open_at_end_covers_children(ctx: Context) -> Iterator[Finding]:
    open_ = _open_at_end(ctx)
    reported = ctx.keyvalue_typed("Activity", "children_open_at_end")
    if open_ is None or reported is None:
        return
    count = int(open_.sum())
    if int(reported) < count:
        yield ctx.finding("XS-01", "Activity", "children_open_at_end", other=count)


@rule("XS-02")
def newly_identified_matches_children(ctx: Context) -> Iterator[Finding]:
    reported = ctx.keyvalue_typed("Activity", "children_newly_identified")
    children = ctx.sheets["Children"]
    if ctx.period is None or reported is None or not bool(children.valid["identified_on"].all()):
        return
    identified = children.typed["identified_on"]
    inside = (identified >= pd.Timestamp(ctx.period.start)) & (identified <= pd.Timestamp(ctx.period.end))
    count = int(inside.sum())
    if int(reported) != count:
        yield ctx.finding("XS-02", "Activity", "children_newly_identified", other=count)


# ---- against the previous accepted return -----------------------------------------------------


@rule("PRV-01")
def change_against_previous(ctx: Context) -> Iterator[Finding]:
    """Both |change| > 10 and |change| > 50% of the previous figure (0 -> anything above 10)."""
    if ctx.previous is None:
        return
    for f in ctx.standard.sheet("Activity").fields:
        if not f.comparable or f.name not in ctx.previous.activity:
            continue
        current = ctx.keyvalue_typed("Activity", f.name)
        before = ctx.previous.activity[f.name]
        if current is None or before is None:
            continue
        change = abs(int(current) - int(before))
        if change > 10 and change > 0.5 * abs(int(before)):
            yield ctx.finding("PRV-01", "Activity", f.name, other=int(before), previous_period=ctx.previous.period)


def function_rule_ids() -> frozenset[str]:
    return frozenset(REGISTRY)


__all__ = ["REGISTRY", "RuleFunction", "age_on", "function_rule_ids", "nhs_check_ok", "rule", "upn_check_ok"]
