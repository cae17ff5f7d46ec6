"""validate_return: type the return, evaluate the standard's expectations, then the rule functions.

No Great Expectations here: the expectations generated from the standard run in one vectorised
evaluator (`transforms.validate.evaluate`); GX runs the same expectations in the national
data-quality gate, and a test holds the two to the same findings.
"""

from __future__ import annotations

import functools
import time
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from schemas.calendar import Period
from schemas.expectations import Expectation, expectations
from schemas.register import load_register
from schemas.standard import Sheet, Standard, load_standard
from transforms.findings import Finding
from transforms.ingest.model import KeyValueSheet, Refused, ReturnFile, TableSheet
from transforms.validate.coerce import SheetValues, type_sheet, typed_object, typed_scalar
from transforms.validate.context import Context
from transforms.validate.evaluate import Evaluator, evaluate
from transforms.validate.model import PreviousReturn, TypedReturn, ValidationResult
from transforms.validate.rules import REGISTRY


@functools.cache
def gss_codes() -> frozenset[str]:
    """Every GSS code of the register (any date): what VAL-06 accepts."""
    return frozenset(c.council_code for c in load_register().all())


def warm_up(version: str = "1.0") -> None:
    """Load the standard, the register and the expectations now (what the first return would pay)."""
    standard_expectations(version)


def implemented_rule_ids(standard: Standard) -> dict[str, str]:
    """Rule id -> "expectation" or "function", for every rule validation runs (`Rule.validated`)."""
    expected = {e.rule for e in standard_expectations(standard.version)}
    out: dict[str, str] = {}
    for rule in standard.rules:
        if not rule.validated:
            continue
        if rule.id in REGISTRY:
            out[rule.id] = "function"
        elif rule.id in expected:
            out[rule.id] = "expectation"
    return out


def _standard_for(ret: ReturnFile) -> Standard:
    try:
        return load_standard(str(ret.standard_version).strip() or "1.0")
    except KeyError as error:
        raise Refused("REF-VERSION", str(error), ret.source_name) from None


def _sheet_values(standard: Standard, spec: Sheet, ret: ReturnFile) -> SheetValues:
    schema_fields = set(spec.field_names)
    sheet = ret.sheets.get(spec.name)
    if spec.layout == "keyvalue":
        kv = sheet if isinstance(sheet, KeyValueSheet) else KeyValueSheet(spec.name, {}, {})
        present = frozenset(n for n in kv.values if n in schema_fields)
        raw = pd.DataFrame({n: pd.Series([kv.values[n]], dtype=object) for n in present}, index=[0])

        def locate_kv(name: str, index: Any) -> tuple[str | None, int | None]:
            location = kv.locations.get(name)
            return (location.cell, location.row) if location else (None, None)

        return type_sheet(standard, spec, raw, present, locate_kv, gss_codes())
    table = sheet if isinstance(sheet, TableSheet) else TableSheet(spec.name, pd.DataFrame(), {})
    present = frozenset(n for n in table.frame.columns if n in schema_fields and n in table.columns)
    raw = table.frame[[n for n in table.frame.columns if n in present]]
    letters = dict(table.columns)

    def locate_table(name: str, index: Any) -> tuple[str | None, int | None]:
        letter = letters.get(name)
        return (f"{spec.name}!{letter}{int(index)}" if letter else None), int(index)

    return type_sheet(standard, spec, raw, present, locate_table, gss_codes())


@functools.cache
def standard_expectations(version: str) -> tuple[Expectation, ...]:
    """The expectations of a version of the standard (cached: built once per process)."""
    return expectations(load_standard(version), gss_codes())


def period_bounds(period: Period | None) -> dict[str, date]:
    """The period's dates the expectations compare with (none when the period is unknown)."""
    return {} if period is None else {"period_start": period.start, "period_end": period.end}


def _expectation_findings(ctx: Context, evaluator: Evaluator) -> list[Finding]:
    """The findings of the standard's expectations, from `evaluator` (one pass over the return)."""
    findings: list[Finding] = []
    failing = evaluator(standard_expectations(ctx.standard.version), ctx.sheets, period_bounds(ctx.period))
    for expectation, rows in failing:
        values = ctx.sheets[expectation.sheet]
        if values.spec.field(expectation.field).required and expectation.field not in values.present:
            continue  # STRUCT-02 already says the field is missing
        findings.extend(ctx.finding(expectation.rule, expectation.sheet, expectation.field, index) for index in rows)
    return findings


def _typed_return(ctx: Context) -> TypedReturn:
    def keyvalue(name: str) -> dict[str, object]:
        values = ctx.sheets[name]
        return {f.name: typed_scalar(values.typed[f.name].iloc[0], f) for f in values.spec.fields}

    about = keyvalue("About")
    about["standard_version"] = ctx.standard.version
    children = ctx.sheets["Children"]
    frame = pd.DataFrame(
        {f.name: typed_object(children.typed[f.name], f) for f in children.spec.fields},
        index=children.typed.index,
        dtype=object,
    )
    return TypedReturn(about=about, strategy=keyvalue("Strategy"), activity=keyvalue("Activity"), children=frame)


