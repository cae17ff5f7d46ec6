"""Export safety (issue 16, item 6): what councils typed is never a formula in our CSV/XLSX."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from reports.cell_safety import neutralise
from reports.compile import write_csv, write_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example","open")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"local_child_id": [*HOSTILE, "C001"], "count": [-3, 1, 2, 3, 4, 5, 6]})


@pytest.mark.parametrize("text", HOSTILE)
def test_a_text_that_could_run_is_made_inert(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["C001", "", "a=b", -3, 2.5, None])
def test_other_values_are_untouched(value: object) -> None:
    assert neutralise(value) == value


def test_csv_tables_hold_no_formula(tmp_path: Path) -> None:
    path = write_csv(_frame(), tmp_path / "findings.csv", missing="")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    values = [row[0] for row in rows[1:]]
    assert values == ["'" + text.replace("\r", "\n") for text in HOSTILE] + ["C001"]
    assert [row[1] for row in rows[1:]][0] == "-3"  # a number stays a number


def test_xlsx_tables_hold_no_formula(tmp_path: Path) -> None:
    path = write_xlsx({"findings": _frame()}, tmp_path / "compile.xlsx", notes={"n": "=1+1"})
    with zipfile.ZipFile(path) as archive:
        assert not any(b"<f>" in archive.read(name) for name in archive.namelist() if name.endswith(".xml"))
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["findings"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    # (XML reads a carriage return back as a line feed)
    assert [cell.value for cell in cells] == ["'" + text.replace("\r", "\n") for text in HOSTILE] + ["C001"]
    assert all(cell.data_type == "s" for cell in cells)
    assert sheet["B2"].value == -3
    assert workbook["Notes"]["A2"].value == "'=1+1"
