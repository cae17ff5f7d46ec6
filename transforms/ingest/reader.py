"""`read_return`: one council file in, a `ReturnFile` out, or `Refused` with a one-line reason.

Steps, cheapest and most dangerous first: size on disk -> first bytes -> zip directory ->
(xlsx) part names, raw part bytes, sheet names -> values -> standard version.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from schemas.standard import Standard, available_versions, latest_version, load_standard
from transforms.checksum import bytes_checksum
from transforms.findings import column_letter
from transforms.ingest import csv_bundle, xlsx
from transforms.ingest.archive import Archive
from transforms.ingest.model import Hidden, ReturnFile, Sheet
from transforms.ingest.refusals import gatekeeper, megabytes, refuse, shown
from transforms.ingest.scan import SheetNotes, column_number
from transforms.ingest.sheets import Row, build_keyvalue, build_table, find_value
from transforms.ingest.sniff import sniff

VERSION_FIELD = "standard_version"
VERSION_SHEET = "About"


def base_name(name: str) -> str:
    """The file's own name, whatever path (POSIX or Windows) came with it."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def read_return(path: str | Path, display_name: str | None = None) -> ReturnFile:
    """Read a council's return (xlsx workbook or CSV bundle) safely.

    Raises `Refused` (refusal id from the standard, one-line message naming no cell value) for
    files that are not returns, are hostile, or are out of bounds. Everything else, including
    unknown or repeated headers, is left for validation to report.
    """
    path = Path(path)
    source_name = base_name(display_name) if display_name else path.name
    limits = gatekeeper().limits
    size = os.stat(path).st_size
    if size > limits.max_upload_bytes:
        raise _too_large_file(size, source_name)
    with path.open("rb") as handle:
        data = handle.read(limits.max_upload_bytes + 1)  # the size on disk may not be the truth
    if len(data) > limits.max_upload_bytes:
        raise _too_large_file(len(data), source_name)
    sniff(data, source_name)
    checksum = bytes_checksum(data)

    label = "zip"
    archive = Archive(data, limits, source_name, label)
    if xlsx.is_xlsx(archive):
        archive.label = xlsx.LABEL
        return _read_xlsx(archive, checksum, len(data))
    if not csv_bundle.has_csv(archive):
        raise refuse("REF-FORMAT", source_name)
    archive.label = csv_bundle.LABEL
    return _read_csv_bundle(archive, checksum, len(data))


def _too_large_file(size: int, source_name: str) -> Exception:
    limit = gatekeeper().limits.max_upload_bytes
    return refuse(
        "REF-TOO-LARGE", source_name, what="The file", detail=f"{megabytes(size)}; at most {megabytes(limit)}"
    )


def _resolve_version(about_rows: list[Row], fallback: str | None, source_name: str) -> Standard:
    declared = xlsx.version_text(find_value(about_rows, VERSION_FIELD))
    version = declared or fallback or latest_version()
    if version not in available_versions():
        raise refuse("REF-VERSION", source_name, version=shown(version, 40), known=", ".join(available_versions()))
    return load_standard(version)


