"""validate_return: type the return, run the generated GX suite, then the rule functions."""

from __future__ import annotations

import functools
import os
import time
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from schemas.calendar import Period
from schemas.register import load_register
from schemas.standard import Sheet, Standard, load_standard
from transforms.findings import Finding
from transforms.ingest.model import KeyValueSheet, Refused, ReturnFile, TableSheet
from transforms.validate import suite
from transforms.validate.coerce import SheetValues, type_sheet, typed_object, typed_scalar
from transforms.validate.context import Context
from transforms.validate.model import PreviousReturn, TypedReturn, ValidationResult
from transforms.validate.rules import REGISTRY


@functools.cache
def gss_codes() -> frozenset[str]:
    """Every GSS code of the register (any date): what VAL-06 accepts."""
    return frozenset(c.council_code for c in load_register().all())


def warm_up(version: str = "1.0") -> None:
    """Import GX and build its context and suites now (the one-time cost per process)."""
    suite.warm_up(load_standard(version), gss_codes())


def implemented_rule_ids(standard: Standard) -> dict[str, str]:
    """Rule id -> "gx" or "function", for every rule validation runs (all but cross_council)."""
    gx_ids = {c.rule for c in suite.checks(standard, gss_codes())}
    out: dict[str, str] = {}
    for rule in standard.rules:
        if rule.scope == "cross_council":
            continue
        if rule.id in REGISTRY:
            out[rule.id] = "function"
        elif rule.id in gx_ids:
            out[rule.id] = "gx"
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


GX_GROUPS_ENV = "LSCB_VALIDATE_GX"
DEFAULT_GX_GROUPS = ("table",)


def gx_groups() -> frozenset[str]:
    """Which frames GX validates; the others run the same generated expectations in pandas.

    Default: the Children table (the conditional expectations, with row conditions). GX costs
    some milliseconds per expectation whatever the rows, which dominates for the one-row
    key/value frame and the per-field checks; `LSCB_VALIDATE_GX=all` runs everything through
    GX, `none` nothing (tests check both give the same findings).
    """
    setting = os.environ.get(GX_GROUPS_ENV, "").strip().lower()
    if not setting:
        return frozenset(DEFAULT_GX_GROUPS)
    if setting == "all":
        return frozenset(suite.GROUPS)
    if setting == "none":
        return frozenset()
    return frozenset(part.strip() for part in setting.split(",") if part.strip())


def _gx_findings(ctx: Context) -> tuple[list[Finding], float]:
    """The generated suite's findings, and the seconds spent inside GX itself."""
    parameters: dict[str, Any] = {"period_start": pd.Timestamp("1900-01-01"), "period_end": pd.Timestamp("1900-01-01")}
    if ctx.period is not None:
        parameters = {"period_start": pd.Timestamp(ctx.period.start), "period_end": pd.Timestamp(ctx.period.end)}
    standard, codes = ctx.standard, gss_codes()
    findings: list[Finding] = []

    def add(rule_id: str, sheet: str, field_name: str, index: Any) -> None:
        sheet_values = ctx.sheets[sheet]
        if sheet_values.spec.field(field_name).required and field_name not in sheet_values.present:
            return  # STRUCT-02 already says the field is missing
        findings.append(ctx.finding(rule_id, sheet, field_name, index))

    values = [ctx.sheets[spec.name] for spec in standard.sheets]
    cells, where = suite.cells_frame(standard, values)
    runners = gx_groups()
    in_gx = 0.0

    def run(group: suite.Group, frame: pd.DataFrame) -> list[tuple[suite.Planned, list[Any]]]:
        if group not in runners:
            return suite.run_native(standard, codes, group, frame, parameters)
        nonlocal in_gx
        started = time.perf_counter()
        failing = suite.run(standard, codes, group, frame, parameters)
        in_gx += time.perf_counter() - started
        return failing

    for planned, rows in run("cells", cells):
        for sheet, field_name, index in suite.locate_cells(where, [int(r) for r in rows]):
            add(planned.rule, sheet, field_name, index)
    for group in ("keyvalue", "table"):
        members = [v for v in values if suite.group_of(v.spec) == group]
        if not members or members[0].given.empty:
            continue
        frame = suite.wide_frame(standard, group, members)
        for planned, rows in run(group, frame):
            if planned.needs_period and ctx.period is None:
                continue
            for check in planned.checks:
                for index in rows:
                    add(check.rule, check.sheet, check.field, index)
    return findings, in_gx


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


def validate_return(
    ret: ReturnFile,
    *,
    claimed_council: str | None = None,
    claimed_period: str | None = None,
    previous: PreviousReturn | None = None,
    today: date | None = None,
) -> ValidationResult:
    """Validate a return read by ingest against the standard it declares.

    Runs every rule of the standard except the national cross-council ones (X1-X5). Findings
    point at the council's own cells; none repeats a UPN or NHS number.
    """
    started = time.perf_counter()
    standard = _standard_for(ret)
    register = load_register()
    sheets = {spec.name: _sheet_values(standard, spec, ret) for spec in standard.sheets}
    typed_at = time.perf_counter()

    about = sheets["About"]
    period = Period.parse(str(about.given["period"].iloc[0])) if about.valid["period"].iloc[0] else None
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
    )
    findings, in_gx = _gx_findings(ctx)
    gx_at = time.perf_counter()
    for rule in standard.rules:
        function = REGISTRY.get(rule.id)
        if function is not None and rule.scope != "cross_council":
            findings.extend(function(ctx))
    functions_at = time.perf_counter()

    unique = list(dict.fromkeys(findings))
    order = _order(standard)
    unique.sort(key=lambda f: _sort_key(order, f))
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
            "expectations": gx_at - typed_at,  # the generated suite: frames, GX and pandas runs
            "of_which_gx": in_gx,  # inside Great Expectations itself
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
