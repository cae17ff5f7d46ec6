"""Safe ingest, CSV bundles: members, encodings Excel saves, delimiters, positions, limits."""

from __future__ import annotations

import codecs
import os
import time
from pathlib import Path

import pandas as pd
import pytest
from builders import (
    children_rows,
    csv_texts,
    sample_about,
    sample_activity,
    sample_child,
    sample_strategy,
    write_csv_bundle,
    write_xlsx_return,
)
from hostile import honest, write_raw_zip

from schemas.standard import load_standard
from transforms.ingest import HeaderProblem, Location, Refused, read_return

STANDARD = load_standard("1.0")


def _bundle(path: Path, children: list[dict[str, object]] | None = None, **kwargs: object) -> Path:
    return write_csv_bundle(
        path,
        sample_about(),
        sample_strategy(),
        sample_activity(),
        children if children is not None else children_rows(3),
        **kwargs,  # type: ignore[arg-type]
    )


def _refused(path: Path) -> Refused:
    started = time.perf_counter()
    with pytest.raises(Refused) as error:
        read_return(path)
    assert time.perf_counter() - started < 5
    assert "\n" not in str(error.value)
    return error.value


def test_bundle_reads_as_strings_with_positions(tmp_path: Path) -> None:
    children = children_rows(11)
    children[10]["sex"] = "X"
    result = read_return(_bundle(tmp_path / "return.zip", children))
    assert result.format == "csv"
    assert result.standard_version == "1.0"
    assert result.from_template is False
    table = result.table("Children")
    assert table.location("sex", 12).cell == "Children!F12"
    assert table.frame.loc[12, "sex"] == "X"
    assert table.frame.loc[2, "missing_episodes"] == "0"  # CSV values are text
    assert table.frame.loc[2, "upn"] is None  # empty -> None
    about = result.keyvalue("About")
    assert about.values["period"] == "2025-Q1"
    assert about.locations["period"] == Location("About", 5, "B")


def test_bundle_and_workbook_hold_the_same_text_values(tmp_path: Path) -> None:
    about = {k: str(v) for k, v in sample_about().items()}
    strategy = {k: str(v) for k, v in sample_strategy().items()}
    activity = {k: str(v) for k, v in sample_activity().items()}
    children = [{k: (None if v is None else str(v)) for k, v in child.items()} for child in children_rows(3)]
    workbook = read_return(write_xlsx_return(tmp_path / "r.xlsx", about, strategy, activity, children))
    bundle = read_return(write_csv_bundle(tmp_path / "r.zip", about, strategy, activity, children))
    for name in ("About", "Strategy", "Activity"):
        assert workbook.keyvalue(name).values == bundle.keyvalue(name).values
        assert workbook.keyvalue(name).locations == bundle.keyvalue(name).locations
    pd.testing.assert_frame_equal(workbook.table("Children").frame, bundle.table("Children").frame)


def test_files_inside_one_folder_and_mac_clutter_are_fine(tmp_path: Path) -> None:
    clutter = {"__MACOSX/return/._about.csv": b"\x00\x05\x16\x07", "return/.DS_Store": b"\x00\x00\x00\x01Bud1"}
    result = read_return(_bundle(tmp_path / "r.zip", folder="return", extra=clutter))
    assert len(result.table("Children").frame) == 3


def test_file_names_match_case_insensitively(tmp_path: Path) -> None:
    texts = csv_texts(sample_about(), sample_strategy(), sample_activity(), children_rows(1))
    path = write_raw_zip(tmp_path / "r.zip", [honest(name.upper(), text.encode()) for name, text in texts.items()])
    assert read_return(path).keyvalue("About").values["council_code"] == "E06000001"


def test_missing_member_is_named(tmp_path: Path) -> None:
    error = _refused(_bundle(tmp_path / "r.zip", omit=["children.csv"]))
    assert error.refusal == "REF-SHEETS"
    assert "children.csv" in str(error)


def test_unknown_extra_csv_is_named(tmp_path: Path) -> None:
    error = _refused(_bundle(tmp_path / "r.zip", extra={"notes.csv": b"a,b\n"}))
    assert error.refusal == "REF-SHEETS"
    assert "notes.csv" in str(error)


def test_files_scattered_over_folders_are_refused(tmp_path: Path) -> None:
    texts = csv_texts(sample_about(), sample_strategy(), sample_activity(), [])
    members = [honest(f"{i}/{name}", text.encode()) for i, (name, text) in enumerate(texts.items())]
    assert _refused(write_raw_zip(tmp_path / "r.zip", members)).refusal == "REF-SHEETS"


def test_windows_1252_is_read_correctly(tmp_path: Path) -> None:
    about = sample_about(signed_off_by="Chair, Café £ committee")
    path = write_csv_bundle(tmp_path / "r.zip", about, sample_strategy(), sample_activity(), [], encoding="cp1252")
    assert read_return(path).keyvalue("About").values["signed_off_by"] == "Chair, Café £ committee"


def test_utf8_with_bom(tmp_path: Path) -> None:
    about = sample_about(signed_off_by="Café £")
    path = write_csv_bundle(tmp_path / "r.zip", about, sample_strategy(), sample_activity(), [], encoding="utf-8-sig")
    result = read_return(path)
    assert result.keyvalue("About").values["signed_off_by"] == "Café £"
    assert result.keyvalue("About").header_problems == []  # the BOM is not part of the first header


def test_utf8_without_bom(tmp_path: Path) -> None:
    about = sample_about(signed_off_by="Zoë — chair")
    path = write_csv_bundle(tmp_path / "r.zip", about, sample_strategy(), sample_activity(), [], encoding="utf-8")
    assert read_return(path).keyvalue("About").values["signed_off_by"] == "Zoë — chair"


