"""The data standard as typed objects, loaded from `schemas/standard/<version>.yaml`.

Everything else (template, validation, database columns, reference page, tests) derives from
what this module returns; nothing else should spell out field lists or code lists.

Versioning: a file may say `extends: "1.0"`; it inherits the parent's sheets, code lists and
rules, may add fields (`since:`), retire them (`retired: <version>`), and add or replace rules
by id. A return is always read with the version its About sheet declares, so 1.0 returns keep
validating unchanged after 1.1 is published.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from schemas.expectations import check_spec

STANDARD_DIR = Path(__file__).parent / "standard"

FieldType = Literal["text", "email", "date", "integer", "code", "gss_code", "la_number", "period", "upn", "nhs_number"]
Severity = Literal["E", "Q"]
Layout = Literal["keyvalue", "table"]
Scope = Literal["structure", "field", "conditional", "cross_sheet", "upload", "previous", "cross_council", "analyst"]
# Rules per-return validation never runs: the national compile's, and queries analysts raise by hand.
NOT_VALIDATED_SCOPES = ("cross_council", "analyst")

FIELD_TYPES: tuple[str, ...] = FieldType.__args__  # type: ignore[attr-defined]
SCOPES: tuple[str, ...] = Scope.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CodeList:
    name: str
    description: str
    values: dict[str, str]  # code -> label, in the order the standard lists them

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.values)


@dataclass(frozen=True)
class Field:
    name: str
    sheet: str
    type: FieldType
    required: bool
    hint: str = ""
    codes: str | None = None  # code list name when type == "code"
    max_length: int | None = None
    minimum: int | None = None
    identifier: bool = False  # a raw identifier (UPN, NHS number): never stored, logged or echoed
    indicator: bool = False  # one of the warning-sign indicators (ind_*)
    comparable: bool = False  # compared against the previous return (PRV-01)
    decision: str = ""  # a choice made where the written standard is silent
    since: str = "1.0"
    retired: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.sheet}.{self.name}"


@dataclass(frozen=True)
class Sheet:
    name: str
    layout: Layout
    csv_file: str
    description: str
    fields: tuple[Field, ...]
    decision: str = ""

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.required)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    scope: Scope
    message: str
    description: str
    sheets: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()  # field names this rule touches (resolved from applies_to)
    decision: str = ""
    # what the fields must satisfy (schemas.expectations); not part of a rule's identity
    expect: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity == "E"

    @property
    def validated(self) -> bool:
        """Whether per-return validation runs this rule (not the compile's, not an analyst's)."""
        return self.scope not in NOT_VALIDATED_SCOPES


@dataclass(frozen=True)
class Refusal:
    id: str
    message: str


@dataclass(frozen=True)
class Limits:
    max_children_rows: int
    max_keyvalue_rows: int
    max_columns: int
    max_upload_bytes: int
    max_uncompressed_bytes: int
    max_compression_ratio: int
    # text, counted after the shared-strings table is expanded into the cells that use it
    max_cell_chars: int = 2_000
    max_text_chars: int = 64_000_000
    # JSON submissions through the API (§8): how deep a document may nest, and how long one
    # string may be, checked before a JSON parser builds anything
    max_json_depth: int = 4
    max_string_chars: int = 10000


@dataclass(frozen=True)
class Standard:
    name: str
    version: str
    extends: str | None
    limits: Limits
    code_lists: dict[str, CodeList]
    types: dict[str, str]
    sheets: tuple[Sheet, ...]
    rules: tuple[Rule, ...]
    refusals: tuple[Refusal, ...]
    _rule_index: dict[str, Rule] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rule_index.update({r.id: r for r in self.rules})

    def sheet(self, name: str) -> Sheet:
        for candidate in self.sheets:
            if candidate.name == name:
                return candidate
        raise KeyError(f"standard {self.version} has no sheet {name!r}")

    @property
    def sheet_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sheets)

    def field(self, sheet: str, name: str) -> Field:
        return self.sheet(sheet).field(name)

    def rule(self, rule_id: str) -> Rule:
        try:
            return self._rule_index[rule_id]
        except KeyError:
            raise KeyError(f"standard {self.version} has no rule {rule_id!r}") from None

    def rules_for(self, scope: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.scope == scope)

    def refusal(self, refusal_id: str) -> Refusal:
        for candidate in self.refusals:
            if candidate.id == refusal_id:
                return candidate
        raise KeyError(f"standard {self.version} has no refusal {refusal_id!r}")

    def codes(self, field_: Field) -> tuple[str, ...]:
        if field_.codes is None:
            return ()
        return self.code_lists[field_.codes].codes

    @property
    def identifier_fields(self) -> tuple[Field, ...]:
        return tuple(f for s in self.sheets for f in s.fields if f.identifier)


def available_versions() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in STANDARD_DIR.glob("*.yaml")))


@functools.cache
def load_standard(version: str = "1.0") -> Standard:
    """Load a version of the standard. Raises KeyError for a version this release does not know."""
    path = STANDARD_DIR / f"{version}.yaml"
    if not path.is_file() or "/" in version:
        raise KeyError(f"unknown standard version {version!r}; known: {', '.join(available_versions())}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    parent = load_standard(raw["extends"]) if raw.get("extends") else None
    return _build(raw, parent)


def latest_version() -> str:
    return max(available_versions(), key=lambda v: tuple(int(p) for p in v.split(".")))


def _build(raw: dict[str, Any], parent: Standard | None) -> Standard:
    version = str(raw["version"])
    code_lists = dict(parent.code_lists) if parent else {}
    for name, spec in (raw.get("code_lists") or {}).items():
        code_lists[name] = CodeList(
            name=name,
            description=spec.get("description", ""),
            values={str(k): str(v) for k, v in spec["values"].items()},
        )
    types = dict(parent.types) if parent else {}
    types.update(raw.get("types") or {})

    sheets = _merge_sheets(parent.sheets if parent else (), raw.get("sheets") or [], version)
    for sheet in sheets:
        for f in sheet.fields:
            if f.type not in FIELD_TYPES:
                raise ValueError(f"{f.ref}: unknown type {f.type!r}")
            if f.type == "code" and f.codes not in code_lists:
                raise ValueError(f"{f.ref}: unknown code list {f.codes!r}")

    limits_raw = dict(parent.limits.__dict__) if parent else {}
    limits_raw.update(raw.get("limits") or {})
    limits = Limits(**{k: int(v) for k, v in limits_raw.items()})

    rules: dict[str, Rule] = {r.id: r for r in parent.rules} if parent else {}
    for spec in raw.get("rules") or []:
        rules[spec["id"]] = _build_rule(spec, sheets)
    for retired_id in raw.get("retired_rules") or []:
        rules.pop(retired_id, None)

    refusals: dict[str, Refusal] = {r.id: r for r in parent.refusals} if parent else {}
    for spec in raw.get("refusals") or []:
        refusals[spec["id"]] = Refusal(id=spec["id"], message=spec["message"])

    return Standard(
        name=raw.get("standard", parent.name if parent else ""),
        version=version,
        extends=raw.get("extends"),
        limits=limits,
        code_lists=code_lists,
        types=types,
        sheets=sheets,
        rules=tuple(rules.values()),
        refusals=tuple(refusals.values()),
    )


def _merge_sheets(inherited: tuple[Sheet, ...], specs: list[dict[str, Any]], version: str) -> tuple[Sheet, ...]:
    by_name: dict[str, Sheet] = {s.name: s for s in inherited}
    order = [s.name for s in inherited]
    for spec in specs:
        name = spec["name"]
        base = by_name.get(name)
        fields = {f.name: f for f in base.fields} if base else {}
        for fspec in spec.get("fields") or []:
            fields[fspec["name"]] = _build_field(fspec, name)
        for retired in spec.get("retired_fields") or []:
            fields.pop(retired, None)
        live = tuple(f for f in fields.values() if f.retired is None or _version_key(f.retired) > _version_key(version))
        by_name[name] = Sheet(
            name=name,
            layout=spec.get("layout", base.layout if base else "table"),
            csv_file=spec.get("csv_file", base.csv_file if base else f"{name.lower()}.csv"),
            description=spec.get("description", base.description if base else ""),
            fields=live,
            decision=spec.get("decision", base.decision if base else ""),
        )
        if name not in order:
            order.append(name)
    return tuple(by_name[n] for n in order)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _build_field(spec: dict[str, Any], sheet: str) -> Field:
    known = {
        "name",
        "type",
        "required",
        "hint",
        "codes",
        "max_length",
        "minimum",
        "identifier",
        "indicator",
        "comparable",
        "decision",
        "since",
        "retired",
    }
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"{sheet}.{spec.get('name')}: unknown keys {sorted(unknown)}")
    values: dict[str, Any] = {k: (str(v) if k in ("since", "retired") else v) for k, v in spec.items()}
    return Field(sheet=sheet, **values)


def _build_rule(spec: dict[str, Any], sheets: tuple[Sheet, ...]) -> Rule:
    sheet_names = tuple(spec.get("sheets") or ())
    fields = tuple(spec.get("fields") or ())
    selector = spec.get("applies_to")
    if selector:
        candidates = [s for s in sheets if not sheet_names or s.name in sheet_names]
        fields = tuple(dict.fromkeys(f.name for s in candidates for f in s.fields if _selected(f, selector)))
        if not sheet_names:
            sheet_names = tuple(s.name for s in candidates if any(_selected(f, selector) for f in s.fields))
    if spec["severity"] not in ("E", "Q"):
        raise ValueError(f"rule {spec['id']}: severity must be E or Q")
    if spec["scope"] not in SCOPES:
        raise ValueError(f"rule {spec['id']}: unknown scope {spec['scope']!r}")
    return Rule(
        id=spec["id"],
        severity=spec["severity"],
        scope=spec["scope"],
        message=spec["message"],
        description=spec.get("description", ""),
        sheets=sheet_names,
        fields=fields,
        decision=spec.get("decision", ""),
        expect=check_spec(spec["id"], spec["expect"]) if spec.get("expect") else (),
    )


def _selected(f: Field, selector: dict[str, Any]) -> bool:
    for key, wanted in selector.items():
        value = getattr(f, key)
        if key == "max_length" and wanted is True:
            if value is None:
                return False
        elif value != wanted:
            return False
    return True
