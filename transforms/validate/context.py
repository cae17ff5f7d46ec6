"""What a rule sees while it runs: the return's typed sheets, the period, the council, the claim.

`Context.finding(...)` builds a finding that points where docs/DEVELOPING.md says ("Where a
finding points") and renders the rule's message through the identifier-safe formatter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from schemas.calendar import Period
from schemas.identifiers import MASK, looks_like_identifier, mask_identifiers, normalise_identifier
from schemas.register import Council, Register
from schemas.standard import Standard
from transforms.findings import Finding
from transforms.ingest.model import ReturnFile
from transforms.validate.coerce import SheetValues
from transforms.validate.messages import render
from transforms.validate.model import PreviousReturn


@dataclass
class Context:
    standard: Standard
    register: Register
    ret: ReturnFile
    sheets: dict[str, SheetValues]
    period: Period | None  # About's period when valid
    council: Council | None  # About's council_code when it is a council of the register
    claimed_council: str | None
    claimed_period: str | None
    previous: PreviousReturn | None
    today: date
    gss_codes: frozenset[str]
    findings: list[Finding] = field(default_factory=list)
    # About's period as given, also when it is in the future; `period` is then None, so the
    # rules that compare dates with the period stay quiet: one mistake, one finding (ABT-03)
    given_period: Period | None = None

    @functools.cached_property
    def identifiers(self) -> frozenset[str]:
        """The return's own UPNs and NHS numbers, normalised (valid or not): never echoed."""
        children = self.sheets.get("Children")
        if children is None:
            return frozenset()
        known: set[str] = set()
        for name in self.standard.identifier_fields:
            if name.name in children.given:
                known.update(normalise_identifier(str(v)) for v in children.given[name.name].dropna())
        return frozenset(known)

    def about(self, name: str) -> str | None:
        value = self.sheets["About"].given[name].iloc[0]
        return None if value is None else str(value)

    def keyvalue_typed(self, sheet: str, name: str) -> Any:
        value = self.sheets[sheet].typed[name].iloc[0]
        return None if value is None or pd.isna(value) else value

    def keyvalue_valid(self, sheet: str, name: str) -> bool:
        return bool(self.sheets[sheet].valid[name].iloc[0])

    def finding(
        self,
        rule_id: str,
        sheet: str,
        field_name: str | None,
        index: Any = 0,
        *,
        cell_field: str | None = None,
        **extra: object,
    ) -> Finding:
        """A finding of `rule_id` about `field_name` at row `index` of `sheet`.

        `extra` supplies or overrides message placeholders (`other`, `expected`, ...).
        `cell_field` points the cell at another field than the one named (rarely needed).
        """
        rule = self.standard.rule(rule_id)
        values = self.sheets.get(sheet)
        cell: str | None = None
        row: int | None = None
        local_child_id: str | None = None
        if values is not None and field_name is not None and (cell_field or field_name) in values.present:
            cell, row = values.locate(cell_field or field_name, index)
        if values is not None and not values.keyvalue:
            row = int(index)
            lcid = values.given["local_child_id"].get(index) if "local_child_id" in values.given else None
            local_child_id = None if lcid is None else self.safe_child_id(str(lcid))
        placeholders: dict[str, object] = {
            "sheet": sheet,
            "field": field_name or "",
            "period": self.about("period") or "",
            "council_code": self.about("council_code") or "",
            "period_start": self.period.start.isoformat() if self.period else "",
            "period_end": self.period.end.isoformat() if self.period else "",
        }
        other_field: str | None = None
        if values is not None and field_name is not None and field_name in values.given:
            spec = values.spec.field(field_name)
            placeholders["value"] = lambda: self.quoted(values.given[field_name].get(index))
            placeholders["length"] = lambda: len(_text(values.given[field_name].get(index)))
            placeholders["max_length"] = spec.max_length or ""
            placeholders["allowed"] = ", ".join(self.standard.codes(spec))
            if len(rule.fields) > 1 and rule.fields[1] in values.given and "other" not in extra:
                other_field = rule.fields[1]
                placeholders["other"] = lambda: self.quoted(values.given[rule.fields[1]].get(index))
        placeholders.update(extra)
        message = render(self.standard, rule, placeholders, value_field=field_name, other_field=other_field)
        # whatever a rule or a template passed in, no identifier of the return leaves in a message
        message = mask_identifiers(message, self.identifiers)
        return Finding(
            rule=rule.id,
            severity=rule.severity,
            sheet=sheet,
            cell=cell,
            field=field_name,
            local_child_id=local_child_id,
            message=message,
            row=row,
        )

    def quoted(self, value: object) -> str:
        """A value of the council's as a message may quote it: an identifier masked, one line,
        at most MAX_QUOTED characters (a 32 KB cell is not copied into every finding)."""
        text = " ".join(_text(value).split())
        if looks_like_identifier(text, self.identifiers):
            return MASK
        text = mask_identifiers(text, self.identifiers)
        return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 1] + "…"

    def safe_child_id(self, local_child_id: str) -> str:
        """The child's local_child_id as a finding may carry it: masked when it is an identifier."""
        if looks_like_identifier(local_child_id, self.identifiers):
            return MASK
        return local_child_id if len(local_child_id) <= MAX_QUOTED else local_child_id[: MAX_QUOTED - 1] + "…"


MAX_QUOTED = 40


def _text(value: object) -> str:
    return "" if value is None else str(value)
