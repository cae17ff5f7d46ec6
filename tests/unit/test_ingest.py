"""Safe ingest, good files: positions, header tolerance, raw values, versions, template marker."""

from __future__ import annotations

import hashlib
import re
import time
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from builders import (
    children_rows,
    sample_about,
    sample_activity,
    sample_child,
    sample_strategy,
    write_xlsx_return,
)

from schemas.standard import latest_version, load_standard
from transforms.ingest import HeaderProblem, Location, Refused, ReturnFile, read_return

STANDARD = load_standard("1.0")


def _write(path: Path, children: list[dict[str, object]] | None = None, **kwargs: object) -> Path:
    about = kwargs.pop("about", sample_about())
    return write_xlsx_return(
        path,
        about,  # type: ignore[arg-type]
        sample_strategy(),
        sample_activity(),
        children if children is not None else children_rows(3),
        **kwargs,  # type: ignore[arg-type]
    )


def test_reads_the_four_sheets_with_metadata(tmp_path: Path) -> None:
    path = _write(tmp_path / "return.xlsx")
    result = read_return(path)
    assert isinstance(result, ReturnFile)
    assert result.format == "xlsx"
    assert result.source_name == "return.xlsx"
    assert result.size_bytes == path.stat().st_size
    assert result.checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.standard_version == "1.0"
    assert result.from_template is False
    assert set(result.sheets) == set(STANDARD.sheet_names)
    about = result.keyvalue("About")
    assert about.values["council_code"] == "E06000001"
    assert about.values["period"] == "2025-Q1"
    assert about.header_problems == []
    assert result.table("Children").header_problems == []


def test_source_name_is_the_display_name_without_any_path(tmp_path: Path) -> None:
    path = _write(tmp_path / "upload-123.tmp")
    assert read_return(path, display_name="Hartlepool Q1.xlsx").source_name == "Hartlepool Q1.xlsx"
    assert read_return(path, display_name="C:\\Users\\officer\\Q1.xlsx").source_name == "Q1.xlsx"
    assert read_return(str(path)).source_name == "upload-123.tmp"


def test_keyvalue_values_point_at_column_b_of_their_row(tmp_path: Path) -> None:
    result = read_return(_write(tmp_path / "r.xlsx"))
    about = result.keyvalue("About")
    order = list(sample_about())
    for name in order:
        assert about.locations[name] == Location("About", order.index(name) + 2, "B")
    assert about.locations["period"].cell == "About!B5"
    activity = result.keyvalue("Activity")
    assert activity.values["children_newly_identified"] == 1.0  # numbers stay raw floats


def test_children_value_in_f12_is_reported_at_children_f12(tmp_path: Path) -> None:
    children = children_rows(11)
    children[10]["sex"] = "X"  # the 11th child is on row 12; sex is the 6th field (F)
    result = read_return(_write(tmp_path / "r.xlsx", children))
    table = result.table("Children")
    assert table.columns["sex"] == "F"
    assert table.frame.loc[12, "sex"] == "X"
    assert table.location("sex", 12) == Location("Children", 12, "F")
    assert table.location("sex", 12).cell == "Children!F12"
    assert list(table.frame.index) == list(range(2, 13))


def test_children_frame_is_object_dtype_indexed_by_excel_row(tmp_path: Path) -> None:
    table = read_return(_write(tmp_path / "r.xlsx")).table("Children")
    assert all(dtype is pd.api.types.pandas_dtype(object) for dtype in table.frame.dtypes)
    assert list(table.frame.columns) == list(STANDARD.sheet("Children").field_names)
    assert table.frame.index.dtype == "int64"


