"""An xlsx return: structural checks on the package, then values read with python-calamine.

Order: part names (macros, external links) -> every part's raw bytes (DOCTYPE/ENTITY; in
worksheets formulas and size limits) -> sheet names -> values. Calamine only sees a package
every part of which has been inflated and checked by us, so its reading is bounded too.
"""

from __future__ import annotations

import array
import functools
import io
import posixpath
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import defusedxml.ElementTree as SafeTree
import python_calamine

from schemas.standard import Limits
from transforms.ingest.archive import Archive
from transforms.ingest.model import Refused
from transforms.ingest.refusals import gatekeeper, refuse, shown
from transforms.ingest.scan import (
    SheetLimits,
    SheetNotes,
    TextBudget,
    active_formula,
    check_declarations,
    check_formula_texts,
    check_shared_strings,
    root_element,
    scan_worksheet,
)
from transforms.ingest.sheets import Row, clean, normalise

LABEL = "spreadsheet (.xlsx)"
TEMPLATE_SHEET = "Lists"  # the official template's hidden sheet of code lists and its marker
TEMPLATE_MARKER = "LSCB return template"
MAX_STRUCTURE_PART_BYTES = 8 * 1_048_576  # [Content_Types].xml, workbook.xml and its rels
_MACRO_PART = re.compile(r"(^|/)(vbaproject[^/]*|macrosheets/.*|[^/]*\.bin\.vba)$", re.IGNORECASE)
_MACRO_CONTENT = re.compile(rb"macroEnabled|vbaProject|ms-office\.vbaProject|ms-excel\.macrosheet", re.IGNORECASE)
_WORKSHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)
_WORKSHEET_ROOTS = frozenset({b"worksheet", b"sheetData", b"chartsheet", b"dialogsheet", b"macrosheet"})
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_BINARY_SUFFIXES = (".png", ".jpeg", ".jpg", ".gif", ".emf", ".wmf", ".bin", ".tif", ".tiff", ".bmp")
# links to other files, by what the relationship or the content type says it is (an external
# link part may sit in any folder under any name)
_EXTERNAL_RELATIONSHIP = re.compile(
    rb"""Type\s*=\s*["'][^"']*/(?:externalLink\w*|xlExternalLinkPath\w*|oleObject|attachedTemplate)["']""",
    re.IGNORECASE,
)
_EXTERNAL_CONTENT = re.compile(rb"externalLink|oleObject", re.IGNORECASE)


def is_xlsx(archive: Archive) -> bool:
    return archive.find("[Content_Types].xml") is not None and archive.find("xl/workbook.xml") is not None


@dataclass(frozen=True)
class WorkbookSheet:
    name: str  # as the workbook spells it
    hidden: bool
    part: str | None  # the worksheet part, e.g. xl/worksheets/sheet1.xml (None for other sheet kinds)


def check_package(archive: Archive, limits: Limits, notes: dict[str, SheetNotes] | None = None) -> list[WorkbookSheet]:
    """Every check that needs no cell value. Returns the workbook's sheets in order; fills
    `notes` with each worksheet's error cells and hidden rows and columns, by part name."""
    source = archive.source_name
    for name in archive.names():
        if _MACRO_PART.search(name):
            raise refuse("REF-MACRO", source)
    for name in archive.names():
        if name.lower().startswith("xl/externallinks/"):
            raise refuse("REF-EXTERNAL-LINK", source, part=shown(name, 60))

    content_types = _structure_part(archive, "[Content_Types].xml")
    if _MACRO_CONTENT.search(content_types):
        raise refuse("REF-MACRO", source)
    if _EXTERNAL_CONTENT.search(content_types):
        raise refuse("REF-EXTERNAL-LINK", source, part="[Content_Types].xml")
    workbook_xml = _structure_part(archive, "xl/workbook.xml")
    rels_info = archive.find("xl/_rels/workbook.xml.rels")
    rels_xml = _structure_part(archive, "xl/_rels/workbook.xml.rels") if rels_info else b""
    sheets = _workbook_sheets(archive, workbook_xml, rels_xml)
    _check_defined_names(archive, workbook_xml)

    structure = {"[content_types].xml", "xl/workbook.xml"}
    by_part = {sheet.part.lower(): sheet for sheet in sheets if sheet.part}
    # the texts table wherever the workbook's relationships put it, and at its usual name
    texts = {part.lower() for part in _related_parts(archive, rels_xml, "/sharedStrings")} | {"xl/sharedstrings.xml"}
    worksheets: list[zipfile.ZipInfo] = []
    shared: list[zipfile.ZipInfo] = []
    others: list[tuple[zipfile.ZipInfo, bytes | None]] = []
    for info in archive.members:
        lowered = info.filename.lower()
        if lowered in structure:
            continue
        # what a part is comes from what a reader would take it for: the workbook's
        # relationships (which may point anywhere), its folder, or its root element, found
        # past any prolog however long (a 70 KB comment hides nothing)
        binary = lowered.endswith(_BINARY_SUFFIXES)
        root = None if binary else root_element(archive.stream(info))
        if _WORKSHEET_PART.match(info.filename) or lowered in by_part or root in _WORKSHEET_ROOTS:
            worksheets.append(info)
        elif root == b"sst" or lowered in texts:
            shared.append(info)
        else:
            others.append((info, root))
    # the texts first: a worksheet's cells are costed by the shared texts they use
    lengths: array.array[int] = array.array("L")
    for info in shared:
        lengths.extend(
            check_shared_strings(
                archive.stream(info),
                info.filename,
                source,
                max_references=_max_cells(limits),
                max_cell_chars=limits.max_cell_chars,
            )
        )
    budget = TextBudget(lengths, limits.max_cell_chars, limits.max_text_chars, source)
    for info in worksheets:
        sheet = by_part.get(info.filename.lower())
        scan_limits = _sheet_limits(sheet.name if sheet else None, info.filename, limits)
        found = scan_worksheet(functools.partial(archive.stream, info), scan_limits, source, budget)
        if notes is not None:
            notes[info.filename.lower()] = found
        check_formula_texts(archive.stream(info), info.filename, source)
    for info, root in others:
        lowered = info.filename.lower()
        check_declarations(archive.stream(info), info.filename, source, xml=lowered.endswith(_XML_SUFFIXES))
        if root is not None:
            check_formula_texts(archive.stream(info), info.filename, source)
        if lowered.endswith(".rels") and _mentions(archive.stream(info), _EXTERNAL_RELATIONSHIP):
            raise refuse("REF-EXTERNAL-LINK", source, part=shown(info.filename, 60))
    return sheets


