"""`read_return`: one council file in, a `ReturnFile` out, or `Refused` with a one-line reason.

Steps, cheapest and most dangerous first: size on disk -> first bytes -> zip directory ->
(xlsx) part names, raw part bytes, sheet names -> values -> standard version.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from schemas.standard import Standard, available_versions, latest_version, load_standard
from transforms.checksum import bytes_checksum
from transforms.ingest import csv_bundle, xlsx
from transforms.ingest.archive import Archive
from transforms.ingest.model import ReturnFile, Sheet
from transforms.ingest.refusals import gatekeeper, megabytes, refuse, shown
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
    workbook_sheets = xlsx.check_package(archive, gatekeeper().limits)
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

    sheets: dict[str, Sheet] = {}
    for spec in standard.sheets:
        clock.lap("frames")
        rows = about_rows if spec.name == VERSION_SHEET else values.rows(names[spec.name])
        clock.lap("values")
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
    )


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
