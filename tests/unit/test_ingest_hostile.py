"""Safe ingest, hostile and malformed files: each refused with the right id, one line, fast, small."""

from __future__ import annotations

import os
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
from builders import children_rows, sample_about, sample_activity, sample_strategy, write_xlsx_return
from hostile import (
    RawMember,
    deflate,
    honest,
    move_part,
    ole2_file,
    png_file,
    rewrite_zip,
    shared_strings,
    with_doctype,
    with_shared_strings,
    worksheet_part,
    write_raw_zip,
    zip_bomb_declared,
    zip_bomb_lying,
    zip_bomb_ratio,
)

from schemas.standard import load_standard
from transforms.ingest import Refused, read_return

STANDARD = load_standard("1.0")
MAX_SECONDS = 5
MAX_PYTHON_MEMORY = 64 * 1_048_576


def refusal(path: Path, display_name: str | None = None) -> Refused:
    """Read `path`, expecting a refusal in bounded time and (Python-allocated) memory."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        read_return(path, display_name)
    except Refused as error:
        refused = error
    else:
        raise AssertionError(f"{path.name} was not refused")
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < MAX_SECONDS, f"took {elapsed:.1f} s"
    assert peak < MAX_PYTHON_MEMORY, f"peak {peak / 1_048_576:.0f} MB"
    message = str(refused)
    assert message and "\n" not in message and "Traceback" not in message
    assert refused.source_name == (display_name or path.name)
    assert refused.reason.startswith(f"{refused.source_name}: ")
    known = {r.id for r in STANDARD.refusals}
    assert refused.refusal in known
    assert "{" not in message, message  # every placeholder filled in
    return refused


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_xlsx_return(
        tmp_path / "good.xlsx", sample_about(), sample_strategy(), sample_activity(), children_rows(5)
    )


# ---- not a return at all ----


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    assert refusal(path).refusal == "REF-EMPTY"


def test_png_renamed_xlsx(tmp_path: Path) -> None:
    assert refusal(png_file(tmp_path / "photo.xlsx")).refusal == "REF-FORMAT"


def test_plain_text_renamed_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_text("field,value\nperiod,2025-Q1\n")
    assert refusal(path).refusal == "REF-FORMAT"


def test_password_protected_workbook(tmp_path: Path) -> None:
    path = ole2_file(tmp_path / "locked.xlsx", ["EncryptionInfo", "EncryptedPackage"])
    error = refusal(path)
    assert error.refusal == "REF-ENCRYPTED"
    assert "password" in str(error)


def test_old_binary_xls(tmp_path: Path) -> None:
    assert refusal(ole2_file(tmp_path / "old.xls", ["Workbook", "SummaryInformation"])).refusal == "REF-FORMAT"


def test_zip_that_is_neither_workbook_nor_bundle(tmp_path: Path) -> None:
    path = write_raw_zip(tmp_path / "report.docx", [honest("word/document.xml", b"<document/>")])
    assert refusal(path).refusal == "REF-FORMAT"


def test_file_over_the_upload_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as handle:  # sparse: large on disk, no bytes written
        handle.truncate(STANDARD.limits.max_upload_bytes + 1)
    error = refusal(path)
    assert error.refusal == "REF-TOO-LARGE"
    assert "The file" in str(error)


# ---- zip bombs ----


def test_zip_bomb_by_declared_size(tmp_path: Path) -> None:
    path = zip_bomb_declared(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 1000
    error = refusal(path)
    assert error.refusal == "REF-ZIP-BOMB"


def test_zip_bomb_by_compression_ratio(tmp_path: Path) -> None:
    path = zip_bomb_ratio(tmp_path / "bomb.zip")
    error = refusal(path)
    assert error.refusal == "REF-ZIP-BOMB"
    assert "expands" in str(error)


def test_zip_bomb_whose_declared_size_lies(tmp_path: Path) -> None:
    path = zip_bomb_lying(tmp_path / "liar.xlsx", real_size=64 * 1_048_576)
    error = refusal(path)
    assert error.refusal == "REF-ZIP-BOMB"
    assert "declares" in str(error)


def test_too_many_zip_members(tmp_path: Path) -> None:
    members = [honest(f"xl/media/image{i}.bin", b"x") for i in range(1500)]
    path = write_raw_zip(tmp_path / "many.xlsx", [honest("[Content_Types].xml", b"<Types/>"), *members])
    assert refusal(path).refusal == "REF-ZIP-BOMB"


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "xl/../../evil.xml", "C:/evil.xml"])
def test_zip_member_paths_that_escape(tmp_path: Path, name: str) -> None:
    path = write_raw_zip(tmp_path / "escape.zip", [honest("about.csv", b"field,value\n"), honest(name, b"x")])
    assert refusal(path).refusal == "REF-CORRUPT"


def test_truncated_zip(tmp_path: Path, good: Path) -> None:
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert refusal(path).refusal == "REF-CORRUPT"


def test_member_with_a_wrong_crc(tmp_path: Path) -> None:
    data = b"field,value\nperiod,2025-Q1\n"
    members = [RawMember(name, deflate(data), len(data), 12345) for name in ("about.csv", "children.csv")]
    members += [honest(name, data) for name in ("strategy.csv", "activity.csv")]
    assert refusal(write_raw_zip(tmp_path / "crc.zip", members)).refusal == "REF-CORRUPT"


# ---- what an xlsx may not hold ----


def test_entity_bomb_in_a_worksheet(tmp_path: Path, good: Path) -> None:
    part = worksheet_part(good, "Children")
    path = rewrite_zip(good, tmp_path / "lol.xlsx", change={part: with_doctype})
    error = refusal(path)
    assert error.refusal == "REF-XML"
    assert "Children" in str(error)


def test_entity_bomb_in_shared_strings(tmp_path: Path, good: Path) -> None:
    strings = b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
    path = rewrite_zip(good, tmp_path / "lol.xlsx", add={"xl/sharedStrings.xml": with_doctype(strings)})
    error = refusal(path)
    assert error.refusal == "REF-XML"
    assert "sharedStrings" in str(error)


def test_entity_declaration_in_utf16(tmp_path: Path, good: Path) -> None:
    strings = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><sst/>'.encode("utf-16")
    path = rewrite_zip(good, tmp_path / "lol16.xlsx", add={"xl/sharedStrings.xml": strings})
    assert refusal(path).refusal == "REF-XML"


def test_doctype_in_the_workbook_part(tmp_path: Path, good: Path) -> None:
    path = rewrite_zip(good, tmp_path / "lol.xlsx", change={"xl/workbook.xml": with_doctype})
    assert refusal(path).refusal == "REF-XML"


def test_vba_project_is_refused(tmp_path: Path, good: Path) -> None:
    path = rewrite_zip(good, tmp_path / "macro.xlsx", add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 not really"})
    error = refusal(path)
    assert error.refusal == "REF-MACRO"


def test_xlsm_content_type_is_refused(tmp_path: Path, good: Path) -> None:
    def macro_enabled(content_types: bytes) -> bytes:
        return content_types.replace(
            b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        )

    path = rewrite_zip(good, tmp_path / "book.xlsm", change={"[Content_Types].xml": macro_enabled})
    assert b"macroEnabled" in zipfile.ZipFile(path).read("[Content_Types].xml")
    assert refusal(path).refusal == "REF-MACRO"


def test_macro_sheet_is_refused(tmp_path: Path, good: Path) -> None:
    path = rewrite_zip(good, tmp_path / "xlm.xlsx", add={"xl/macrosheets/sheet1.xml": b"<xm:macrosheet/>"})
    assert refusal(path).refusal == "REF-MACRO"


def test_external_links_are_refused(tmp_path: Path, good: Path) -> None:
    link = b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
    path = rewrite_zip(good, tmp_path / "linked.xlsx", add={"xl/externalLinks/externalLink1.xml": link})
    error = refusal(path)
    assert error.refusal == "REF-EXTERNAL-LINK"
    assert "externalLink1.xml" in str(error)


def test_formula_is_refused_naming_its_cell(tmp_path: Path) -> None:
    children = children_rows(4)
    children[2]["missing_episodes"] = "=1+1"  # openpyxl writes a formula; third child = row 4, column K
    path = write_xlsx_return(tmp_path / "f.xlsx", sample_about(), sample_strategy(), sample_activity(), children)
    error = refusal(path)
    assert error.refusal == "REF-FORMULA"
    assert "Children!K4" in str(error)


def test_formula_on_a_keyvalue_sheet(tmp_path: Path) -> None:
    activity = sample_activity(charges="=SUM(1,2)")
    path = write_xlsx_return(tmp_path / "f.xlsx", sample_about(), sample_strategy(), activity, [])
    row = list(activity).index("charges") + 2
    assert f"Activity!B{row}" in str(refusal(path))


def test_formula_with_a_namespace_prefix_and_no_cell_reference(tmp_path: Path, good: Path) -> None:
    part = worksheet_part(good, "Strategy")

    def prefixed(xml: bytes) -> bytes:
        main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        row = b'<row r="40"><c/><c xmlns:x="' + main + b'"><x:f>1+1</x:f><v>2</v></c></row>'
        return xml.replace(b"</sheetData>", row + b"</sheetData>")

    path = rewrite_zip(good, tmp_path / "f.xlsx", change={part: prefixed})
    error = refusal(path)
    assert error.refusal == "REF-FORMULA"
    assert "Strategy!B40" in str(error)


def test_data_validation_formulas_are_not_cell_formulas(tmp_path: Path, good: Path) -> None:
    workbook = openpyxl.load_workbook(good)
    from openpyxl.worksheet.datavalidation import DataValidation

    validation = DataValidation(type="list", formula1='"F,M,U"')
    workbook["Children"].add_data_validation(validation)
    validation.add("F2:F100")
    workbook.save(good)
    assert b"<formula1>" in zipfile.ZipFile(good).read(worksheet_part(good, "Children"))
    assert len(read_return(good).table("Children").frame) == 5


def test_sheet_claiming_two_billion_rows_in_its_dimension(tmp_path: Path, good: Path) -> None:
    part = worksheet_part(good, "Children")

    def claim(xml: bytes) -> bytes:
        if b"<dimension " in xml:
            start = xml.index(b"<dimension ")
            return xml[:start] + b'<dimension ref="A1:Z2000000000"' + xml[xml.index(b"/>", start) :]
        at = xml.index(b"<sheetData")  # openpyxl's write-only mode writes no dimension
        return xml[:at] + b'<dimension ref="A1:Z2000000000"/>' + xml[at:]

    error = refusal(rewrite_zip(good, tmp_path / "tall.xlsx", change={part: claim}))
    assert error.refusal == "REF-TOO-LARGE"
    assert "2,000,000,000" in str(error)


def test_sheet_with_a_row_numbered_two_billion(tmp_path: Path, good: Path) -> None:
    part = worksheet_part(good, "Children")

    def far_row(xml: bytes) -> bytes:
        row = b'<row r="2000000000"><c r="A2000000000" t="inlineStr"><is><t>x</t></is></c></row>'
        return xml.replace(b"</sheetData>", row + b"</sheetData>")

    error = refusal(rewrite_zip(good, tmp_path / "tall.xlsx", change={part: far_row}))
    assert error.refusal == "REF-TOO-LARGE"
    assert "Children" in str(error)


def test_cell_far_below_its_row_is_caught(tmp_path: Path, good: Path) -> None:
    part = worksheet_part(good, "About")

    def far_cell(xml: bytes) -> bytes:
        return xml.replace(b"</sheetData>", b'<row r="30"><c r="B900000"><v>1</v></c></row></sheetData>')

    error = refusal(rewrite_zip(good, tmp_path / "far.xlsx", change={part: far_cell}))
    assert error.refusal == "REF-TOO-LARGE"
    assert "About" in str(error)


def test_too_many_rows_on_a_keyvalue_sheet(tmp_path: Path) -> None:
    activity = {f"note_{i}": i for i in range(STANDARD.limits.max_keyvalue_rows + 5)}
    path = write_xlsx_return(tmp_path / "long.xlsx", sample_about(), sample_strategy(), activity, [])
    error = refusal(path)
    assert error.refusal == "REF-TOO-LARGE"
    assert "Activity" in str(error)


def test_too_many_columns(tmp_path: Path) -> None:
    header = [f"extra_{i}" for i in range(STANDARD.limits.max_columns + 1)]
    path = write_xlsx_return(
        tmp_path / "wide.xlsx", sample_about(), sample_strategy(), sample_activity(), [{}], children_header=header
    )
    error = refusal(path)
    assert error.refusal == "REF-TOO-LARGE"
    assert "column" in str(error)


def test_cells_without_references_still_count_columns(tmp_path: Path, good: Path) -> None:
    part = worksheet_part(good, "Children")
    cells = b"<c><v>1</v></c>" * (STANDARD.limits.max_columns + 1)

    def wide(xml: bytes) -> bytes:
        return xml.replace(b"</sheetData>", b"<row>" + cells + b"</row></sheetData>")

    assert refusal(rewrite_zip(good, tmp_path / "wide.xlsx", change={part: wide})).refusal == "REF-TOO-LARGE"


# ---- sheets ----


def test_missing_sheet_is_named(tmp_path: Path) -> None:
    path = write_xlsx_return(
        tmp_path / "r.xlsx", sample_about(), sample_strategy(), sample_activity(), [], omit_sheets=["Strategy"]
    )
    error = refusal(path)
    assert error.refusal == "REF-SHEETS"
    assert "no Strategy sheet" in str(error)


def test_extra_sheet_is_named(tmp_path: Path) -> None:
    path = write_xlsx_return(
        tmp_path / "r.xlsx", sample_about(), sample_strategy(), sample_activity(), [], extra_sheets=["Notes"]
    )
    error = refusal(path)
    assert error.refusal == "REF-SHEETS"
    assert "'Notes'" in str(error)


def test_renamed_sheet_is_both_missing_and_extra(tmp_path: Path) -> None:
    path = write_xlsx_return(
        tmp_path / "r.xlsx",
        sample_about(),
        sample_strategy(),
        sample_activity(),
        [],
        sheet_titles={"Children": "Sheet1"},
    )
    message = str(refusal(path))
    assert "no Children sheet" in message and "'Sheet1'" in message


def test_refusals_never_echo_identifier_values(tmp_path: Path) -> None:
    children = children_rows(2)
    children[0]["upn"] = "A123456789012"
    children[0]["nhs_number"] = "=9434765919"  # a formula in an identifier cell
    path = write_xlsx_return(tmp_path / "r.xlsx", sample_about(), sample_strategy(), sample_activity(), children)
    error = refusal(path)
    assert error.refusal == "REF-FORMULA"
    assert "9434765919" not in str(error) and "A123456789012" not in str(error)


# ---- claims that make a reader reserve memory, and parts where a reader would not expect them ----


def test_shared_strings_claiming_two_billion_texts(tmp_path: Path, good: Path) -> None:
    # calamine reserves memory for uniqueCount up front and aborts the process on this claim
    xml = shared_strings(2_000_000_000, 2_000_000_000, ["hello"])
    error = refusal(with_shared_strings(good, tmp_path / "sst.xlsx", xml))
    assert error.refusal == "REF-TOO-LARGE"
    assert "2,000,000,000" in str(error)


def test_shared_strings_claiming_two_billion_uses_of_one_text(tmp_path: Path, good: Path) -> None:
    xml = shared_strings(2_000_000_000, 1, ["hello"])
    error = refusal(with_shared_strings(good, tmp_path / "sst.xlsx", xml))
    assert error.refusal == "REF-TOO-LARGE"
    assert "2,000,000,000 uses" in str(error)


def test_shared_strings_used_more_often_than_they_are_held_are_read(tmp_path: Path, good: Path) -> None:
    # `count` counts the cells that use the table (LibreOffice writes count="124" uniqueCount="108"):
    # more uses than texts is normal and must not be refused
    read_return(with_shared_strings(good, tmp_path / "sst.xlsx", shared_strings(40, 2, ["Y", "N"])))


def test_honest_shared_strings_are_read(tmp_path: Path, good: Path) -> None:
    part = worksheet_part(good, "Strategy")
    path = with_shared_strings(good, tmp_path / "sst.xlsx", shared_strings(1, 1, ["PLANNING"]))

    def use_string(xml: bytes) -> bytes:
        start = xml.index(b'<c r="B2"')
        end = xml.index(b"</c>", start) + len(b"</c>")
        return xml[:start] + b'<c r="B2" t="s"><v>0</v></c>' + xml[end:]

    path = rewrite_zip(path, tmp_path / "sst2.xlsx", change={part: use_string})
    assert read_return(path).keyvalue("Strategy").values["cse_strategy"] == "PLANNING"


def test_worksheet_moved_out_of_the_worksheets_folder_is_still_scanned(tmp_path: Path, good: Path) -> None:
    part = worksheet_part(good, "Children")

    def add_formula(xml: bytes) -> bytes:
        return xml.replace(b"</sheetData>", b'<row r="9"><c r="C9"><f>1+1</f><v>2</v></c></row></sheetData>')

    path = move_part(good, tmp_path / "moved.xlsx", part, "xl/elsewhere/data.xml", add_formula)
    assert "xl/elsewhere/data.xml" in zipfile.ZipFile(path).namelist()
    error = refusal(path)
    assert error.refusal == "REF-FORMULA"
    assert "Children!C9" in str(error)


def test_worksheet_in_utf16_is_refused(tmp_path: Path, good: Path) -> None:
    part = worksheet_part(good, "About")

    def utf16(xml: bytes) -> bytes:
        return b'<?xml version="1.0" encoding="UTF-16"?>'.decode().encode("utf-16") + xml.decode().encode("utf-16-le")

    assert refusal(rewrite_zip(good, tmp_path / "u16.xlsx", change={part: utf16})).refusal == "REF-CORRUPT"


def test_part_declaring_another_encoding_is_refused(tmp_path: Path, good: Path) -> None:
    part = worksheet_part(good, "About")

    def latin1(xml: bytes) -> bytes:
        return b'<?xml version="1.0" encoding="ISO-8859-1"?>' + xml.split(b"?>", 1)[-1]

    assert refusal(rewrite_zip(good, tmp_path / "l1.xlsx", change={part: latin1})).refusal == "REF-CORRUPT"


# ---- one view of the package (issue 16, item 1) ----


def test_backslash_smuggled_dde_with_a_long_comment_and_a_far_cell(tmp_path: Path) -> None:
    from tests.support.hostile import smuggled_worksheet

    error = refusal(smuggled_worksheet(tmp_path / "smuggled.xlsx"))
    assert error.refusal == "REF-CORRUPT"  # two parts named alike once `\` reads as `/`


@pytest.mark.parametrize(
    "name", ["xl\\worksheets\\sheet4.xml", "./xl/worksheets/sheet4.xml", "xl//worksheets/sheet4.xml"]
)
def test_a_worksheet_under_another_spelling_is_still_scanned(tmp_path: Path, name: str) -> None:
    from tests.support.hostile import renamed_worksheet

    assert refusal(renamed_worksheet(tmp_path / "renamed.xlsx", name)).refusal == "REF-FORMULA"


@pytest.mark.parametrize(
    "spelling", ["xl//worksheets/sheet4.xml", "XL/Worksheets/Sheet4.xml", "xl\\worksheets/sheet4.xml"]
)
def test_two_parts_of_one_name_once_normalised_are_refused(tmp_path: Path, spelling: str) -> None:
    from tests.support.hostile import duplicate_by_spelling

    assert refusal(duplicate_by_spelling(tmp_path / "twice.xlsx", spelling)).refusal == "REF-CORRUPT"


def test_backslash_names_of_an_honest_workbook_read_the_same(tmp_path: Path, good: Path) -> None:
    from tests.support.hostile import write_members

    members = [(name.replace("/", "\\"), data) for name, data in zipfile_members(good)]
    windows = write_members(tmp_path / "windows.xlsx", members)
    assert len(read_return(windows).table("Children").frame) == len(read_return(good).table("Children").frame) == 5


def zipfile_members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        return [(name, archive.read(name)) for name in archive.namelist()]


def test_a_comment_cannot_hide_the_cells_from_the_scan(tmp_path: Path) -> None:
    from tests.support.hostile import comment_hiding_sheet_data

    assert refusal(comment_hiding_sheet_data(tmp_path / "c.xlsx")).refusal == "REF-XML-HIDDEN"


def test_a_worksheet_elsewhere_behind_a_long_prolog_is_scanned(tmp_path: Path) -> None:
    from tests.support.hostile import worksheet_elsewhere_with_long_prolog

    error = refusal(worksheet_elsewhere_with_long_prolog(tmp_path / "e.xlsx"))
    assert error.refusal in ("REF-XML-HIDDEN", "REF-FORMULA")


def test_root_element_is_found_past_any_prolog() -> None:
    from transforms.ingest.scan import root_element

    prolog = b'<?xml version="1.0"?>\n<!--' + b"-" * 10 + b"x" * 200_000 + b"--><?pi x?><x:worksheet xmlns:x='u'>"
    chunks = [prolog[i : i + 65_536] for i in range(0, len(prolog), 65_536)]
    assert root_element(chunks) == b"worksheet"
    assert root_element([b"PNG\x00"]) is None


def test_dde_in_a_defined_name_is_refused(tmp_path: Path) -> None:
    from tests.support.hostile import dde_in_defined_name

    assert refusal(dde_in_defined_name(tmp_path / "dn.xlsx")).refusal == "REF-FORMULA-PART"


def test_dde_in_a_data_validation_is_refused(tmp_path: Path) -> None:
    from tests.support.hostile import dde_in_data_validation

    assert refusal(dde_in_data_validation(tmp_path / "dv.xlsx")).refusal == "REF-FORMULA-PART"


def test_the_templates_defined_name_and_validations_are_not_formulas(tmp_path: Path) -> None:
    from reports.template import write_template

    path = write_template("E06000001", "2025-Q1", tmp_path / "template.xlsx")
    assert read_return(path).from_template  # its version name and list validations are references


def test_an_external_link_is_known_by_its_relationship_type(tmp_path: Path) -> None:
    from tests.support.hostile import external_link_elsewhere

    assert refusal(external_link_elsewhere(tmp_path / "x.xlsx")).refusal == "REF-EXTERNAL-LINK"


# ---- bounded work (issue 16, item 2) ----


def test_one_shared_text_used_by_every_cell_is_refused_before_reading(tmp_path: Path) -> None:
    from tests.support.hostile import shared_string_amplifier

    path = shared_string_amplifier(tmp_path / "amplified.xlsx")
    assert path.stat().st_size < 1_048_576
    error = refusal(path)
    assert error.refusal == "REF-TEXT"
    assert "64,000,000 characters" in str(error)


def test_a_text_longer_than_any_field_needs_is_refused(tmp_path: Path) -> None:
    from tests.support.hostile import long_text_cell

    error = refusal(long_text_cell(tmp_path / "long.xlsx"))
    assert error.refusal == "REF-TEXT"
    assert "30,000 characters" in str(error)


def test_a_long_inline_text_is_refused(tmp_path: Path, good: Path) -> None:
    part = worksheet_part(good, "Children")

    def long_inline(xml: bytes) -> bytes:
        cell = b'<row r="90"><c r="A90" t="inlineStr"><is><t>' + b"z" * 5_000 + b"</t></is></c></row>"
        return xml.replace(b"</sheetData>", cell + b"</sheetData>")

    assert refusal(rewrite_zip(good, tmp_path / "inline.xlsx", change={part: long_inline})).refusal == "REF-TEXT"


def test_shared_texts_used_within_the_budget_are_read(tmp_path: Path) -> None:
    from tests.support.hostile import shared_string_amplifier

    path = shared_string_amplifier(tmp_path / "fine.xlsx", text_chars=10, rows=200, columns=3)
    assert len(read_return(path).table("Children").frame) == 200


# ---- what the values do not show (issue 16, item 10) ----


def _edited(good: Path, target: Path, edit: object) -> Path:
    workbook = openpyxl.load_workbook(good)
    edit(workbook)  # type: ignore[operator]
    workbook.save(target)
    return target


def test_an_error_cell_is_read_as_its_error_not_as_a_blank(tmp_path: Path, good: Path) -> None:
    from transforms.validate import validate_return

    def broken(workbook: openpyxl.Workbook) -> None:
        children = workbook["Children"]
        children["B2"] = "#REF!"  # openpyxl writes an error code as an error cell (t="e")
        children["A3"] = "#N/A"

    ret = read_return(_edited(good, tmp_path / "errors.xlsx", broken))
    assert ret.error_cells == {"Children!B2": "#REF!", "Children!A3": "#N/A"}
    assert ret.table("Children").frame.loc[2, "upn"] == "#REF!"
    found = {(f.rule, f.cell) for f in validate_return(ret).findings}
    assert ("STRUCT-04", "Children!A3") in found  # free text: the error itself is reported
    assert any(cell == "Children!B2" for _, cell in found)  # a UPN: its format rule reports it


def test_hidden_sheets_rows_and_columns_are_noted(tmp_path: Path, good: Path) -> None:
    from transforms.validate import validate_return

    def hide(workbook: openpyxl.Workbook) -> None:
        workbook["Strategy"].sheet_state = "hidden"
        workbook["Children"].row_dimensions[3].hidden = True
        workbook["Children"].column_dimensions["G"].hidden = True

    ret = read_return(_edited(good, tmp_path / "hidden.xlsx", hide))
    kinds = {(h.sheet, h.kind, h.items) for h in ret.hidden}
    assert kinds == {("Strategy", "sheet", ()), ("Children", "rows", ("3",)), ("Children", "columns", ("G",))}
    queries = [f for f in validate_return(ret).findings if f.rule == "STRUCT-05"]
    assert len(queries) == 3 and all(f.severity == "Q" for f in queries)
    assert any("Row of the Children sheet is hidden (3)" in f.message for f in queries)


def test_nothing_is_noted_for_a_plain_workbook_or_the_template(tmp_path: Path, good: Path) -> None:
    from reports.template import write_template

    plain = read_return(good)
    assert plain.error_cells == {} and plain.hidden == []
    template = read_return(write_template("E06000001", "2025-Q1", tmp_path / "template.xlsx"))
    assert template.hidden == []  # its Lists sheet is hidden, and is not one of the return's


def test_a_cell_type_spelled_with_character_references_is_refused(tmp_path: Path) -> None:
    from tests.support.hostile import shared_string_amplifier

    path = shared_string_amplifier(tmp_path / "amp.xlsx", rows=50, columns=2)

    def escape(xml: bytes) -> bytes:
        return xml.replace(b't="s"', b't="&#115;"')

    assert (
        refusal(rewrite_zip(path, tmp_path / "escaped.xlsx", change={"xl/worksheets/sheet4.xml": escape})).refusal
        == "REF-CORRUPT"
    )


def test_a_sheet_named_like_an_identifier_is_not_echoed_in_the_refusal(tmp_path: Path) -> None:
    from tests.support.hostile import planted_identifiers

    upn, nhs = planted_identifiers()
    path = write_xlsx_return(
        tmp_path / "r.xlsx", sample_about(), sample_strategy(), sample_activity(), [], extra_sheets=[upn, nhs]
    )
    error = refusal(path)
    assert error.refusal == "REF-SHEETS"
    assert upn not in str(error) and nhs not in str(error) and "[identifier]" in str(error)


def test_the_texts_table_behind_a_long_prolog_is_still_costed(tmp_path: Path) -> None:
    from tests.support.hostile import shared_string_amplifier

    path = shared_string_amplifier(tmp_path / "amp.xlsx", rows=50, columns=2)

    def hide_root(xml: bytes) -> bytes:  # past the 8 MB a root is looked for in
        return b"<!--" + os.urandom(4_500_000).hex().encode() + b"-->" + xml.split(b"?>", 1)[1]

    moved = rewrite_zip(path, tmp_path / "prolog.xlsx", change={"xl/sharedStrings.xml": hide_root})
    assert refusal(moved).refusal == "REF-XML-HIDDEN"
