"""The official XLSX return template (standard section 3), derived entirely from the schema.

`write_template(council_code, period, out)` writes one workbook per council per period:

- `About`, `Strategy`, `Activity`: key/value sheets. A1 `field`, B1 `value`, then one field a
  row in schema order (name in column A, value cell in column B). About is prefilled with
  standard_version, council_code, la_number (from the register) and period.
- `Children`: row 1 holds the field names in schema order and nothing else is in the sheet.
  Hints live in header comments and data-validation input messages, never in extra rows, so a
  row number means the same thing in the template, a case-system extract and the feedback.
- `Lists` (hidden): A1 = "LSCB return template", B1 = the standard version (the hidden marker
  ingest recognises; also the workbook name `LSCB_STANDARD_VERSION`), and one code list a column
  from C onwards, which the drop-downs reference by range (inline lists are limited to 255
  characters).

Data validation: a drop-down on every coded field, date validation on date fields, whole number
>= the minimum on integer fields, text length on fields with a max_length; the input message is
the field's hint. On Children the validations cover rows 2 to `CHILDREN_ROWS + 1` (5001). A
council with more children can extend the ranges (Data > Data Validation, or copy a row down);
nothing depends on them: the drop-downs are a convenience, and every value is validated again
when the return is uploaded (pasted values bypass spreadsheet validation anyway).

Protection: every sheet is protected WITHOUT a password (Review > Unprotect Sheet), so headers
and field names cannot be overtyped by accident; every value cell is unlocked so officers can
type and paste. The workbook holds no formulas (ingest refuses any cell formula).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from schemas.calendar import Period
from schemas.register import Council, load_register
from schemas.standard import Field, Sheet, Standard, load_standard

MARKER_TEXT = "LSCB return template"
LISTS_SHEET = "Lists"
VERSION_NAME = "LSCB_STANDARD_VERSION"
CHILDREN_ROWS = 5000  # data rows 2..5001 carry validations; councils with more extend the range
FIRST_LIST_COLUMN = 3  # code lists start in column C of the Lists sheet
PROMPT_TITLE_MAX = 32  # Excel's limits on data-validation texts
PROMPT_MAX = 255
DATE_MIN = date(1990, 1, 1)  # generous bounds: the date rules themselves run at upload
DATE_MAX = date(2099, 12, 31)
CREATOR = "lscb-returns"

FORMATS = {"date": "dd/mm/yyyy", "integer": "0"}
TEXT_FORMAT = "@"  # text, so codes, LA numbers and NHS numbers keep their leading zeros

HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
NAME_FONT = Font(bold=True)
LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)


class TemplateError(ValueError):
    """The template cannot be made for this council and period (unknown council, bad period)."""


def resolve_council(council_code: str, period: str) -> tuple[Council, Period]:
    """The register's council for the code, checked to be in operation during the period."""
    try:
        parsed = Period.parse(period)
    except ValueError as error:
        raise TemplateError(str(error)) from None
    registry = load_register()
    try:
        council = registry.get(council_code)
    except KeyError as error:
        raise TemplateError(str(error)) from None
    code = council_code.strip().upper()
    if council.council_code != code:  # an LA number was given, or a code the register spells differently
        raise TemplateError(f"{council_code!r} is not a GSS council code; use the code, e.g. {council.council_code}")
    if not council.in_operation_during(parsed):
        raise TemplateError(
            f"{council.council_code} {council.name} was not in operation during {parsed} "
            f"({parsed.start} to {parsed.end}); it operated {council.describe_dates()}"
        )
    return council, parsed