def _mentions(chunks: Iterable[bytes], pattern: re.Pattern[bytes], overlap: int = 4096) -> bool:
    """True when `pattern` (whose matches are shorter than `overlap`) occurs in the stream."""
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        if pattern.search(window):
            return True
        tail = window[-overlap:]
    return False


def _related_parts(archive: Archive, rels_xml: bytes, type_suffix: str) -> list[str]:
    """The parts the workbook's relationships of this type point at."""
    if not rels_xml:
        return []
    try:
        relationships = SafeTree.fromstring(rels_xml)
    except Exception:
        raise archive.corrupt() from None
    parts = []
    for rel in relationships:
        if _local(rel.tag) == "Relationship" and rel.get("Type", "").endswith(type_suffix):
            parts.append(_resolve_target(rel.get("Target", "")))
    return parts


def _resolve_target(target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def _check_defined_names(archive: Archive, workbook_xml: bytes) -> None:
    """A defined name may name cells (the template's version cell, a print area); a DDE call,
    another workbook or a function in one is a formula, refused like a formula in a cell."""
    try:
        workbook = SafeTree.fromstring(workbook_xml)
    except Exception:
        raise archive.corrupt() from None
    for element in workbook.iter():
        if _local(element.tag) == "definedName" and active_formula((element.text or "").encode()):
            name = shown(element.get("name", ""), 40)
            raise refuse("REF-FORMULA-PART", archive.source_name, part=f"the defined name '{name}'")


def _max_cells(limits: Limits) -> int:
    """The most cells a plausible return could fill: every sheet at its row limit."""
    tables = sum(1 for sheet in gatekeeper().sheets if sheet.layout == "table")
    keyvalues = len(gatekeeper().sheets) - tables
    rows = tables * (limits.max_children_rows + 1) + keyvalues * (limits.max_keyvalue_rows + 1)
    return rows * limits.max_columns


def _sheet_limits(sheet_name: str | None, part: str, limits: Limits) -> SheetLimits:
    """Children gets the table limit; a part no sheet points at gets it too (never refuse a
    real Children sheet because its relationship was written in an unexpected way)."""
    tables = {sheet.name.lower() for sheet in gatekeeper().sheets if sheet.layout == "table"}
    is_table = sheet_name is None or sheet_name.strip().lower() in tables
    max_rows = (limits.max_children_rows if is_table else limits.max_keyvalue_rows) + 1
    return SheetLimits(sheet=sheet_name or part, max_rows=max_rows, max_columns=limits.max_columns)


MAX_STRUCTURE_DEPTH = 32  # workbook.xml and its relationships nest 4 deep; no reader needs more


def _structure_part(archive: Archive, name: str) -> bytes:
    info = archive.find(name)
    if info is None:
        raise archive.corrupt()
    if info.file_size > MAX_STRUCTURE_PART_BYTES:
        raise refuse("REF-TOO-LARGE", archive.source_name, what=f"The part {name}", detail=f"{info.file_size:,} bytes")
    data = archive.read(info)
    check_declarations([data], name, archive.source_name, xml=True)
    _check_depth(archive, data)
    return data


def _check_depth(archive: Archive, data: bytes) -> None:
    """Refuse a structure part nested deeper than any workbook is, before it is parsed whole."""
    depth = 0
    try:
        for event, _ in SafeTree.iterparse(io.BytesIO(data), events=("start", "end")):
            depth += 1 if event == "start" else -1
            if depth > MAX_STRUCTURE_DEPTH:
                raise archive.corrupt()
    except Exception as error:  # defusedxml and expat raise several types; any of them means damaged
        if isinstance(error, Refused):
            raise
        raise archive.corrupt() from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _workbook_sheets(archive: Archive, workbook_xml: bytes, rels_xml: bytes) -> list[WorkbookSheet]:
    try:
        workbook = SafeTree.fromstring(workbook_xml)
        relationships = SafeTree.fromstring(rels_xml) if rels_xml else None
    except Exception:  # defusedxml and expat raise several types; any of them means damaged
        raise archive.corrupt() from None
    targets: dict[str, str] = {}
    if relationships is not None:
        for rel in relationships:
            if _local(rel.tag) != "Relationship":
                continue
            rel_type = rel.get("Type", "")
            if not rel_type.endswith("/worksheet"):
                continue
            targets[rel.get("Id", "")] = _resolve_target(rel.get("Target", ""))
    sheets: list[WorkbookSheet] = []
    for element in workbook.iter():
        if _local(element.tag) != "sheet":
            continue
        rel_id = next((value for key, value in element.attrib.items() if key.endswith("}id")), "")
        sheets.append(
            WorkbookSheet(
                name=element.get("name", ""),
                hidden=element.get("state", "visible") in ("hidden", "veryHidden"),
                part=targets.get(rel_id),
            )
        )
    return sheets


def match_sheets(
    sheets: list[WorkbookSheet], standard_sheets: Sequence[str], source_name: str
) -> tuple[dict[str, str], WorkbookSheet | None]:
    """Standard sheet name -> the workbook's name for it, and the template's Lists sheet if any."""
    wanted = {name.strip().lower(): name for name in standard_sheets}
    found: dict[str, str] = {}
    extra: list[str] = []
    lists: WorkbookSheet | None = None
    for sheet in sheets:
        key = sheet.name.strip().lower()
        if key in wanted:
            if wanted[key] in found:
                raise refuse(
                    "REF-SHEETS",
                    source_name,
                    detail=f"The workbook has two sheets named {wanted[key]}; keep one.",
                )
            found[wanted[key]] = sheet.name
        elif key == TEMPLATE_SHEET.lower() and lists is None:
            lists = sheet
        else:
            extra.append(sheet.name)
    problems: list[str] = []
    missing = [name for name in standard_sheets if name not in found]
    if missing:
        problems.append(
            f"The workbook has no {_names(missing)} sheet{'s' if len(missing) > 1 else ''}; "
            f"a return has the sheets {_names(list(standard_sheets))}."
        )
    if extra:
        shown_extra = [f"'{shown(name, 40)}'" for name in extra[:5]] + (["..."] if len(extra) > 5 else [])
        problems.append(
            f"The workbook has {'a sheet' if len(extra) == 1 else 'sheets'} {_names(shown_extra)} "
            "that the return does not have; remove or rename "
            f"{'it' if len(extra) == 1 else 'them'}."
        )
    if problems:
        raise refuse("REF-SHEETS", source_name, detail=" ".join(problems))
    return found, lists


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class WorkbookValues:
    """The values of a checked package, read with calamine."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        try:
            # the reader gets the package as scanned: every member under its one canonical name,
            # none that the checks did not see (a second entry, a local header naming another)
            package = archive.repacked(archive.members)
            self.workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(package))
        except Exception:  # calamine raises its own error types (and PanicException) on damage
            raise archive.corrupt() from None

    def rows(self, sheet_name: str) -> list[Row]:
        """Every row of a sheet from row 1, numbered as Excel numbers them."""
        try:
            sheet = self.workbook.get_sheet_by_name(sheet_name)
            cells = sheet.to_python(skip_empty_area=False)
        except Exception:
            raise self.archive.corrupt() from None
        return list(enumerate(cells, start=1))

    def template_version(self, lists: WorkbookSheet | None) -> str | None | bool:
        """False when there is no template marker; else the marker's version text (or None)."""
        if lists is None:
            return False
        rows = self.rows(lists.name)
        first = rows[0][1] if rows else []
        marker = clean(first[0]) if first else None
        if marker is None or normalise(marker) != normalise(TEMPLATE_MARKER):
            return False
        return version_text(first[1]) if len(first) > 1 else None


def version_text(value: object) -> str | None:
    """The standard version as text: 1.0 typed into Excel reads back as the number 1.0."""
    value = clean(value)
    if value is None:
        return None
    if isinstance(value, float):
        return f"{int(value)}.0" if value.is_integer() else repr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}.0"
    text = str(value)
    return f"{text}.0" if text.isdigit() else text
