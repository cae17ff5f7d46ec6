"""Feedback to a council on its return: the findings, and the council's data with each finding
marked on its cell.

`write_feedback(ret, result, out) -> Path` writes `.xlsx` or `.html` (by the suffix of `out`).

XLSX: sheet `Findings` (one row a finding, errors first, each cell reference a link to the cell
in the copy, autofilter, frozen header), sheet `Summary`, then a copy of the council's sheets
rebuilt from the `ReturnFile` at their original rows and columns, with each offending cell
filled red (error) or amber (query) and the finding messages as the cell's comment.

HTML: the same findings as an accessible page, grouped by rule, and a compact view of the
offending rows of each sheet.

Identifiers: the values of identifier fields (UPN, NHS number) are never written. Their columns
in the copy are blank, with a header note saying so; any other value or message text that holds
one of the return's identifier values is replaced by a placeholder as a second line of defence.

Analysts (`birth_month_only=True`): the standard keeps the date of birth only to the month in
anything an analyst sees (§6), so their copy shows each date of birth as its month (`2010-05`,
text), and any full date in a message or a free-text cell is cut to its month as well.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from reports.cell_safety import neutralise
from schemas.identifiers import looks_like_identifier, mask_identifiers
from schemas.standard import Standard, latest_version, load_standard
from transforms.findings import Finding
from transforms.ingest.model import KeyValueSheet, ReturnFile, TableSheet
from transforms.validate.model import ValidationResult

TEMPLATES = Path(__file__).with_name("templates")
CREATOR = "lscb-returns"

ERROR_FILL_COLOUR = "FFFFC7CE"  # light red
QUERY_FILL_COLOUR = "FFFFEB9C"  # amber
ERROR_FILL = PatternFill("solid", fgColor=ERROR_FILL_COLOUR)
QUERY_FILL = PatternFill("solid", fgColor=QUERY_FILL_COLOUR)
HEADER_FILL = PatternFill("solid", fgColor="FF1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFFFF")
LINK_FONT = Font(color="FF0563C1", underline="single")

SEVERITY_NAMES = {"E": "Error", "Q": "Query"}
FINDINGS_COLUMNS = ("rule", "severity", "sheet", "cell", "field", "local_child_id", "message")
IDENTIFIER_NOTE = "Identifiers (UPN, NHS number) are not reproduced in this feedback; the column is left blank."
REDACTED = "[identifier removed]"
MIN_IDENTIFIER_LENGTH = 5  # shorter junk values cannot be told apart from ordinary text
_CELL = re.compile(r"^([A-Za-z]+)!\$?([A-Z]+)\$?(\d+)$")
MONTH_ONLY_FIELDS = frozenset({"date_of_birth"})  # standard §6: to the month only for analysts
MONTH_ONLY_NOTE = "Dates of birth are shown to the month only (the standard, section 6)."
# a full date written as ISO (2010-05-01, 2010-05-01T00:00:00) or as dd/mm/yyyy (01/05/2010, 1-5-2010)
_ISO_DAY = re.compile(r"\b(\d{4})-(\d{1,2})-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\b")
_UK_DAY = re.compile(r"\b\d{1,2}[/.-](\d{1,2})[/.-](\d{4})\b")


@dataclass
class _Located:
    sheet: str
    column: str
    row: int

    @property
    def coordinate(self) -> str:
        return f"{self.column}{self.row}"


@dataclass
class _Context:
    ret: ReturnFile
    result: ValidationResult
    standard: Standard
    identifier_fields: set[str]
    secrets: set[str]  # normalised identifier values present in the return
    findings: list[Finding] = field(default_factory=list)
    birth_month_only: bool = False  # an analyst's copy (standard §6)

    def __post_init__(self) -> None:
        self._lengths = sorted({len(secret) for secret in self.secrets}, reverse=True)

    def found(self, squeezed: str) -> list[str]:
        """The identifier values inside `squeezed` (normalised text), longest first.

        One set lookup per window position and identifier length, so scrubbing stays linear in
        the text however many children the return holds.
        """
        hits: dict[str, None] = {}
        for length in self._lengths:
            for start in range(len(squeezed) - length + 1):
                window = squeezed[start : start + length]
                if window in self.secrets:
                    hits[window] = None
        return list(hits)

    def scrub(self, text: str) -> str:
        """Replace any identifier value inside free text (messages, other cells): the return's
        own, and anything that reads as a valid UPN or NHS number (typed into another column);
        in an analyst's copy, cut any full date to its month too."""
        if self.birth_month_only and text:
            text = month_only(text)
        if not text:
            return text
        if self.secrets:
            squeezed = _normalise(text)
            if squeezed in self.secrets:
                return REDACTED
            for secret in self.found(squeezed):
                # tolerate spaces inside the identifier as written (NHS numbers are often spaced)
                pattern = r"\s*".join(re.escape(ch) for ch in secret)
                text = re.sub(pattern, REDACTED, text, flags=re.IGNORECASE)
        if looks_like_identifier(text):
            return REDACTED
        return mask_identifiers(text, mask=REDACTED)


