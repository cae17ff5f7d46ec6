import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

from reports.template import CHILDREN_ROWS, LISTS_SHEET, MARKER_TEXT, VERSION_NAME, TemplateError, write_template
from schemas.register import load_register
from schemas.standard import Field, load_standard

STANDARD = load_standard("1.0")
COUNCIL = "E06000001"


@pytest.fixture(scope="module")
def template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_template(COUNCIL, "2025-Q1", tmp_path_factory.mktemp("template") / "return.xlsx")


@pytest.fixture(scope="module")
def workbook(template_path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(template_path)


def _validations(ws: Worksheet) -> dict[str, object]:
    """Top-left cell of each validation range -> the validation."""
    found: dict[str, object] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            found[rng.coord.split(":")[0]] = dv
    return found


def _value_cell(ws: Worksheet, sheet_name: str, field_: Field) -> str:
    sheet = STANDARD.sheet(sheet_name)
    if sheet.layout == "table":
        return f"{get_column_letter(sheet.field_names.index(field_.name) + 1)}2"
    return f"B{sheet.field_names.index(field_.name) + 2}"


def test_sheets_in_order_with_hidden_lists(workbook: openpyxl.Workbook) -> None:
    assert (
        workbook.sheetnames
        == [*STANDARD.sheet_names, LISTS_SHEET]
        == ["About", "Strategy", "Activity", "Children", "Lists"]
    )
    assert workbook[LISTS_SHEET].sheet_state == "hidden"
    assert all(workbook[name].sheet_state == "visible" for name in STANDARD.sheet_names)
    assert workbook.active is not None and workbook.active.title == "About"


def test_keyvalue_sheets_list_every_field_in_schema_order(workbook: openpyxl.Workbook) -> None:
    for sheet in STANDARD.sheets:
        if sheet.layout != "keyvalue":
            continue
        ws = workbook[sheet.name]
        assert (ws["A1"].value, ws["B1"].value) == ("field", "value")
        names = [ws.cell(row=r, column=1).value for r in range(2, ws.max_row + 1)]
        assert names == list(sheet.field_names)
        assert ws.max_column == 2


def test_about_is_prefilled_from_the_register(workbook: openpyxl.Workbook) -> None:
    council = load_register().get(COUNCIL)
    ws = workbook["About"]
    values = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(2, ws.max_row + 1)}
    assert values == {
        "standard_version": "1.0",
        "council_code": COUNCIL,
        "la_number": council.la_number,
        "period": "2025-Q1",
        "prepared_by_email": None,
        "signed_off_by": None,
        "signed_off_on": None,
    }
    assert isinstance(values["la_number"], str) and values["la_number"] == "805"
    for sheet_name in ("Strategy", "Activity"):
        ws = workbook[sheet_name]
        assert all(ws.cell(row=r, column=2).value is None for r in range(2, ws.max_row + 1))


def test_children_has_only_the_header_row(workbook: openpyxl.Workbook) -> None:
    ws = workbook["Children"]
    sheet = STANDARD.sheet("Children")
    assert [c.value for c in ws[1]] == list(sheet.field_names)
    assert ws.max_row == 1
    assert ws.freeze_panes == "A2"
    for index, field_ in enumerate(sheet.fields, start=1):
        header = ws.cell(row=1, column=index)
        assert header.comment is not None and field_.hint in header.comment.text
        assert ws.column_dimensions[get_column_letter(index)].width >= len(field_.name)


def test_lists_sheet_marker_and_defined_name(workbook: openpyxl.Workbook) -> None:
    ws = workbook[LISTS_SHEET]
    assert ws["A1"].value == MARKER_TEXT == "LSCB return template"
    assert ws["B1"].value == "1.0"
    name = workbook.defined_names[VERSION_NAME]
    assert name.attr_text == "Lists!$B$1"


def test_every_coded_field_has_a_list_validation_on_its_code_list(workbook: openpyxl.Workbook) -> None:
    lists = workbook[LISTS_SHEET]
    coded = [f for s in STANDARD.sheets for f in s.fields if f.codes]
    assert len(coded) > 20
    for field_ in coded:
        ws = workbook[field_.sheet]
        dv = _validations(ws)[_value_cell(ws, field_.sheet, field_)]
        assert dv.type == "list", field_.ref  # type: ignore[attr-defined]
        sheet_ref, cells = dv.formula1.split("!")  # type: ignore[attr-defined]
        assert sheet_ref == LISTS_SHEET
        min_col, min_row, max_col, max_row = range_boundaries(cells.replace("$", ""))
        listed = [lists.cell(row=r, column=min_col).value for r in range(min_row, max_row + 1)]
        assert min_col == max_col and listed == list(STANDARD.codes(field_)), field_.ref
        assert lists.cell(row=1, column=min_col).value == field_.codes
        assert dv.showDropDown in (False, None)  # type: ignore[attr-defined]  # True would HIDE the arrow