def _order(standard: Standard) -> dict[str, int]:
    return {name: i for i, name in enumerate(standard.sheet_names)}


def _sort_key(order: dict[str, int], finding: Finding) -> tuple[Any, ...]:
    column = ""
    if finding.cell:
        column = "".join(ch for ch in finding.cell.split("!", 1)[1] if ch.isalpha())
    return (
        order.get(finding.sheet or "", 99),
        finding.row or 0,
        len(column),
        column,
        finding.rule,
        finding.field or "",
    )


MAX_FINDINGS_PER_RULE = 1_000
MAX_FINDINGS = 10_000


def cap_findings(
    findings: list[Finding], per_rule: int = MAX_FINDINGS_PER_RULE, total: int = MAX_FINDINGS
) -> list[Finding]:
    """At most `per_rule` findings of a rule and `total` in all, in order; each rule cut short
    ends with one finding saying how many more there are ("and 49,000 more"), so a return
    with every cell wrong costs a bounded report and still cannot be accepted."""
    kept: list[Finding] = []
    shown_per_rule: dict[str, int] = {}
    more: dict[str, int] = {}
    first: dict[str, Finding] = {}
    for finding in findings:
        count = shown_per_rule.get(finding.rule, 0)
        if count < per_rule and len(kept) < total:
            shown_per_rule[finding.rule] = count + 1
            kept.append(finding)
            first.setdefault(finding.rule, finding)
        else:
            more[finding.rule] = more.get(finding.rule, 0) + 1
            first.setdefault(finding.rule, finding)
    for rule_id, count in more.items():
        like = first[rule_id]
        kept.append(
            Finding(
                rule=rule_id,
                severity=like.severity,
                sheet=like.sheet,
                cell=None,
                field=like.field,
                local_child_id=None,
                message=f"and {count:,} more finding{'s' if count != 1 else ''} of rule {rule_id} not listed "
                "here; fix the ones above (the same mistake is usually repeated) and check again.",
            )
        )
    return kept


def validate_return(
    ret: ReturnFile,
    *,
    claimed_council: str | None = None,
    claimed_period: str | None = None,
    previous: PreviousReturn | None = None,
    today: date | None = None,
    evaluator: Evaluator = evaluate,
) -> ValidationResult:
    """Validate a return read by ingest against the standard it declares.

    Runs every rule of the standard except the national cross-council ones (X1-X6). Findings
    point at the council's own cells; none repeats a UPN or NHS number. `evaluator` runs the
    standard's expectations (the agreement test passes GX's instead).
    """
    started = time.perf_counter()
    standard = _standard_for(ret)
    register = load_register()
    sheets = {spec.name: _sheet_values(standard, spec, ret) for spec in standard.sheets}
    typed_at = time.perf_counter()

    about = sheets["About"]
    period = Period.parse(str(about.given["period"].iloc[0])) if about.valid["period"].iloc[0] else None
    given_period = period
    if period is not None and period.start > (today or date.today()):
        period = None  # a future period is one mistake (ABT-03), not one per date compared with it
    council = register.find(str(about.given["council_code"].iloc[0])) if about.valid["council_code"].iloc[0] else None
    ctx = Context(
        standard=standard,
        register=register,
        ret=ret,
        sheets=sheets,
        period=period,
        council=council,
        claimed_council=claimed_council,
        claimed_period=claimed_period,
        previous=previous,
        today=today or date.today(),
        gss_codes=gss_codes(),
        given_period=given_period,
    )
    findings = _expectation_findings(ctx, evaluator)
    gx_at = time.perf_counter()
    for rule in standard.rules:
        function = REGISTRY.get(rule.id)
        if function is not None and rule.validated:
            findings.extend(function(ctx))
    functions_at = time.perf_counter()

    unique = list(dict.fromkeys(findings))
    order = _order(standard)
    unique.sort(key=lambda f: _sort_key(order, f))
    unique = cap_findings(unique)
    typed = _typed_return(ctx)
    finished = time.perf_counter()
    return ValidationResult(
        source_name=ret.source_name,
        checksum=ret.checksum,
        standard_version=standard.version,
        council_code=ctx.about("council_code"),
        period=ctx.about("period"),
        findings=unique,
        typed=typed,
        timings={
            "typing": typed_at - started,
            "expectations": gx_at - typed_at,  # the standard's expectations, in the evaluator
            "functions": functions_at - gx_at,
            "typed_return": finished - functions_at,
            "total": finished - started,
        },
    )


def validate_file(
    path: str | Path,
    *,
    claimed_council: str | None = None,
    claimed_period: str | None = None,
    previous: PreviousReturn | None = None,
    today: date | None = None,
) -> ValidationResult:
    """Read a return with safe ingest (raises `Refused`), then validate it."""
    from transforms.ingest import read_return

    ret = read_return(Path(path))
    return validate_return(
        ret, claimed_council=claimed_council, claimed_period=claimed_period, previous=previous, today=today
    )
