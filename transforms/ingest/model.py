"""What safe ingest hands to validation: the return's sheets as raw values that remember where
every value came from (sheet, Excel row, column letter).

Values are raw: str, int, float, bool, datetime.date / datetime.datetime or None, exactly as
the file held them (CSV values are str). Typing them is validation's job, because a value that
cannot be typed is a finding, not a crash. Field names are canonical (matched to the standard
tolerating case, spaces and underscores). A CSV bundle uses the same model: the "sheet" is the
standard's sheet name, row 1 is the CSV header line, columns are lettered A, B, ... in file order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd


@dataclass(frozen=True)
class Location:
    sheet: str
    row: int  # Excel row number, 1-based; row 1 is the header row
    column: str  # Excel column letter

    @property
    def cell(self) -> str:
        return f"{self.sheet}!{self.column}{self.row}"


@dataclass
class HeaderProblem:
    """A header that is not a field of the standard (STRUCT-01) or repeats one (STRUCT-03)."""

    kind: Literal["unknown", "duplicate"]
    text: str  # the header as written in the file (or the canonical field name for duplicates)
    location: Location


@dataclass
class KeyValueSheet:
    """About, Strategy, Activity: column A holds field names, column B their values."""

    name: str
    values: dict[str, object]  # canonical field name -> raw value
    locations: dict[str, Location]  # canonical field name -> the value cell (column B)
    header_problems: list[HeaderProblem] = field(default_factory=list)
    layout: Literal["keyvalue"] = "keyvalue"


@dataclass
class TableSheet:
    """Children: row 1 holds field names in any column order; each row below is one child.

    `frame` has one column per canonical field present in the file (object dtype, raw values)
    and is indexed by Excel row number. Entirely blank rows are dropped by ingest.
    """

    name: str
    frame: pd.DataFrame
    columns: dict[str, str]  # canonical field name -> column letter
    header_problems: list[HeaderProblem] = field(default_factory=list)
    layout: Literal["table"] = "table"

    def location(self, field_name: str, row: int) -> Location:
        return Location(self.name, row, self.columns[field_name])


Sheet = KeyValueSheet | TableSheet


@dataclass(frozen=True)
class Hidden:
    """Part of a standard sheet that the workbook hides: the sheet itself, rows or columns."""

    sheet: str
    kind: Literal["sheet", "rows", "columns"]
    items: tuple[str, ...] = ()  # row numbers or column letters, in order (at most a few shown)
    count: int = 0  # how many rows or columns in all


@dataclass
class ReturnFile:
    """A return read safely from disk, before validation."""

    source_name: str  # the file name as the council knows it (for messages), never a full path
    format: Literal["xlsx", "csv", "json"]  # json: sent through the API (transforms.ingest.json_return)
    checksum: str  # sha256 hex of the file's bytes
    size_bytes: int
    standard_version: str  # from About.standard_version (or the template's hidden marker)
    sheets: dict[str, Sheet]  # by the standard's sheet name
    from_template: bool = False  # carried the official template's hidden marker
    # seconds spent reading: "checks" (the package and its parts, before any parser),
    # "values" (the fast reader), "frames" (rows -> sheets); for benchmarks and logs
    timings: dict[str, float] = field(default_factory=dict)
    # what the values alone do not show, for validation to report: cells holding an Excel error
    # ("Children!B2" -> "#REF!"; the value read is the error's text, never a blank), and the
    # standard's sheets, rows and columns the workbook hides
    error_cells: dict[str, str] = field(default_factory=dict)
    hidden: list[Hidden] = field(default_factory=list)

    def keyvalue(self, name: str) -> KeyValueSheet:
        sheet = self.sheets[name]
        assert isinstance(sheet, KeyValueSheet)
        return sheet

    def table(self, name: str) -> TableSheet:
        sheet = self.sheets[name]
        assert isinstance(sheet, TableSheet)
        return sheet


class Refused(Exception):
    """The file is refused before parsing: nothing is read further and nothing is stored.

    `refusal` is the id of a refusal in the standard (REF-...); str(error) is the one-line reason.
    """

    def __init__(self, refusal: str, message: str, source_name: str = "") -> None:
        super().__init__(message)
        self.refusal = refusal
        self.source_name = source_name

    @property
    def reason(self) -> str:
        prefix = f"{self.source_name}: " if self.source_name else ""
        return f"{prefix}{self}"