def month_only(text: str) -> str:
    """`text` with every full date in it cut to its month: 2010-05-01 -> 2010-05, 01/05/2010 -> 05/2010."""
    text = _ISO_DAY.sub(lambda m: f"{m[1]}-{int(m[2]):02d}", text)
    return _UK_DAY.sub(lambda m: f"{int(m[1]):02d}/{m[2]}", text)


def _month_of(value: object) -> str | None:
    """A date of birth as its month (`2010-05`); None when the value is not a date."""
    if isinstance(value, datetime | date):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, pd.Timestamp) and not pd.isna(value):
        return f"{value.year:04d}-{value.month:02d}"
    return None


NOT_A_DATE = "(not a date; not shown)"


def _birth_month_text(value: object) -> str:
    """What an analyst sees of a date of birth: its month, or nothing of a value that is not a
    date (a serial number or free text could still give the day away)."""
    month = _month_of(value)
    if month is not None:
        return month
    text = _text(value)
    cut = month_only(text)
    return cut if cut != text else NOT_A_DATE


def write_feedback(ret: ReturnFile, result: ValidationResult, out: Path, *, birth_month_only: bool = False) -> Path:
    """Write the feedback report as `.xlsx` or `.html` (by suffix); returns `out`.

    `birth_month_only`: the copy for an analyst (dates of birth to the month only)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".html"):
        raise ValueError(f"feedback is written as .xlsx or .html, not {out.name!r}")
    context = _context(ret, result)
    context.birth_month_only = birth_month_only
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        if suffix == ".xlsx":
            _workbook(context).save(partial)
        else:
            partial.write_text(_html(context), encoding="utf-8")
        partial.replace(out)  # a reader never sees half a report
    finally:
        partial.unlink(missing_ok=True)
    return out


# ---------------------------------------------------------------------------------------------
# shared


def _context(ret: ReturnFile, result: ValidationResult) -> _Context:
    standard = _standard(ret.standard_version or result.standard_version)
    identifier_fields = {f.name for f in standard.identifier_fields}
    secrets: set[str] = set()
    for sheet in ret.sheets.values():
        if isinstance(sheet, TableSheet):
            for name in identifier_fields & set(sheet.frame.columns):
                for value in sheet.frame[name]:
                    if not _blank(value):
                        secret = _normalise(_text(value))
                        if len(secret) >= MIN_IDENTIFIER_LENGTH:
                            secrets.add(secret)
        else:
            for name in identifier_fields & set(sheet.values):
                value = sheet.values[name]
                if not _blank(value) and len(_normalise(_text(value))) >= MIN_IDENTIFIER_LENGTH:
                    secrets.add(_normalise(_text(value)))
    context = _Context(ret, result, standard, identifier_fields, secrets)
    order = {name: index for index, name in enumerate(standard.sheet_names)}
    context.findings = sorted(result.findings, key=lambda f: _sort_key(f, order))
    return context


def _standard(version: str) -> Standard:
    try:
        return load_standard(version)
    except KeyError:
        return load_standard(latest_version())


def _sort_key(finding: Finding, order: dict[str, int]) -> tuple[Any, ...]:
    located = _locate(finding)
    column = column_index_from_string(located.column) if located else 0
    row = located.row if located else (finding.row or 0)
    return (
        0 if finding.severity == "E" else 1,
        order.get(finding.sheet or "", len(order)),
        row,
        column,
        finding.rule,
    )


def _locate(finding: Finding) -> _Located | None:
    if not finding.cell:
        return None
    match = _CELL.match(finding.cell.strip())
    if match is None:
        return None
    return _Located(match[1], match[2].upper(), int(match[3]))


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _message(context: _Context, finding: Finding) -> str:
    return context.scrub(finding.message)


def _child_id(context: _Context, finding: Finding) -> str:
    return context.scrub(finding.local_child_id or "")


# ---------------------------------------------------------------------------------------------
# XLSX


def _workbook(context: _Context) -> Workbook:
    workbook = Workbook()
    findings_ws = workbook.active
    assert findings_ws is not None
    findings_ws.title = "Findings"
    summary_ws = workbook.create_sheet("Summary")
    copies = _write_copies(workbook, context)
    _write_findings(findings_ws, context, copies)
    _write_summary(summary_ws, context)
    props = workbook.properties
    props.title = f"Feedback on {context.ret.source_name}"
    props.creator = CREATOR
    props.lastModifiedBy = CREATOR
    props.subject = f"LSCB quarterly return {context.result.period or ''} {context.result.council_code or ''}".strip()
    return workbook


def _write_findings(ws: Worksheet, context: _Context, copies: set[str]) -> None:
    for index, name in enumerate(FINDINGS_COLUMNS, start=1):
        _header(ws.cell(row=1, column=index), name)
    for row, finding in enumerate(context.findings, start=2):
        located = _locate(finding)
        values = [
            finding.rule,
            SEVERITY_NAMES.get(finding.severity, finding.severity),
            finding.sheet or "",
            finding.cell or "",
            finding.field or "",
            _child_id(context, finding),
            _message(context, finding),
        ]
        for column, value in enumerate(values, start=1):
            _put(ws.cell(row=row, column=column), value)
        severity_cell = ws.cell(row=row, column=2)
        severity_cell.fill = ERROR_FILL if finding.severity == "E" else QUERY_FILL
        if located is not None and located.sheet in copies:
            link_cell = ws.cell(row=row, column=4)
            link_cell.hyperlink = Hyperlink(
                ref=link_cell.coordinate,
                location=f"'{located.sheet}'!{located.coordinate}",
                tooltip=f"Go to {finding.cell} in the copy of your return",
            )
            link_cell.font = LINK_FONT
        ws.cell(row=row, column=7).alignment = Alignment(wrap_text=True, vertical="top")
    last = max(1, len(context.findings) + 1)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(FINDINGS_COLUMNS))}{last}"
    ws.freeze_panes = "A2"
    for letter, width in zip("ABCDEFG", (12, 10, 11, 15, 26, 18, 90), strict=True):
        ws.column_dimensions[letter].width = width


def _write_summary(ws: Worksheet, context: _Context) -> None:
    result = context.result
    rows: list[tuple[str, object]] = [
        ("File", context.ret.source_name),
        ("Council", result.council_code or ""),
        ("Period", result.period or ""),
        ("Standard version", result.standard_version),
        ("Status", "rejected: fix the errors and upload again" if result.errors else "accepted"),
        ("Errors", result.errors),
        ("Queries", result.queries),
        ("Errors (E)", "must be fixed before the return can be accepted or signed off"),
        ("Queries (Q)", "unusual: fix them, or give an explanation, which is kept with the return"),
        ("Identifiers", IDENTIFIER_NOTE),
    ]
    _header(ws.cell(row=1, column=1), "item")
    _header(ws.cell(row=1, column=2), "value")
    for row, (label, value) in enumerate(rows, start=2):
        ws.cell(row=row, column=1, value=label).font = Font(bold=True)
        _put(ws.cell(row=row, column=2), value)
    start = len(rows) + 3
    for column, name in enumerate(("rule", "severity", "findings", "what it checks"), start=1):
        _header(ws.cell(row=start, column=column), name)
    for offset, (rule_id, severity, count, description) in enumerate(_rule_counts(context), start=1):
        for column, value in enumerate((rule_id, SEVERITY_NAMES.get(severity, severity), count, description), 1):
            _put(ws.cell(row=start + offset, column=column), value)
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 60
    ws.column_dimensions["D"].width = 80


def _rule_counts(context: _Context) -> list[tuple[str, str, int, str]]:
    counts: dict[str, int] = defaultdict(int)
    severities: dict[str, str] = {}
    for finding in context.findings:
        counts[finding.rule] += 1
        severities[finding.rule] = finding.severity
    out = []
    for rule_id, count in counts.items():
        try:
            description = context.standard.rule(rule_id).description
        except KeyError:
            description = ""
        out.append((rule_id, severities[rule_id], count, description))
    return out  # already errors first, in the order findings are listed


def _write_copies(workbook: Workbook, context: _Context) -> set[str]:
    """The council's sheets rebuilt at their original cells; returns the names written."""
    written: set[str] = set()
    marks = _marks(context)
    names = [n for n in context.standard.sheet_names if n in context.ret.sheets]
    names += [n for n in context.ret.sheets if n not in names]
    for name in names:
        sheet = context.ret.sheets[name]
        ws = workbook.create_sheet(name)
        if isinstance(sheet, KeyValueSheet):
            _copy_keyvalue(ws, sheet, context)
        else:
            _copy_table(ws, sheet, context)
        for coordinate, findings in marks.get(name, {}).items():
            _mark(ws[coordinate], findings, context)
        ws.freeze_panes = "A2"
        written.add(name)
    return written


