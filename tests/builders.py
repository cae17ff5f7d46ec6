"""Build council return files at test time (never commit binary fixtures).

Import from a test as `from builders import ...` (pytest puts `tests/` on sys.path because
`tests/conftest.py` lives there).

- `write_xlsx_return(path, about, strategy, activity, children)`: a four-sheet workbook written
  with openpyxl, laid out as the standard says (key/value sheets: `field`,`value` header then one
  field a row; Children: header row of field names, one child a row).
- `write_csv_bundle(path, about, strategy, activity, children, encoding="utf-8")`: a zip of the
  four CSV files.
- `sample_about()`, `sample_strategy()`, `sample_activity()`, `sample_child()`: plausible values
  for one return, to be overridden per test.

Field names and sheet names come from the schema, so the builders follow the standard when it
changes; tests pass `dict`s and may add unknown fields or leave fields out on purpose.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from schemas.standard import load_standard

STANDARD = load_standard("1.0")


def sample_about(**overrides: Any) -> dict[str, Any]:
    """About values for Hartlepool (E06000001, LA 805), 2025-Q1."""
    values: dict[str, Any] = {
        "standard_version": "1.0",
        "council_code": "E06000001",
        "la_number": "805",
        "period": "2025-Q1",
        "prepared_by_email": "data.officer@example.gov.uk",
        "signed_off_by": "LSCB chair",
        "signed_off_on": date(2025, 7, 10),
    }
    values.update(overrides)
    return values


def sample_strategy(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "cse_strategy": "IN_PLACE",
        "strategy_reviewed_on": date(2025, 1, 15),
        "cse_lead_named": "Y",
        "multi_agency_team": "CO_LOCATED",
        "team_police": "Y",
        "team_health": "Y",
        "team_social_care": "Y",
        "team_education": "Y",
        "team_youth_justice": "N",
        "team_voluntary": "N",
        "info_sharing_protocol": "SIGNED",
        "protocol_includes_health": "Y",
        "staff_trained": 12,
    }
    values.update(overrides)
    return values


def sample_activity(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: 0 for name in STANDARD.sheet("Activity").field_names}
    values.update({"children_newly_identified": 1, "children_open_at_end": 1})
    values.update(overrides)
    return values


def sample_child(number: int = 1, **overrides: Any) -> dict[str, Any]:
    """One child's row. Identifier values are synthetic; `upn`/`nhs_number` are left out."""
    values: dict[str, Any] = {
        "local_child_id": f"C{number:05d}",
        "no_id_reason": "NOT_KNOWN",
        "date_of_birth": date(2010, 5, 1),
        "sex": "F",
        "ethnicity": "WBRI",
        "identified_on": date(2025, 5, 2),
        "risk_level": "MEDIUM",
        "looked_after": "N",
        "missing_episodes": 0,
        "return_interview_offered": None,
        "referred_to_police": "N",
    }
    for name in STANDARD.sheet("Children").field_names:
        if name.startswith("ind_"):
            values[name] = "N"
    values.update(overrides)
    return values


def _children_header(children: Sequence[Mapping[str, Any]], header: Sequence[str] | None) -> list[str]:
    if header is not None:
        return list(header)
    names = list(STANDARD.sheet("Children").field_names)
    for child in children:  # unknown keys (deliberate mistakes) go after the standard's fields
        names.extend(key for key in child if key not in names)
    return names