def test_date_integer_and_length_validations(workbook: openpyxl.Workbook) -> None:
    seen = {"date": 0, "whole": 0, "textLength": 0}
    for sheet in STANDARD.sheets:
        ws = workbook[sheet.name]
        by_cell = _validations(ws)
        for field_ in sheet.fields:
            dv = by_cell[_value_cell(ws, sheet.name, field_)]
            assert dv.showInputMessage  # type: ignore[attr-defined]
            assert dv.promptTitle == field_.name and len(dv.promptTitle) <= 32  # type: ignore[attr-defined]
            assert dv.prompt == field_.hint and len(dv.prompt) <= 255  # type: ignore[attr-defined]
            if field_.type == "date":
                assert dv.type == "date"  # type: ignore[attr-defined]
                seen["date"] += 1
            elif field_.type == "integer":
                assert (dv.type, dv.operator, dv.formula1) == ("whole", "greaterThanOrEqual", "0")  # type: ignore[attr-defined]
                seen["whole"] += 1
            elif field_.max_length:
                assert (dv.type, dv.formula1) == ("textLength", str(field_.max_length))  # type: ignore[attr-defined]
                seen["textLength"] += 1
            if dv.type:  # type: ignore[attr-defined]
                assert dv.showErrorMessage and dv.error and len(dv.error) <= 255  # type: ignore[attr-defined]
                assert dv.errorTitle and len(dv.errorTitle) <= 32  # type: ignore[attr-defined]
    assert all(seen.values()), seen


def test_children_validations_cover_rows_2_to_5001(workbook: openpyxl.Workbook) -> None:
    ws = workbook["Children"]
    ranges = sorted(str(r) for dv in ws.data_validations.dataValidation for r in dv.sqref.ranges)
    expected = sorted(
        f"{get_column_letter(i)}2:{get_column_letter(i)}{CHILDREN_ROWS + 1}"
        for i in range(1, len(STANDARD.sheet("Children").fields) + 1)
    )
    assert ranges == expected and CHILDREN_ROWS + 1 == 5001


def test_headers_locked_inputs_unlocked_sheets_protected(workbook: openpyxl.Workbook) -> None:
    for name in workbook.sheetnames:
        protection = workbook[name].protection
        assert protection.sheet is True
        assert not protection.password
    for sheet in STANDARD.sheets:
        ws = workbook[sheet.name]
        if sheet.layout == "keyvalue":
            assert ws["A1"].protection.locked and ws["B1"].protection.locked
            for row in range(2, len(sheet.fields) + 2):
                assert ws.cell(row=row, column=1).protection.locked
                assert ws.cell(row=row, column=1).comment is not None
                assert ws.cell(row=row, column=2).protection.locked is False
        else:
            assert ws.protection.insertRows is False and ws.protection.deleteRows is False  # allowed
            for index in range(1, len(sheet.fields) + 1):
                letter = get_column_letter(index)
                assert ws[f"{letter}1"].protection.locked
                # input cells take the column's style: unlocked
                assert ws.column_dimensions[letter].protection.locked is False


def test_no_formulas_anywhere(template_path: Path) -> None:
    with zipfile.ZipFile(template_path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                text = archive.read(name).decode("utf-8")
                assert not re.search(r"<(\w+:)?f[ >/]", text), name
        assert not any("vbaProject" in n for n in archive.namelist())


def test_document_properties(workbook: openpyxl.Workbook) -> None:
    assert workbook.properties.creator == "lscb-returns"
    assert workbook.properties.title and "2025-Q1" in workbook.properties.title
    assert "Hartlepool" in workbook.properties.title


@pytest.mark.parametrize(
    ("council", "period", "needle"),
    [
        ("E99000001", "2025-Q1", "neither the GSS code"),
        ("E10000021", "2025-Q1", "not in operation during 2025-Q1"),  # Northamptonshire, split 2021
        ("E06000061", "2020-Q1", "not in operation during 2020-Q1"),  # North Northamptonshire, from 2021
        ("E06000001", "2025-Q5", "invalid period"),
        ("805", "2025-Q1", "not a GSS council code"),
    ],
)
def test_refuses_bad_council_or_period(tmp_path: Path, council: str, period: str, needle: str) -> None:
    with pytest.raises(TemplateError, match=needle):
        write_template(council, period, tmp_path / "t.xlsx")
    assert not (tmp_path / "t.xlsx").exists()


def test_council_in_operation_for_part_of_the_period_is_accepted(tmp_path: Path) -> None:
    registry = load_register()
    ended = next(c for c in registry.all() if c.end is not None and c.end.year >= 2000)
    from schemas.calendar import Period

    period = Period.containing(ended.end)  # type: ignore[arg-type]
    path = write_template(ended.council_code, period.code, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path)["About"]
    assert ws["B3"].value == ended.council_code and ws["B4"].value == ended.la_number


def test_writes_only_the_workbook(template_path: Path) -> None:
    assert [p.name for p in template_path.parent.iterdir()] == ["return.xlsx"]  # no partial file left