def _marks(context: _Context) -> dict[str, dict[str, list[Finding]]]:
    marks: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for finding in context.findings:
        located = _locate(finding)
        if located is not None:
            marks[located.sheet][located.coordinate].append(finding)
    return marks


def _copy_keyvalue(ws: Worksheet, sheet: KeyValueSheet, context: _Context) -> None:
    _header(ws["A1"], "field")
    _header(ws["B1"], "value")
    for name, location in sheet.locations.items():
        ws.cell(row=location.row, column=1, value=name).font = Font(bold=True)
        cell = ws[f"{location.column}{location.row}"]
        if name in context.identifier_fields:
            cell.comment = Comment(IDENTIFIER_NOTE, CREATOR)
            continue
        _put_value(cell, sheet.values.get(name), context)
    for problem in sheet.header_problems:
        _put(ws[problem.location.cell.split("!")[1]], context.scrub(problem.text))
    ws.column_dimensions["A"].width = 32
    ws.column_dimensions["B"].width = 40


def _copy_table(ws: Worksheet, sheet: TableSheet, context: _Context) -> None:
    for name, letter in sheet.columns.items():
        header = ws[f"{letter}1"]
        _header(header, name)
        if name in context.identifier_fields:
            header.comment = Comment(IDENTIFIER_NOTE, CREATOR)
        elif context.birth_month_only and name in MONTH_ONLY_FIELDS:
            header.comment = Comment(MONTH_ONLY_NOTE, CREATOR)
        ws.column_dimensions[letter].width = max(12, min(len(name) + 3, 30))
    for problem in sheet.header_problems:
        cell = ws[f"{problem.location.column}{problem.location.row}"]
        _header(cell, context.scrub(problem.text))
    frame = sheet.frame
    copied = [name for name in frame.columns if name in sheet.columns and name not in context.identifier_fields]
    indexes = [column_index_from_string(sheet.columns[name]) for name in copied]
    months = {name for name in copied if context.birth_month_only and name in MONTH_ONLY_FIELDS}
    for excel_row, record in zip(frame.index, frame[copied].itertuples(index=False, name=None), strict=True):
        for name, column, value in zip(copied, indexes, record, strict=True):
            if _blank(value):
                continue
            # an analyst's date of birth: the month, as text (no day to recover from a date's format)
            shown = _birth_month_text(value) if name in months else value
            _put_value(ws.cell(row=int(excel_row), column=column), shown, context)