def test_headers_tolerate_case_spaces_and_underscores_in_any_order(tmp_path: Path) -> None:
    header = list(reversed(STANDARD.sheet("Children").field_names))
    labels = {"local_child_id": "Local Child ID", "date_of_birth": "DATE_OF_BIRTH ", "risk_level": " risk level"}
    about_labels = {"council_code": "Council Code", "period": "  PERIOD"}
    result = read_return(_write(tmp_path / "r.xlsx", children_header=header, header_labels={**labels, **about_labels}))
    table = result.table("Children")
    assert table.header_problems == []
    assert table.columns["local_child_id"] == chr(ord("A") + len(header) - 1)
    assert table.frame.loc[2, "local_child_id"] == "C00001"
    assert table.frame.loc[2, "date_of_birth"] == date(2010, 5, 1)
    assert result.keyvalue("About").values["council_code"] == "E06000001"

    labels = {"local_child_id": "LOCAL_CHILD_ID "}
    table = read_return(_write(tmp_path / "r2.xlsx", header_labels=labels)).table("Children")
    assert table.columns["local_child_id"] == "A"


def test_unknown_and_repeated_headers_become_header_problems(tmp_path: Path) -> None:
    header = [*STANDARD.sheet("Children").field_names, "favourite_colour", "Sex"]
    children = [sample_child(1, favourite_colour="blue")]
    about = {**sample_about(), "council_name": "Hartlepool"}
    result = read_return(_write(tmp_path / "r.xlsx", children, children_header=header, about=about))
    problems = result.table("Children").header_problems
    width = len(STANDARD.sheet("Children").field_names)
    first_extra = openpyxl.utils.get_column_letter(width + 1)
    second_extra = openpyxl.utils.get_column_letter(width + 2)
    assert problems == [
        HeaderProblem("unknown", "favourite_colour", Location("Children", 1, first_extra)),
        HeaderProblem("duplicate", "sex", Location("Children", 1, second_extra)),
    ]
    assert "favourite_colour" not in result.table("Children").frame.columns
    assert result.table("Children").columns["sex"] == "F"  # the first one counts
    about_problems = result.keyvalue("About").header_problems
    assert about_problems == [HeaderProblem("unknown", "council_name", Location("About", 9, "A"))]


