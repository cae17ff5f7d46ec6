"""Turn rows of raw cells (from calamine or a CSV reader) into the sheets validation reads.

Shared by both formats so a workbook and a CSV bundle holding the same return read the same.
Rows arrive as (row number, cells) with the row number as Excel (or the CSV line) shows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd

from schemas.standard import Sheet as SheetSpec
from transforms.findings import column_letter
from transforms.ingest.model import HeaderProblem, KeyValueSheet, Location, TableSheet

_SEPARATORS = re.compile(r"[\s_]+")

Row = tuple[int, Sequence[object]]


def normalise(text: object) -> str:
    """The header matching key: case, spaces and underscores do not count."""
    return _SEPARATORS.sub("", str(text)).lower()


def clean(value: object) -> object:
    """Raw value as kept: strings stripped, empty strings become None, everything else as given."""
    if isinstance(value, str):
        return value.strip() or None
    return value


def header_text(value: object) -> str:
    """A header cell as text (a number typed as a header shows as Excel shows it)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def field_index(spec: SheetSpec) -> dict[str, str]:
    return {normalise(name): name for name in spec.field_names}


def find_value(rows: Iterable[Row], wanted: str) -> object:
    """The column B value of the first key/value row whose column A matches `wanted`."""
    key = normalise(wanted)
    for _, cells in rows:
        if cells and isinstance(cells[0], str) and normalise(cells[0]) == key:
            return clean(cells[1]) if len(cells) > 1 else None
    return None


def build_keyvalue(spec: SheetSpec, rows: Iterable[Row]) -> KeyValueSheet:
    """About, Strategy, Activity: a `field`, `value` header in row 1, then one field a row.

    Row 1 is skipped when column A says `field`; otherwise it is read like any other row, so a
    sheet whose header row was deleted loses nothing. Columns after B are notes and ignored.
    A value whose column A is blank is reported as an unknown field named "".
    """
    known = field_index(spec)
    sheet = KeyValueSheet(name=spec.name, values={}, locations={})
    for row, cells in rows:
        name = clean(cells[0]) if cells else None
        value = clean(cells[1]) if len(cells) > 1 else None
        if row == 1 and name is not None and normalise(name) == "field":
            continue
        if name is None and value is None:
            continue
        text = header_text(name)
        canonical = known.get(normalise(text)) if text else None
        where = Location(spec.name, row, "A")
        if canonical is None:
            sheet.header_problems.append(HeaderProblem("unknown", text, where))
        elif canonical in sheet.values:
            sheet.header_problems.append(HeaderProblem("duplicate", canonical, where))
        else:
            sheet.values[canonical] = value
            sheet.locations[canonical] = Location(spec.name, row, "B")
    return sheet


def build_table(spec: SheetSpec, header: Sequence[object], body: Iterable[Row]) -> TableSheet:
    """Children: row 1 names the fields in any order; each later non-blank row is one child."""
    known = field_index(spec)
    problems: list[HeaderProblem] = []
    wanted: dict[int, str] = {}  # column index -> canonical field
    unnamed: list[int] = []  # columns without a header: a problem only if they hold data
    columns: dict[str, str] = {}
    for index, cell in enumerate(header):
        text = header_text(clean(cell))
        letter = column_letter(index)
        if not text:
            unnamed.append(index)
            continue
        canonical = known.get(normalise(text))
        if canonical is None:
            problems.append(HeaderProblem("unknown", text, Location(spec.name, 1, letter)))
        elif canonical in columns:
            problems.append(HeaderProblem("duplicate", canonical, Location(spec.name, 1, letter)))
        else:
            columns[canonical] = letter
            wanted[index] = canonical

    # Column by column with comprehensions (no call per cell): a 10,000-row sheet is 260,000 cells.
    records = list(body)
    width = max([len(header), *(len(cells) for _, cells in records)])
    grid = [list(cells) + [""] * (width - len(cells)) if len(cells) < width else cells for _, cells in records]
    cleaned = (
        [
            [(value.strip() or None) if value.__class__ is str else value for value in column]  # noqa: E721
            for column in zip(*grid, strict=True)
        ]
        if grid
        else [[] for _ in range(width)]
    )
    keep = [index for index, cells in enumerate(zip(*cleaned, strict=True)) if cells.count(None) != width]
    if len(keep) != len(records):
        cleaned = [[column[index] for index in keep] for column in cleaned]
    rows = [records[index][0] for index in keep]
    values = {index: cleaned[index] for index in wanted}
    for index in unnamed:
        if any(value is not None for value in cleaned[index]):
            problems.append(HeaderProblem("unknown", "", Location(spec.name, 1, column_letter(index))))

    frame = pd.DataFrame(
        {wanted[index]: column for index, column in values.items()},
        index=pd.Index(rows, dtype="int64", name="row"),
        columns=list(wanted.values()),
        dtype=object,
    )
    return TableSheet(name=spec.name, frame=frame, columns=columns, header_problems=problems)