def write_template(council_code: str, period: str, out: Path, version: str = "1.0") -> Path:
    """Write the return template for one council and period to `out`; returns `out`.

    Raises `TemplateError` (a ValueError) for an unknown council, a council not in operation
    during the period, or a bad period code; KeyError for an unknown standard version.
    """
    standard = load_standard(version)
    council, parsed = resolve_council(council_code, period)
    workbook = build_template(standard, council, parsed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        workbook.save(partial)
        partial.replace(out)  # a reader never sees half a workbook
    finally:
        partial.unlink(missing_ok=True)
    return out


def build_template(standard: Standard, council: Council, period: Period) -> Workbook:
    workbook = Workbook()
    default = workbook.active
    assert default is not None
    workbook.remove(default)

    prefill: dict[str, object] = {
        "standard_version": standard.version,
        "council_code": council.council_code,
        "la_number": council.la_number,
        "period": period.code,
    }
    lists = workbook.create_sheet(LISTS_SHEET)  # created first so ranges exist; moved last below
    list_ranges = _write_lists(lists, standard)

    for sheet in standard.sheets:
        worksheet = workbook.create_sheet(sheet.name)
        if sheet.layout == "keyvalue":
            _write_keyvalue(worksheet, sheet, standard, list_ranges, prefill if sheet.name == "About" else {})
        else:
            _write_table(worksheet, sheet, standard, list_ranges)
        _protect(worksheet, rows_editable=sheet.layout == "table")

    workbook.move_sheet(lists, offset=len(workbook.sheetnames) - 1)
    lists.sheet_state = "hidden"
    _protect(lists)
    workbook.active = 0
    workbook.defined_names[VERSION_NAME] = DefinedName(VERSION_NAME, attr_text=f"{LISTS_SHEET}!$B$1")

    props = workbook.properties
    props.title = f"LSCB quarterly return {period.code}: {council.name} ({council.council_code})"
    props.subject = f"{standard.name}, standard {standard.version}"
    props.creator = CREATOR
    props.lastModifiedBy = CREATOR
    props.description = (
        f"Template for {council.name} ({council.council_code}, LA {council.la_number}), period {period.code} "
        f"({period.start} to {period.end}); due {period.deadline}."
    )
    props.keywords = f"LSCB; CSE; {period.code}; {council.council_code}; standard {standard.version}"
    return workbook


def _write_lists(worksheet: Worksheet, standard: Standard) -> dict[str, str]:
    """Marker cells and one code list a column; returns code list name -> absolute range."""
    worksheet["A1"] = MARKER_TEXT
    worksheet["B1"] = standard.version
    worksheet["B1"].number_format = TEXT_FORMAT
    ranges: dict[str, str] = {}
    used = dict.fromkeys(f.codes for s in standard.sheets for f in s.fields if f.codes)
    for offset, name in enumerate(n for n in used if n is not None):
        column = get_column_letter(FIRST_LIST_COLUMN + offset)
        worksheet[f"{column}1"] = name
        codes = standard.code_lists[name].codes
        for row, code in enumerate(codes, start=2):
            cell = worksheet[f"{column}{row}"]
            cell.value = code
            cell.number_format = TEXT_FORMAT
        ranges[name] = f"{LISTS_SHEET}!${column}$2:${column}${len(codes) + 1}"
        worksheet.column_dimensions[column].width = max(len(name), *(len(c) for c in codes)) + 2
    worksheet.column_dimensions["A"].width = len(MARKER_TEXT) + 2
    return ranges


def _write_keyvalue(
    worksheet: Worksheet,
    sheet: Sheet,
    standard: Standard,
    list_ranges: dict[str, str],
    prefill: dict[str, object],
) -> None:
    for column, text in (("A", "field"), ("B", "value")):
        _header(worksheet[f"{column}1"], text)
    for row, field_ in enumerate(sheet.fields, start=2):
        name_cell = worksheet.cell(row=row, column=1, value=field_.name)
        name_cell.font = NAME_FONT
        name_cell.protection = LOCKED
        name_cell.comment = _comment(field_, standard)
        value_cell = worksheet.cell(row=row, column=2)
        if field_.name in prefill:
            value_cell.value = prefill[field_.name]
        value_cell.protection = UNLOCKED
        value_cell.number_format = _number_format(field_)
        validation = _validation(field_, standard, list_ranges)
        validation.add(f"B{row}")
        worksheet.add_data_validation(validation)
    worksheet.column_dimensions["A"].width = max(len(f.name) for f in sheet.fields) + 4
    worksheet.column_dimensions["B"].width = 40
    worksheet.freeze_panes = "A2"


def _write_table(worksheet: Worksheet, sheet: Sheet, standard: Standard, list_ranges: dict[str, str]) -> None:
    last_row = CHILDREN_ROWS + 1
    for index, field_ in enumerate(sheet.fields, start=1):
        column = get_column_letter(index)
        header = worksheet.cell(row=1, column=index, value=field_.name)
        _header(header, field_.name)
        header.comment = _comment(field_, standard)
        dimension = worksheet.column_dimensions[column]
        # Column styles (not 5,000 written cells): unlocked, and the right number format.
        dimension.protection = UNLOCKED
        dimension.number_format = _number_format(field_)
        dimension.width = min(max(len(field_.name) + 3, _data_width(field_, standard)), 40)
        validation = _validation(field_, standard, list_ranges)
        validation.add(f"{column}2:{column}{last_row}")
        worksheet.add_data_validation(validation)
    worksheet.freeze_panes = "A2"
    worksheet.row_dimensions[1].height = 30


def _header(cell: object, text: str) -> None:
    from openpyxl.cell.cell import Cell

    assert isinstance(cell, Cell)
    cell.value = text
    cell.font = HEADER_FONT
    cell.fill = HEADER_FILL
    cell.alignment = Alignment(vertical="center", wrap_text=True)
    cell.protection = LOCKED


def _protect(worksheet: Worksheet, rows_editable: bool = False) -> None:
    """Protect without a password; let officers still resize, sort and filter, and on a table
    sheet insert and delete whole rows (a child added or removed)."""
    protection = worksheet.protection
    protection.sheet = True
    protection.insertRows = not rows_editable
    protection.deleteRows = not rows_editable
    protection.formatColumns = False
    protection.formatRows = False
    protection.sort = False
    protection.autoFilter = False
    protection.selectLockedCells = False
    protection.selectUnlockedCells = False


def _number_format(field_: Field) -> str:
    return FORMATS.get(field_.type, TEXT_FORMAT)


def _data_width(field_: Field, standard: Standard) -> int:
    if field_.type == "date":
        return 12
    if field_.codes:
        return max(len(c) for c in standard.codes(field_)) + 4
    if field_.max_length:
        return min(field_.max_length, 36)
    return 14


def _comment(field_: Field, standard: Standard) -> Comment:
    lines = [f"{field_.name} ({'required' if field_.required else 'optional'})", field_.hint]
    if field_.codes:
        code_list = standard.code_lists[field_.codes]
        lines.append("; ".join(f"{code} = {label}" for code, label in code_list.values.items()))
    comment = Comment("\n".join(line for line in lines if line), CREATOR)
    comment.width = 320
    comment.height = 60 + 18 * (len(comment.text) // 45)
    return comment


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _validation(field_: Field, standard: Standard, list_ranges: dict[str, str]) -> DataValidation:
    """The data validation for one field's value cells (its input message is the hint)."""
    kind: dict[str, object]
    if field_.codes:
        codes = standard.codes(field_)
        listed = ", ".join(codes)
        error = f"Choose one of the codes in the drop-down list: {listed}."
        if len(error) > PROMPT_MAX:
            error = f"Choose one of the codes in the drop-down list ({len(codes)} codes, upper case)."
        kind = {"type": "list", "formula1": list_ranges[field_.codes], "errorStyle": "stop"}
        title = "Not one of the codes"
    elif field_.type == "date":
        lo, hi = (int(to_excel(d)) for d in (DATE_MIN, DATE_MAX))
        kind = {
            "type": "date",
            "operator": "between",
            "formula1": str(lo),
            "formula2": str(hi),
            "errorStyle": "warning",
        }
        error = f"{field_.name} should be a date, for example 31/03/2026."
        title = "Not a date"
    elif field_.type == "integer":
        minimum = field_.minimum if field_.minimum is not None else 0
        kind = {"type": "whole", "operator": "greaterThanOrEqual", "formula1": str(minimum), "errorStyle": "stop"}
        error = f"{field_.name} is a count: a whole number, {minimum} or more (a zero is a figure, a blank is not)."
        title = "Not a whole number"
    elif field_.max_length:
        kind = {
            "type": "textLength",
            "operator": "lessThanOrEqual",
            "formula1": str(field_.max_length),
            "errorStyle": "stop",
        }
        error = f"{field_.name} can be at most {field_.max_length} characters long."
        title = "Too long"
    else:
        kind = {}  # any value: the cell still shows its hint; the value is checked at upload
        error = ""
        title = ""
    validation = DataValidation(
        allow_blank=True,
        showInputMessage=True,
        showErrorMessage=bool(kind),
        promptTitle=_clip(field_.name, PROMPT_TITLE_MAX),
        prompt=_clip(field_.hint or standard.types.get(field_.type, ""), PROMPT_MAX),
        errorTitle=_clip(title, PROMPT_TITLE_MAX) if title else None,
        error=_clip(error, PROMPT_MAX) if error else None,
        **kind,  # type: ignore[arg-type]
    )
    return validation
