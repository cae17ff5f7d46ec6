"""The expectations of the standard: what each value rule expects of a field, as data.

A rule of `schemas/standard/*.yaml` with an `expect:` entry is an expectation over one sheet's
columns; every consumer derives from the same `Expectation` objects:
- per-return feedback (`transforms.validate.evaluate`, one vectorised pass over the return);
- the GX suites: the agreement test holds GX and the evaluator to the same findings, and the
  national data-quality gate runs them over the stored child records (`pipeline.quality`);
- the reference page (`Expectation.describe`).

`expect:` is a mapping, or a list of them. Keys:
- which field a failure points at: `field: <name>` (default: the rule's first field), or
  `each: others` (one expectation per field of the rule after the first); a rule that selects
  fields with `applies_to` gets one expectation per selected field;
- what the field must satisfy (one of): `present: true`, `blank: true`, `in: [codes] | code_list |
  register`, `not_in: [codes]`, `matches: type_format`, `length_at_most: max_length`,
  `at_least: <field> | period_start | period_end | minimum`, `at_most: <field> | period_end`
  (both may be given: a range). Blank values pass every check except `present`; a comparison
  with another field holds only where both are typed;
- `when: "<clause> and <clause> ..."`: the rows it applies to. Clauses: `<field> is blank`,
  `<field> is valid` (present and of its type), `<field> == CODE`, `<field> != CODE` (on the
  value as given), `<field> > N` (on the typed number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from schemas.standard import Field, Rule, Sheet, Standard

Kind = Literal["present", "blank", "in_set", "not_in_set", "matches", "length_at_most", "at_least", "at_most"]
Op = Literal["blank", "valid", "eq", "ne", "gt"]
PERIOD_BOUNDS = ("period_start", "period_end")

_CLAUSE = re.compile(
    r"^(?P<field>[a-z][a-z0-9_]*)\s+(?:(?P<is>is\s+(?P<state>blank|valid))|(?P<op>==|!=|>)\s+(?P<value>[A-Za-z0-9_.-]+))$"
)
_OPS: dict[str, Op] = {"==": "eq", "!=": "ne", ">": "gt"}


@dataclass(frozen=True)
class Clause:
    """One condition of `when`: `field op value`."""

    field: str
    op: Op
    value: str | float | None = None

    def text(self) -> str:
        if self.op in ("blank", "valid"):
            return f"{self.field} is {self.op}"
        symbol = {"eq": "==", "ne": "!=", "gt": ">"}[self.op]
        value = self.value if isinstance(self.value, str) else _number_text(self.value)
        return f"{self.field} {symbol} {value}"


@dataclass(frozen=True)
class Expectation:
    """What one field of one sheet must satisfy, for one rule (and where a failure points)."""

    rule: str
    sheet: str
    field: str
    kind: Kind
    values: tuple[str, ...] = ()  # in_set / not_in_set
    pattern: str | None = None  # matches: a regular expression the whole text must match
    limit: int | None = None  # length_at_most; at_least/at_most a number (on any whole number given)
    other: str | None = None  # at_least / at_most another field of the sheet (typed values)
    bound: str | None = None  # at_least / at_most a period bound: period_start | period_end
    when: tuple[Clause, ...] = ()

    @property
    def fields_read(self) -> tuple[str, ...]:
        """Every field of the sheet this expectation reads (the target first)."""
        names = [self.field, *([self.other] if self.other else []), *(c.field for c in self.when)]
        return tuple(dict.fromkeys(names))

    @property
    def needs_period(self) -> bool:
        return self.bound is not None

    def describe(self) -> str:
        """The expectation in words, for the reference page."""
        what = {
            "present": "is given",
            "blank": "is blank",
            "in_set": "is one of " + ", ".join(self.values[:8]) + (" ..." if len(self.values) > 8 else ""),
            "not_in_set": "is not " + " or ".join(self.values),
            "matches": "has the format of its type",
            "length_at_most": f"is at most {self.limit} characters",
            "at_least": f"is at least {self.other or self.bound or _number_text(self.limit)}",
            "at_most": f"is at most {self.other or self.bound or _number_text(self.limit)}",
        }[self.kind]
        condition = f" when {' and '.join(c.text() for c in self.when)}" if self.when else ""
        return f"{self.sheet}.{self.field} {what}{condition}"


def _number_text(value: float | int | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def parse_when(text: str) -> tuple[Clause, ...]:
    """`a is blank and b == NONE` -> clauses (ValueError for anything else)."""
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _CLAUSE.fullmatch(part.strip())
        if match is None:
            raise ValueError(
                f"cannot read the condition {part!r} (expected '<field> is blank|valid' or '<field> ==|!=|> <value>')"
            )
        if match["is"]:
            clauses.append(Clause(match["field"], match["state"]))  # type: ignore[arg-type]
        else:
            op = _OPS[match["op"]]
            value: str | float = float(match["value"]) if op == "gt" else match["value"]
            clauses.append(Clause(match["field"], op, value))
    return tuple(clauses)


# ---- from the YAML --------------------------------------------------------------------------------

_ASSERTIONS = ("present", "blank", "in", "not_in", "matches", "length_at_most", "at_least", "at_most")
_KEYS = frozenset({"field", "each", "when", *_ASSERTIONS})


def check_spec(rule_id: str, spec: Any) -> tuple[dict[str, Any], ...]:
    """The `expect:` entry of a rule as a tuple of mappings, checked for known keys."""
    specs = spec if isinstance(spec, list) else [spec]
    out = []
    for item in specs:
        if not isinstance(item, dict):
            raise ValueError(f"rule {rule_id}: expect entries are mappings, not {item!r}")
        unknown = set(item) - _KEYS
        if unknown:
            raise ValueError(f"rule {rule_id}: unknown expect keys {sorted(unknown)}")
        if not any(key in item for key in _ASSERTIONS):
            raise ValueError(f"rule {rule_id}: expect names no assertion ({', '.join(_ASSERTIONS)})")
        if "when" in item:
            parse_when(str(item["when"]))
        out.append(dict(item))
    return tuple(out)


def expectations(standard: Standard, gss_codes: frozenset[str]) -> tuple[Expectation, ...]:
    """Every expectation of a version of the standard, in rule order (`gss_codes`: the register's
    codes, for `in: register`)."""
    out: list[Expectation] = []
    for rule in standard.rules:
        for spec in rule.expect:
            for sheet_name in rule.sheets or standard.sheet_names:
                sheet = standard.sheet(sheet_name)
                for target in _targets(rule, spec, sheet):
                    out.extend(_build(standard, rule, spec, sheet, sheet.field(target), gss_codes=gss_codes))
            if not rule.fields:
                raise ValueError(f"rule {rule.id}: an expectation needs fields")
    return tuple(out)


def _targets(rule: Rule, spec: dict[str, Any], sheet: Sheet) -> list[str]:
    if spec.get("each") == "others":
        names = list(rule.fields[1:])
    elif "field" in spec:
        names = [str(spec["field"])]
    elif rule.scope == "field":
        names = list(rule.fields)  # every field the rule applies to (applies_to, or fields:)
    else:
        names = [rule.fields[0]]
    return [name for name in names if name in sheet.field_names]


def _build(
    standard: Standard, rule: Rule, spec: dict[str, Any], sheet: Sheet, target: Field, *, gss_codes: frozenset[str]
) -> list[Expectation]:
    from schemas.formats import TYPE_FORMATS

    when = parse_when(str(spec["when"])) if spec.get("when") else ()
    for clause in when:
        sheet.field(clause.field)  # KeyError for a field the sheet does not have
    base: dict[str, Any] = {"rule": rule.id, "sheet": sheet.name, "field": target.name, "when": when}
    made: list[Expectation] = []
    if spec.get("present"):
        made.append(Expectation(kind="present", **base))
    if spec.get("blank"):
        made.append(Expectation(kind="blank", **base))
    if "in" in spec:
        values = spec["in"]
        if values == "code_list":
            values = standard.codes(target)
        elif values == "register":
            values = sorted(gss_codes)
        if values:
            made.append(Expectation(kind="in_set", values=tuple(str(v) for v in values), **base))
    if "not_in" in spec:
        made.append(Expectation(kind="not_in_set", values=tuple(str(v) for v in spec["not_in"]), **base))
    if "matches" in spec:
        if spec["matches"] != "type_format":
            raise ValueError(f"rule {rule.id}: matches must be type_format")
        if target.type in TYPE_FORMATS:
            made.append(Expectation(kind="matches", pattern=TYPE_FORMATS[target.type], **base))
    if "length_at_most" in spec:
        if spec["length_at_most"] != "max_length":
            raise ValueError(f"rule {rule.id}: length_at_most must be max_length")
        if target.max_length is not None:
            made.append(Expectation(kind="length_at_most", limit=target.max_length, **base))
    for kind in ("at_least", "at_most"):
        if kind not in spec:
            continue
        operand = str(spec[kind])
        if operand == "minimum":
            if kind != "at_least":
                raise ValueError(f"rule {rule.id}: minimum is a lower bound")
            if target.minimum is not None:
                made.append(Expectation(kind="at_least", limit=target.minimum, **base))
        elif operand in PERIOD_BOUNDS:
            made.append(Expectation(kind=kind, bound=operand, **base))  # type: ignore[arg-type]
        else:
            sheet.field(operand)
            made.append(Expectation(kind=kind, other=operand, **base))  # type: ignore[arg-type]
    return made