class _Clock:
    """Seconds per phase of a read (ReturnFile.timings)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - self._last
        self._last = now


def _read_xlsx(archive: Archive, checksum: str, size: int) -> ReturnFile:
    source = archive.source_name
    clock = _Clock()
    notes: dict[str, SheetNotes] = {}
    workbook_sheets = xlsx.check_package(archive, gatekeeper().limits, notes)
    names, lists = xlsx.match_sheets(workbook_sheets, gatekeeper().sheet_names, source)
    clock.lap("checks")
    values = xlsx.WorkbookValues(archive)
    marker = values.template_version(lists)
    if lists is not None and marker is False and not lists.hidden:
        raise refuse(
            "REF-SHEETS",
            source,
            detail=f"The workbook has a sheet '{shown(lists.name, 40)}' that the return does not have; remove it.",
        )
    from_template = marker is not False
    about_rows = values.rows(names[VERSION_SHEET])
    standard = _resolve_version(about_rows, marker if isinstance(marker, str) else None, source)
    if set(standard.sheet_names) != set(names):
        names, _ = xlsx.match_sheets(workbook_sheets, standard.sheet_names, source)
    clock.lap("values")

    by_name = {sheet.name: sheet for sheet in workbook_sheets}
    error_cells: dict[str, str] = {}
    hidden: list[Hidden] = []
    sheets: dict[str, Sheet] = {}
    for spec in standard.sheets:
        clock.lap("frames")
        rows = about_rows if spec.name == VERSION_SHEET else values.rows(names[spec.name])
        clock.lap("values")
        workbook_sheet = by_name.get(names[spec.name])
        sheet_notes = notes.get((workbook_sheet.part or "").lower()) if workbook_sheet else None
        if workbook_sheet is not None and workbook_sheet.hidden:
            hidden.append(Hidden(spec.name, "sheet"))
        if sheet_notes is not None:
            rows = _with_errors(rows, sheet_notes, spec.name, error_cells)
            hidden.extend(_hidden_parts(spec.name, sheet_notes))
        if spec.layout == "keyvalue":
            sheets[spec.name] = build_keyvalue(spec, rows)
        else:
            header = rows[0][1] if rows else []
            sheets[spec.name] = build_table(spec, header, rows[1:])
    clock.lap("frames")
    return ReturnFile(
        source_name=source,
        format="xlsx",
        checksum=checksum,
        size_bytes=size,
        standard_version=standard.version,
        sheets=sheets,
        from_template=from_template,
        timings=clock.timings,
        error_cells=error_cells,
        hidden=hidden,
    )


def _with_errors(rows: list[Row], notes: SheetNotes, sheet: str, found: dict[str, str]) -> list[Row]:
    """The rows with each Excel error cell holding the error's text ("#REF!"), which calamine
    reads as a blank: a broken reference is reported, never taken for a value left out."""
    if not notes.error_cells:
        return rows
    by_row = {number: index for index, (number, _) in enumerate(rows)}
    out = list(rows)
    for reference, text in notes.error_cells.items():
        parsed = re.fullmatch(r"([A-Z]{1,3})(\d{1,7})", reference)
        if parsed is None:
            continue
        column, number = column_number(parsed.group(1).encode()) - 1, int(parsed.group(2))
        if number not in by_row:
            continue
        position = by_row[number]
        cells = list(out[position][1])
        cells.extend([None] * (column + 1 - len(cells)))
        cells[column] = text
        out[position] = (number, cells)
        found[f"{sheet}!{reference}"] = text
    return out


def _hidden_parts(sheet: str, notes: SheetNotes) -> list[Hidden]:
    parts: list[Hidden] = []
    if notes.hidden_rows:
        rows = sorted(set(notes.hidden_rows))
        parts.append(Hidden(sheet, "rows", tuple(str(r) for r in rows[:5]), len(rows)))
    if notes.hidden_columns:
        spans = sorted((max(1, first), min(max(first, last), 16_384)) for first, last in notes.hidden_columns)
        merged: list[list[int]] = []
        for first, last in spans:  # overlapping <col> spans counted once
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        shown_letters = [c for first, last in merged for c in range(first, min(last, first + 4) + 1)][:5]
        count = sum(last - first + 1 for first, last in merged)
        parts.append(Hidden(sheet, "columns", tuple(column_letter(c - 1) for c in shown_letters), count))
    return parts


def _read_csv_bundle(archive: Archive, checksum: str, size: int) -> ReturnFile:
    source = archive.source_name
    clock = _Clock()
    limits = gatekeeper().limits
    members = csv_bundle.match_members(archive, gatekeeper().sheets)
    clock.lap("checks")
    about_rows = csv_bundle.read_rows(archive, members[VERSION_SHEET], limits)
    standard = _resolve_version(about_rows, None, source)
    if set(standard.sheet_names) != set(members):
        members = csv_bundle.match_members(archive, standard.sheets)
    clock.lap("values")
    sheets: dict[str, Sheet] = {}
    for spec in standard.sheets:
        member = csv_bundle.BundleMember(spec, members[spec.name].info)
        clock.lap("frames")
        rows = about_rows if spec.name == VERSION_SHEET else csv_bundle.read_rows(archive, member, limits)
        clock.lap("values")  # the checks of a CSV member are made as it is read
        if spec.layout == "keyvalue":
            sheets[spec.name] = build_keyvalue(spec, rows)
        else:
            header = rows[0][1] if rows else []
            sheets[spec.name] = build_table(spec, header, rows[1:])
    clock.lap("frames")
    return ReturnFile(
        source_name=source,
        format="csv",
        checksum=checksum,
        size_bytes=size,
        standard_version=standard.version,
        sheets=sheets,
        from_template=False,
        timings=clock.timings,
    )
