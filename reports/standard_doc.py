"""The reference page of the standard, for councils: Markdown or HTML, rendered from the schema.

`render_standard(version="1.0", fmt="md"|"html") -> str`. Every field, code, rule and refusal on
the page comes from `schemas.standard.load_standard`; the calendar from `schemas.calendar`. The
only hand-written prose is the explanation around them (templates `standard.md.j2` and
`standard.html.j2` in `reports/templates/`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from reports.template import CHILDREN_ROWS, LISTS_SHEET, MARKER_TEXT, VERSION_NAME
from schemas.calendar import DEADLINE_DAYS, Period
from schemas.json_schema import json_schema
from schemas.standard import STANDARD_DIR, Field, Rule, Standard, load_standard

TEMPLATES = Path(__file__).with_name("templates")
Format = Literal["md", "html"]
FORMATS: tuple[str, ...] = ("md", "html")

SEVERITY_NAMES = {"E": "Error", "Q": "Query"}
SEVERITY_MEANING = {
    "E": "the return cannot be accepted or signed off until it is fixed.",
    "Q": "unusual: fix it, or give an explanation, which is kept with the return and shown to analysts.",
}
SCOPE_NAMES = {
    "structure": "Headers",
    "field": "One value",
    "conditional": "Several values of one row or sheet",
    "cross_sheet": "Across the sheets of the return",
    "upload": "Against what the upload claims",
    "previous": "Against your previous accepted return",
    "cross_council": "Across councils, at the national compile",
    "analyst": "Raised by the national data team",
}
TYPE_NAMES = {
    "text": "text",
    "email": "email address",
    "date": "date",
    "integer": "whole number",
    "code": "code",
    "gss_code": "GSS code",
    "la_number": "DfE LA number",
    "period": "period code",
    "upn": "UPN",
    "nhs_number": "NHS number",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class FieldRow:
    field: Field
    type_name: str
    codes: list[tuple[str, str]]  # (code, label)
    rules: list[Rule]  # rules specific to this field (not the generic header/value-type rules)


@dataclass(frozen=True)
class Decision:
    where: str  # "Strategy.strategy_reviewed_on", "Strategy sheet", "rule CHD-10"
    text: str


def render_standard(version: str = "1.0", fmt: str = "md") -> str:
    """The reference page for a version of the standard, as Markdown (`md`) or HTML (`html`)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    standard = load_standard(version)
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md_cell
    env.filters["placeholders"] = _placeholders
    template = env.get_template(f"standard.{fmt}.j2")
    return template.render(**page_context(standard))


def page_context(standard: Standard) -> dict[str, Any]:
    published = _published(standard.version)
    example = Period.containing(published) if published else Period(2025, 1)
    quarters = [Period(example.year, q) for q in (1, 2, 3, 4)]
    generic = {r.id for r in standard.rules if _is_generic(r)}
    sheets = []
    for sheet in standard.sheets:
        rows = []
        for field_ in sheet.fields:
            specific = [
                r
                for r in standard.rules
                if r.id not in generic and field_.name in r.fields and (not r.sheets or sheet.name in r.sheets)
            ]
            codes = list(standard.code_lists[field_.codes].values.items()) if field_.codes else []
            rows.append(FieldRow(field_, TYPE_NAMES.get(field_.type, field_.type), codes, specific))
        sheets.append({"sheet": sheet, "rows": rows})
    rules_by_scope = [
        {"scope": scope, "name": SCOPE_NAMES.get(scope, scope), "rules": list(standard.rules_for(scope))}
        for scope in dict.fromkeys(r.scope for r in standard.rules)
    ]
    return {
        "standard": standard,
        "published": published,
        "deadline_days": DEADLINE_DAYS,
        "example": example,
        "quarters": quarters,
        "sheets": sheets,
        "code_lists": list(standard.code_lists.values()),
        "types": [(name, TYPE_NAMES.get(name, name), text) for name, text in standard.types.items()],
        "rules_by_scope": rules_by_scope,
        "severities": [(s, SEVERITY_NAMES[s], SEVERITY_MEANING[s]) for s in ("E", "Q")],
        "decisions": _decisions(standard),
        "identifiers": list(standard.identifier_fields),
        "limits": standard.limits,
        "children_rows": CHILDREN_ROWS,
        "lists_sheet": LISTS_SHEET,
        "marker_text": MARKER_TEXT,
        "version_name": VERSION_NAME,
        "csv_files": [(s.name, s.csv_file) for s in standard.sheets],
        "table_sheets": [s for s in standard.sheets if s.layout == "table"],
        "keyvalue_sheets": [s for s in standard.sheets if s.layout == "keyvalue"],
        # the API's contract (§8), generated from the same YAML: shown whole on the page
        "json_schema": json.dumps(json_schema(standard.version), indent=2, ensure_ascii=False),
    }


def _published(version: str) -> date | None:
    raw = yaml.safe_load((STANDARD_DIR / f"{version}.yaml").read_text(encoding="utf-8"))
    value = raw.get("published")
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)) if value else None


def _is_generic(rule: Rule) -> bool:
    """Header rules and value-type rules apply to every field of a kind; the type column says it."""
    return rule.scope == "structure" or rule.id.startswith("VAL-")


def _decisions(standard: Standard) -> list[Decision]:
    found: list[Decision] = []
    for sheet in standard.sheets:
        if sheet.decision:
            found.append(Decision(f"{sheet.name} sheet", sheet.decision))
        found.extend(Decision(f.ref, f.decision) for f in sheet.fields if f.decision)
    found.extend(Decision(f"rule {r.id}", r.decision) for r in standard.rules if r.decision)
    return found


def _placeholders(message: str) -> str:
    """`{field} is required` -> `[field] is required`: show where the finding fills values in."""
    return _PLACEHOLDER.sub(lambda m: f"[{m.group(1)}]", message)


def _md_cell(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")
