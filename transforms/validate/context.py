"""What a rule sees while it runs: the return's typed sheets, the period, the council, the claim.

`Context.finding(...)` builds a finding that points where docs/DEVELOPING.md says ("Where a
finding points") and renders the rule's message through the identifier-safe formatter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from schemas.calendar import Period
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
            local_child_id = None if lcid is None else str(lcid)
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
            placeholders["value"] = lambda: _text(values.given[field_name].get(index))
            placeholders["length"] = lambda: len(_text(values.given[field_name].get(index)))
            placeholders["max_length"] = spec.max_length or ""
            placeholders["allowed"] = ", ".join(self.standard.codes(spec))
            if len(rule.fields) > 1 and rule.fields[1] in values.given and "other" not in extra:
                other_field = rule.fields[1]
                placeholders["other"] = lambda: _text(values.given[rule.fields[1]].get(index))
        placeholders.update(extra)
        message = render(self.standard, rule, placeholders, value_field=field_name, other_field=other_field)
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


def _text(value: object) -> str:
    return "" if value is None else str(value)
