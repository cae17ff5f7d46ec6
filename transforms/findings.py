"""Findings: what validation (and the national compile) says about a return.

A finding names the rule, its severity, the sheet, the cell as Excel shows it
(`Children!F12`), the field, the child's local_child_id where there is one, and a message a
council officer understands. A finding never repeats a UPN or NHS number: messages are built
from the schema's templates, and values of identifier fields are never passed to them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["E", "Q"]


@dataclass(frozen=True, order=True)
class Finding:
    rule: str
    severity: Severity
    sheet: str | None
    cell: str | None  # "Children!F12"; None for a finding about a whole return
    field: str | None
    local_child_id: str | None
    message: str
    row: int | None = None  # Excel row number (the same row number as in the council's file)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("row")
        return data

    @property
    def is_error(self) -> bool:
        return self.severity == "E"


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (Excel column letters)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def cell_ref(sheet: str, column: str, row: int) -> str:
    return f"{sheet}!{column}{row}"
