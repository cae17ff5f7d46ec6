"""The template opens and re-saves cleanly in LibreOffice, and keeps what ingest relies on.

Known LibreOffice behaviour (7.x, headless): on export it clips data-validation ranges to the
last used row + 1000 (so an empty template keeps validations on rows 2..1001, a filled one on
its rows plus 1000 more), and a headless conversion has no view, so the frozen header pane is
not written back. Neither matters to ingest: validation never depends on the drop-downs.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from reports.template import LISTS_SHEET, MARKER_TEXT, write_template
from schemas.standard import load_standard

STANDARD = load_standard("1.0")
TIMEOUT_SECONDS = 180

pytestmark = pytest.mark.slow


def _libreoffice() -> str:
    found = shutil.which("libreoffice") or shutil.which("soffice")
    if found is None:  # never skip: a missing LibreOffice is a broken test environment
        pytest.fail("LibreOffice is not installed (apt package libreoffice-calc-nogui)")
    return found


def _resave(source: Path, workdir: Path) -> Path:
    """Open and re-save `source` as XLSX in LibreOffice, with a profile of its own."""
    profile = workdir / f"lo-profile-{uuid.uuid4().hex}"
    outdir = workdir / "resaved"
    outdir.mkdir()
    command = [
        _libreoffice(),
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        "xlsx",
        "--outdir",
        str(outdir),
        str(source),
    ]
    env = {**os.environ, "HOME": str(workdir)}
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=env, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    resaved = outdir / source.name
    assert result.returncode == 0 and resaved.is_file(), (result.returncode, result.stdout, result.stderr)
    return resaved


@pytest.fixture(scope="module")
def resaved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("libreoffice")
    source = write_template("E06000001", "2025-Q1", workdir / "return.xlsx")
    return _resave(source, workdir)


def test_resaved_template_keeps_sheets_marker_and_prefill(resaved: Path) -> None:
    workbook = openpyxl.load_workbook(resaved)
    assert workbook.sheetnames == [*STANDARD.sheet_names, LISTS_SHEET]
    lists = workbook[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    assert (lists["A1"].value, str(lists["B1"].value)) == (MARKER_TEXT, "1.0")
    assert workbook.defined_names["LSCB_STANDARD_VERSION"].attr_text == "Lists!$B$1"
    about = workbook["About"]
    values = {about.cell(row=r, column=1).value: about.cell(row=r, column=2).value for r in range(2, about.max_row + 1)}
    assert values["standard_version"] == "1.0"
    assert values["council_code"] == "E06000001"
    assert values["la_number"] == "805"  # still text, not the number 805
    assert values["period"] == "2025-Q1"
    children = workbook["Children"]
    assert [c.value for c in children[1]] == list(STANDARD.sheet("Children").field_names)
    assert children.max_row == 1


def test_resaved_template_keeps_validations_and_protection(resaved: Path) -> None:
    workbook = openpyxl.load_workbook(resaved)
    for sheet in STANDARD.sheets:
        ws = workbook[sheet.name]
        assert ws.protection.sheet, sheet.name
        by_cell = {
            rng.coord.split(":")[0]: dv for dv in ws.data_validations.dataValidation for rng in dv.sqref.ranges
        }
        for index, field_ in enumerate(sheet.fields):
            cell = f"{get_column_letter(index + 1)}2" if sheet.layout == "table" else f"B{index + 2}"
            dv = by_cell[cell]
            assert dv.prompt == field_.hint, field_.ref
            if field_.codes:
                assert dv.type == "list" and dv.formula1.startswith(f"{LISTS_SHEET}!"), field_.ref
            elif field_.type == "date":
                assert dv.type == "date", field_.ref
            elif field_.type == "integer":
                assert dv.type == "whole", field_.ref
        if sheet.layout == "table":
            # LibreOffice keeps at least 1000 rows of validation past the last used row
            assert all(
                rng.max_row >= 1001 for dv in ws.data_validations.dataValidation for rng in dv.sqref.ranges
            )
            assert ws["A1"].protection.locked
            assert ws.column_dimensions["A"].protection.locked is False
        else:
            assert ws["A2"].protection.locked and ws["B2"].protection.locked is False


def test_ingest_reads_the_resaved_template_as_a_template(resaved: Path) -> None:
    ingest = importlib.import_module("transforms.ingest")
    read_return = getattr(ingest, "read_return", None)
    if read_return is None:
        # ingest is being built in parallel; until it lands, the marker checks above stand in.
        assert os.environ.get("CI") != "true", "transforms.ingest.read_return is missing"
        return
    ret = read_return(resaved)
    assert ret.from_template is True
    assert ret.standard_version == "1.0"
    assert ret.keyvalue("About").values["council_code"] == "E06000001"
    assert list(ret.table("Children").columns) == list(STANDARD.sheet("Children").field_names)