def _mark(cell: Cell, findings: list[Finding], context: _Context) -> None:
    worst = "E" if any(f.severity == "E" for f in findings) else "Q"
    cell.fill = ERROR_FILL if worst == "E" else QUERY_FILL
    lines = [f"{f.rule} ({SEVERITY_NAMES.get(f.severity, f.severity)}): {_message(context, f)}" for f in findings]
    if cell.comment is not None:
        lines.append(cell.comment.text)
    text = "\n".join(lines)
    comment = Comment(text, CREATOR)
    comment.width = 360
    comment.height = 40 + 16 * max(1, len(text) // 50 + len(lines))
    cell.comment = comment


def _header(cell: Cell, text: str) -> None:
    _put(cell, text)
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL


def _put(cell: Cell, value: object) -> None:
    """Write a value as data: text is never read as a formula, illegal characters are dropped."""
    if isinstance(value, str):
        cell.value = neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # "=SUM(...)" typed by a council stays text in the feedback
    else:
        cell.value = value  # type: ignore[assignment]


def _put_value(cell: Cell, value: object, context: _Context) -> None:
    if _blank(value):
        return
    if isinstance(value, bool):
        _put(cell, value)
    elif isinstance(value, datetime):
        _put(cell, value.replace(tzinfo=None))
        cell.number_format = "dd/mm/yyyy" if value.time() == datetime.min.time() else "dd/mm/yyyy hh:mm"
    elif isinstance(value, date):
        _put(cell, value)
        cell.number_format = "dd/mm/yyyy"
    elif isinstance(value, int | float):
        if (context.secrets and _normalise(_text(value)) in context.secrets) or looks_like_identifier(_text(value)):
            _put(cell, REDACTED)
        else:
            _put(cell, value)
    else:
        _put(cell, context.scrub(str(value)))


# ---------------------------------------------------------------------------------------------
# HTML


@dataclass
class _RuleGroup:
    rule: str
    severity: str
    description: str
    findings: list[dict[str, str]]


@dataclass
class _SheetView:
    name: str
    layout: str
    columns: list[str]  # fields shown (table sheets): local_child_id first, then flagged fields
    rows: list[dict[str, Any]]


def _html(context: _Context) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("feedback.html.j2")
    return template.render(
        ret=context.ret,
        result=context.result,
        groups=_rule_groups(context),
        sheet_views=_sheet_views(context),
        severity_names=SEVERITY_NAMES,
        identifier_note=IDENTIFIER_NOTE,
        total=len(context.findings),
    )


def _rule_groups(context: _Context) -> list[_RuleGroup]:
    groups: dict[str, _RuleGroup] = {}
    for finding in context.findings:
        group = groups.get(finding.rule)
        if group is None:
            try:
                description = context.standard.rule(finding.rule).description
            except KeyError:
                description = ""
            group = groups[finding.rule] = _RuleGroup(finding.rule, finding.severity, description, [])
        group.findings.append(
            {
                "cell": finding.cell or "",
                "sheet": finding.sheet or "",
                "field": finding.field or "",
                "local_child_id": _child_id(context, finding),
                "message": _message(context, finding),
            }
        )
    return list(groups.values())


def _sheet_views(context: _Context) -> list[_SheetView]:
    views: list[_SheetView] = []
    marks = _marks(context)
    for name in [n for n in context.standard.sheet_names if n in context.ret.sheets]:
        sheet_marks = marks.get(name)
        if not sheet_marks:
            continue
        sheet = context.ret.sheets[name]
        if isinstance(sheet, KeyValueSheet):
            by_row: dict[int, dict[str, Any]] = {}
            field_at = {loc.row: field_name for field_name, loc in sheet.locations.items()}
            for coordinate, findings in sheet_marks.items():
                row = int(re.sub(r"^[A-Z]+", "", coordinate))
                field_name = field_at.get(row) or (findings[0].field or "")
                by_row[row] = {
                    "row": row,
                    "cells": [
                        {
                            "field": field_name,
                            "value": _display(context, field_name, sheet.values.get(field_name)),
                            "severity": _worst(findings),
                            "rules": ", ".join(dict.fromkeys(f.rule for f in findings)),
                        }
                    ],
                }
            views.append(_SheetView(name, "keyvalue", ["field", "value"], [by_row[r] for r in sorted(by_row)]))
        else:
            letter_to_field = {letter: field_name for field_name, letter in sheet.columns.items()}
            rows: dict[int, dict[str, Any]] = {}
            for coordinate, findings in sheet_marks.items():
                match = re.match(r"^([A-Z]+)(\d+)$", coordinate)
                assert match is not None
                letter, row = match[1], int(match[2])
                field_name = letter_to_field.get(letter) or (findings[0].field or letter)
                entry = rows.setdefault(row, {"row": row, "local_child_id": "", "cells": []})
                if row in sheet.frame.index and "local_child_id" in sheet.frame.columns:
                    raw = sheet.frame.at[row, "local_child_id"]
                    entry["local_child_id"] = "" if _blank(raw) else context.scrub(_text(raw))
                elif findings[0].local_child_id:
                    entry["local_child_id"] = _child_id(context, findings[0])
                raw_value = (
                    sheet.frame.at[row, field_name]
                    if (row in sheet.frame.index and field_name in sheet.frame.columns)
                    else None
                )
                entry["cells"].append(
                    {
                        "field": field_name,
                        "value": _display(context, field_name, raw_value),
                        "severity": _worst(findings),
                        "rules": ", ".join(dict.fromkeys(f.rule for f in findings)),
                        "column": letter,
                    }
                )
            for entry in rows.values():
                entry["cells"].sort(key=lambda c: column_index_from_string(c["column"]))
            views.append(_SheetView(name, "table", [], [rows[r] for r in sorted(rows)]))
    return views


def _display(context: _Context, field_name: str, value: object) -> str:
    if field_name in context.identifier_fields:
        return "(not reproduced)"
    if _blank(value):
        return "(blank)"
    if context.birth_month_only and field_name in MONTH_ONLY_FIELDS:
        return _birth_month_text(value)
    return context.scrub(_text(value))


def _worst(findings: list[Finding]) -> str:
    return "E" if any(f.severity == "E" for f in findings) else "Q"