@pytest.mark.parametrize(("bom", "codec"), [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_utf16_with_bom(tmp_path: Path, bom: bytes, codec: str) -> None:
    texts = csv_texts(sample_about(signed_off_by="Café £"), sample_strategy(), sample_activity(), children_rows(2))
    raw = {name: bom + text.encode(codec) for name, text in texts.items()}
    result = read_return(_bundle(tmp_path / "r.zip", raw=raw))
    assert result.keyvalue("About").values["signed_off_by"] == "Café £"
    assert result.table("Children").frame.loc[3, "local_child_id"] == "C00002"


def test_bytes_that_are_neither_utf8_nor_cp1252_are_refused(tmp_path: Path) -> None:
    raw = {"about.csv": b"field,value\nsigned_off_by,\x81\x8d\x90\n"}  # undefined in cp1252, invalid UTF-8
    error = _refused(_bundle(tmp_path / "r.zip", raw=raw))
    assert error.refusal == "REF-ENCODING"
    assert "about.csv" in str(error)


def test_utf16_without_bom_is_refused_not_misread(tmp_path: Path) -> None:
    raw = {"strategy.csv": "field,value\ncse_strategy,NONE\n".encode("utf-16-le")}
    assert _refused(_bundle(tmp_path / "r.zip", raw=raw)).refusal == "REF-ENCODING"


def test_binary_member_is_refused(tmp_path: Path) -> None:
    raw = {"children.csv": b"\x89PNG\r\n\x1a\n" + bytes(range(256))}
    assert _refused(_bundle(tmp_path / "r.zip", raw=raw)).refusal == "REF-ENCODING"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolon_and_tab_delimiters(tmp_path: Path, delimiter: str) -> None:
    children = [sample_child(1, signed="x")]
    result = read_return(_bundle(tmp_path / "r.zip", children, delimiter=delimiter))
    assert result.keyvalue("About").values["council_code"] == "E06000001"
    assert result.table("Children").frame.loc[2, "sex"] == "F"


def test_header_tolerance_and_problems(tmp_path: Path) -> None:
    header = ["Local Child ID", "SEX ", "shoe_size", "sex"]
    children = [{"Local Child ID": "A1", "SEX ": "M", "shoe_size": "5", "sex": "F"}]
    table = read_return(_bundle(tmp_path / "r.zip", children, children_header=header)).table("Children")
    assert table.columns == {"local_child_id": "A", "sex": "B"}
    assert table.frame.loc[2, "sex"] == "M"
    assert table.header_problems == [
        HeaderProblem("unknown", "shoe_size", Location("Children", 1, "C")),
        HeaderProblem("duplicate", "sex", Location("Children", 1, "D")),
    ]


def test_dates_stay_as_written(tmp_path: Path) -> None:
    children = [sample_child(1, date_of_birth="01/05/2010", identified_on="2025-05-02")]
    frame = read_return(_bundle(tmp_path / "r.zip", children)).table("Children").frame
    assert frame.loc[2, "date_of_birth"] == "01/05/2010"
    assert frame.loc[2, "identified_on"] == "2025-05-02"


def test_quoted_values_with_commas_and_blank_lines(tmp_path: Path) -> None:
    text = 'local_child_id,sex\r\n"A, 1",F\r\n\r\n  B2  ,M\r\n'
    result = read_return(_bundle(tmp_path / "r.zip", raw={"children.csv": text.encode()}))
    frame = result.table("Children").frame
    assert list(frame.index) == [2, 4]
    assert frame.loc[2, "local_child_id"] == "A, 1"
    assert frame.loc[4, "local_child_id"] == "B2"


def test_too_many_rows_is_refused_while_streaming(tmp_path: Path) -> None:
    limit = STANDARD.limits.max_children_rows
    body = b"local_child_id\r\n" + b"".join(f"C{i}\r\n".encode() for i in range(limit + 1))
    error = _refused(_bundle(tmp_path / "r.zip", raw={"children.csv": body}))
    assert error.refusal == "REF-TOO-LARGE"
    assert "children.csv" in str(error)


def test_too_many_columns_is_refused(tmp_path: Path) -> None:
    body = ",".join(f"c{i}" for i in range(STANDARD.limits.max_columns + 1)).encode() + b"\r\n"
    assert _refused(_bundle(tmp_path / "r.zip", raw={"activity.csv": body})).refusal == "REF-TOO-LARGE"


def test_one_enormous_line_is_refused(tmp_path: Path) -> None:
    body = b"field,value\r\nperiod," + os.urandom(1_500_000).hex().encode()  # incompressible
    assert _refused(_bundle(tmp_path / "r.zip", raw={"about.csv": body})).refusal == "REF-TOO-LARGE"


def test_unknown_version_in_a_bundle(tmp_path: Path) -> None:
    path = write_csv_bundle(
        tmp_path / "r.zip", sample_about(standard_version="2.7"), sample_strategy(), sample_activity(), []
    )
    error = _refused(path)
    assert error.refusal == "REF-VERSION"
    assert "2.7" in str(error)


def test_a_value_longer_than_any_field_needs_is_refused(tmp_path: Path) -> None:
    body = b"local_child_id,sex\r\nC1," + b"M" * (STANDARD.limits.max_cell_chars + 1) + b"\r\n"
    error = _refused(_bundle(tmp_path / "r.zip", raw={"children.csv": body}))
    assert error.refusal == "REF-TEXT"
    assert "children.csv" in str(error)


def test_a_value_at_the_limit_is_read(tmp_path: Path) -> None:
    body = b"local_child_id,sex\r\nC1," + b"M" * STANDARD.limits.max_cell_chars + b"\r\n"
    assert len(read_return(_bundle(tmp_path / "r.zip", raw={"children.csv": body})).table("Children").frame) == 1