def write_xlsx_return(
    path: str | Path,
    about: Mapping[str, Any],
    strategy: Mapping[str, Any],
    activity: Mapping[str, Any],
    children: Sequence[Mapping[str, Any]],
    *,
    children_header: Sequence[str] | None = None,
    header_labels: Mapping[str, str] | None = None,
    extra_sheets: Iterable[str] = (),
    omit_sheets: Iterable[str] = (),
    sheet_titles: Mapping[str, str] | None = None,
) -> Path:
    """Write a return workbook with openpyxl and return its path.

    - `about`, `strategy`, `activity`: field -> value, written one a row from row 2 in the
      dict's order (row 1 is `field`, `value`). So the n-th key sits in row n + 1.
    - `children`: one dict per child; row 2 is the first child. Missing keys are blank cells.
    - `children_header`: the Children header row as written (default: every standard field in
      schema order, then unknown keys in the order they first appear). A header that is not a
      key of the dicts gives a blank column.
    - `header_labels`: canonical field -> the text written in its header cell (e.g.
      {"local_child_id": "Local Child ID"}); the dicts still use canonical names.
    - `extra_sheets`, `omit_sheets`, `sheet_titles` (standard name -> title written): for
      structure tests.
    Values are written as given: `date` as real dates, `str` as text, numbers as numbers.
    """
    labels = dict(header_labels or {})
    titles = dict(sheet_titles or {})
    omitted = set(omit_sheets)
    workbook = Workbook(write_only=True)  # streams rows: ~2x faster for big test files
    for sheet, values in (("About", about), ("Strategy", strategy), ("Activity", activity)):
        if sheet in omitted:
            continue
        worksheet = workbook.create_sheet(titles.get(sheet, sheet))
        worksheet.append(["field", "value"])
        for name, value in values.items():
            worksheet.append([labels.get(name, name), value])
    if "Children" not in omitted:
        worksheet = workbook.create_sheet(titles.get("Children", "Children"))
        header = _children_header(children, children_header)
        worksheet.append([labels.get(name, name) for name in header])
        for child in children:
            worksheet.append([child.get(name) for name in header])
    for name in extra_sheets:
        workbook.create_sheet(name)
    path = Path(path)
    workbook.save(path)
    return path


def _csv_text(rows: Iterable[Sequence[Any]], delimiter: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if value is None else _csv_value(value) for value in row])
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_texts(
    about: Mapping[str, Any],
    strategy: Mapping[str, Any],
    activity: Mapping[str, Any],
    children: Sequence[Mapping[str, Any]],
    *,
    children_header: Sequence[str] | None = None,
    delimiter: str = ",",
) -> dict[str, str]:
    """The four CSV files' text by file name (the schema's `csv_file`), before encoding."""
    texts: dict[str, str] = {}
    for sheet, values in (("About", about), ("Strategy", strategy), ("Activity", activity)):
        rows = [["field", "value"], *([name, value] for name, value in values.items())]
        texts[STANDARD.sheet(sheet).csv_file] = _csv_text(rows, delimiter)
    header = _children_header(children, children_header)
    rows = [header, *([child.get(name) for name in header] for child in children)]
    texts[STANDARD.sheet("Children").csv_file] = _csv_text(rows, delimiter)
    return texts


def write_csv_bundle(
    path: str | Path,
    about: Mapping[str, Any],
    strategy: Mapping[str, Any],
    activity: Mapping[str, Any],
    children: Sequence[Mapping[str, Any]],
    *,
    encoding: str = "utf-8",
    children_header: Sequence[str] | None = None,
    delimiter: str = ",",
    folder: str = "",
    omit: Iterable[str] = (),
    extra: Mapping[str, bytes] | None = None,
    raw: Mapping[str, bytes] | None = None,
) -> Path:
    """Write a CSV bundle (.zip) and return its path.

    - Same value conventions as `write_xlsx_return`; dates are written ISO (YYYY-MM-DD), so
      pass a string such as "02/05/2025" to test DD/MM/YYYY.
    - `encoding`: any Python codec, e.g. "utf-8", "utf-8-sig" (with BOM), "utf-16" (BOM,
      native order), "utf-16-le" / "utf-16-be" (no BOM: add it via `raw` if wanted), "cp1252".
    - `folder`: put the files inside one top-level folder of the zip.
    - `omit`: file names (e.g. "children.csv") to leave out; `extra`: more members, name ->
      bytes (e.g. {"__MACOSX/._about.csv": b"..."}); `raw`: file name -> exact bytes to use
      instead of the generated text.
    """
    texts = csv_texts(about, strategy, activity, children, children_header=children_header, delimiter=delimiter)
    skipped = set(omit)
    prefix = f"{folder.strip('/')}/" if folder else ""
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, text in texts.items():
            if name in skipped:
                continue
            data = (raw or {}).get(name, text.encode(encoding))
            bundle.writestr(prefix + name, data)
        for name, data in (extra or {}).items():
            bundle.writestr(name, data)
    return path


def children_rows(count: int) -> list[dict[str, Any]]:
    """`count` plausible, distinct children (C00001, C00002, ...)."""
    return [sample_child(number) for number in range(1, count + 1)]