def test_repeated_keyvalue_field_keeps_the_first(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.xlsx")
    workbook = openpyxl.load_workbook(path)
    workbook["Strategy"].append(["staff_trained", 99])
    workbook.save(path)
    strategy = read_return(path).keyvalue("Strategy")
    assert strategy.values["staff_trained"] == 12
    row = len(sample_strategy()) + 2
    assert strategy.header_problems == [HeaderProblem("duplicate", "staff_trained", Location("Strategy", row, "A"))]


def test_dates_and_numbers_are_kept_raw(tmp_path: Path) -> None:
    children = [
        sample_child(1, date_of_birth=date(2010, 5, 1), identified_on=datetime(2025, 5, 2, 0, 0)),
        sample_child(2, date_of_birth="2011-06-30", identified_on="02/05/2025"),
        sample_child(3, missing_episodes=2, date_of_birth=" 01/02/2012 "),
        sample_child(4, missing_episodes="3", local_child_id=12345),
    ]
    frame = read_return(_write(tmp_path / "r.xlsx", children)).table("Children").frame
    assert isinstance(frame.loc[2, "date_of_birth"], date)
    assert frame.loc[2, "date_of_birth"] == date(2010, 5, 1) or frame.loc[2, "date_of_birth"] == datetime(2010, 5, 1)
    assert frame.loc[3, "date_of_birth"] == "2011-06-30"
    assert frame.loc[3, "identified_on"] == "02/05/2025"
    assert frame.loc[4, "date_of_birth"] == "01/02/2012"  # stripped
    assert frame.loc[4, "missing_episodes"] == 2.0
    assert frame.loc[5, "missing_episodes"] == "3"
    assert frame.loc[5, "local_child_id"] == 12345.0  # calamine gives whole numbers as float


def test_blank_strings_become_none_and_blank_rows_are_dropped(tmp_path: Path) -> None:
    children = [sample_child(1, sex="   "), {}, sample_child(3)]
    table = read_return(_write(tmp_path / "r.xlsx", children)).table("Children")
    assert list(table.frame.index) == [2, 4]
    assert table.frame.loc[2, "sex"] is None
    assert table.frame.loc[2, "upn"] is None


def test_blank_keyvalue_rows_are_skipped_and_a_missing_header_row_is_tolerated(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.xlsx")
    workbook = openpyxl.load_workbook(path)
    about = workbook["About"]
    about.insert_rows(4)
    about.delete_rows(1)  # no `field`,`value` header: row 1 is standard_version
    workbook.save(path)
    sheet = read_return(path).keyvalue("About")
    assert sheet.header_problems == []
    assert sheet.locations["standard_version"] == Location("About", 1, "B")
    assert sheet.locations["period"] == Location("About", 5, "B")


def test_empty_children_sheet_gives_an_empty_frame(tmp_path: Path) -> None:
    table = read_return(_write(tmp_path / "r.xlsx", [])).table("Children")
    assert table.frame.empty
    assert list(table.frame.columns) == list(STANDARD.sheet("Children").field_names)


def test_blank_header_column_with_data_is_a_problem(tmp_path: Path) -> None:
    header = [*STANDARD.sheet("Children").field_names[:3], "", *STANDARD.sheet("Children").field_names[3:]]
    path = _write(tmp_path / "r.xlsx", children_header=header)
    workbook = openpyxl.load_workbook(path)
    workbook["Children"]["D2"] = "stray"
    workbook.save(path)
    problems = read_return(path).table("Children").header_problems
    assert problems == [HeaderProblem("unknown", "", Location("Children", 1, "D"))]


@pytest.mark.parametrize(("written", "expected"), [("1.0", "1.0"), (1.0, "1.0"), (1, "1.0"), (" 1.0 ", "1.0")])
def test_standard_version_as_text_or_number(tmp_path: Path, written: object, expected: str) -> None:
    result = read_return(_write(tmp_path / "r.xlsx", about=sample_about(standard_version=written)))
    assert result.standard_version == expected


def test_blank_version_falls_back_to_the_latest_and_stays_blank_for_validation(tmp_path: Path) -> None:
    result = read_return(_write(tmp_path / "r.xlsx", about=sample_about(standard_version=None)))
    assert result.standard_version == latest_version()
    assert result.keyvalue("About").values["standard_version"] is None


def test_unknown_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Refused) as refused:
        read_return(_write(tmp_path / "r.xlsx", about=sample_about(standard_version="9.9")))
    assert refused.value.refusal == "REF-VERSION"
    assert "9.9" in str(refused.value) and "1.0" in str(refused.value)


def test_official_template_is_recognised(tmp_path: Path) -> None:
    from reports.template import write_template

    path = write_template("E06000001", "2025-Q1", tmp_path / "template.xlsx")
    result = read_return(path)
    assert result.from_template is True
    assert result.standard_version == "1.0"
    assert result.keyvalue("About").values["council_code"] == "E06000001"
    assert list(result.table("Children").columns) == list(STANDARD.sheet("Children").field_names)
    assert result.table("Children").frame.empty
    assert "Lists" not in result.sheets


def test_template_marker_version_is_used_when_about_has_none(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.xlsx", about=sample_about(standard_version=None))
    workbook = openpyxl.load_workbook(path)
    lists = workbook.create_sheet("Lists")
    lists["A1"], lists["B1"] = "LSCB return template", "1.0"
    lists.sheet_state = "hidden"
    workbook.save(path)
    result = read_return(path)
    assert result.from_template is True
    assert result.standard_version == "1.0"


def test_visible_lists_sheet_without_the_marker_is_an_extra_sheet(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.xlsx")
    workbook = openpyxl.load_workbook(path)
    workbook.create_sheet("Lists")["A1"] = "my notes"
    workbook.save(path)
    with pytest.raises(Refused) as refused:
        read_return(path)
    assert refused.value.refusal == "REF-SHEETS"
    assert "Lists" in str(refused.value)


def test_sheet_names_tolerate_case_and_spaces(tmp_path: Path) -> None:
    titles = {"About": " about ", "Children": "CHILDREN"}
    result = read_return(_write(tmp_path / "r.xlsx", sheet_titles=titles))
    assert set(result.sheets) == set(STANDARD.sheet_names)
    assert result.table("Children").name == "Children"
    assert result.table("Children").location("sex", 2).cell == "Children!F2"


def test_pandas_written_workbook_reads_like_openpyxl(tmp_path: Path) -> None:
    about, strategy, activity = sample_about(), sample_strategy(), sample_activity()
    children = children_rows(4)
    by_openpyxl = read_return(write_xlsx_return(tmp_path / "a.xlsx", about, strategy, activity, children))
    path = tmp_path / "b.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, values in (("About", about), ("Strategy", strategy), ("Activity", activity)):
            frame = pd.DataFrame({"field": list(values), "value": list(values.values())}, dtype=object)
            frame.to_excel(writer, sheet_name=name, index=False)
        header = list(STANDARD.sheet("Children").field_names)
        pd.DataFrame([[child.get(f) for f in header] for child in children], columns=header, dtype=object).to_excel(
            writer, sheet_name="Children", index=False
        )
    by_pandas = read_return(path)
    for name in ("About", "Strategy", "Activity"):
        assert by_pandas.keyvalue(name).values == by_openpyxl.keyvalue(name).values
        assert by_pandas.keyvalue(name).locations == by_openpyxl.keyvalue(name).locations
    assert by_pandas.table("Children").columns == by_openpyxl.table("Children").columns
    pd.testing.assert_frame_equal(by_pandas.table("Children").frame, by_openpyxl.table("Children").frame)


def test_two_thousand_children_read_quickly(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.xlsx", children_rows(2_000))
    started = time.perf_counter()
    table = read_return(path).table("Children")
    elapsed = time.perf_counter() - started
    assert len(table.frame) == 2_000
    assert table.frame.index[-1] == 2_001
    assert elapsed < 5, f"{elapsed:.2f} s"


def test_unusually_written_sheet_is_scanned_carefully_and_read_the_same(tmp_path: Path) -> None:
    from hostile import rewrite_zip, worksheet_part

    path = _write(tmp_path / "r.xlsx")
    part = worksheet_part(path, "Children")

    def unusual(xml: bytes) -> bytes:  # legal XML the fast scan hands to the careful one
        xml = re.sub(rb'<row r="(\d+)"', rb"<row\tr='\1'", xml)
        return xml.replace(b'<c r="', b'<c  r = "')

    odd = rewrite_zip(path, tmp_path / "odd.xlsx", change={part: unusual})
    assert b"<c  r = " in zipfile.ZipFile(odd).read(part)
    pd.testing.assert_frame_equal(read_return(odd).table("Children").frame, read_return(path).table("Children").frame)


@pytest.mark.parametrize(
    ("cells", "unusual"),
    [
        (b'<c r="A2" t="s"><v>1</v></c><c r="FZ99999"><v>1</v></c>', False),
        (b'<c r="GR200001"><v>1</v></c>', False),  # the last column and row the limits allow
        (b'<c r="GS2"><v>1</v></c>', True),  # column 201
        (b'<c r="A200002"><v>1</v></c>', True),  # row 200,002
        (b'<c r="XFD1048576"><v>1</v></c>', True),
        (b'<c r="A0"><v>1</v></c>', True),
        (b'<c r="a2"><v>1</v></c>', True),
        (b'<c t="s" r="A2"><v>1</v></c>', True),  # r= not first: the careful scan reads it
        (b"<c><v>1</v></c>", True),
        (b'<x:c r="A2"><x:v>1</x:v></x:c>', True),
        (b'<c r="A2"><f>1+1</f><v>2</v></c>', True),
    ],
)
def test_fast_scan_hands_over_every_cell_it_does_not_judge(cells: bytes, unusual: bool) -> None:
    from transforms.ingest.scan import SheetLimits, _FastChecks

    checks = _FastChecks(SheetLimits("Children", max_rows=200_001, max_columns=200))
    assert checks.unusual(b'<row r="2">' + cells + b"</row>") is unusual


def test_fast_scan_of_a_small_sheet_tests_references_exactly() -> None:
    from transforms.ingest.scan import SheetLimits, _FastChecks

    checks = _FastChecks(SheetLimits("About", max_rows=101, max_columns=26))
    assert checks.unusual(b'<row r="2"><c r="B2"><v>1</v></c></row>') is False
    assert checks.unusual(b'<row r="2"><c r="B150"><v>1</v></c></row>') is True  # the quick pattern allows it
    assert checks.unusual(b'<row r="2"><c r="AA2"><v>1</v></c></row>') is True
