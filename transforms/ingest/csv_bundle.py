"""A CSV bundle: a zip of about.csv, strategy.csv, activity.csv and children.csv.

Encodings are those Excel on Windows saves: UTF-8 (with or without BOM), UTF-16 with BOM
("Unicode text"), and Windows-1252 ("CSV (Comma delimited)") only when the bytes are not UTF-8
and every byte is defined in cp1252. Text that decodes but holds control characters is not
text (a binary file, or UTF-16 without its BOM) and is refused rather than misread.

Row numbers are CSV record numbers (the header is row 1), which are the line numbers unless a
quoted value spans lines, and the row numbers Excel shows when it opens the file.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from schemas.standard import Limits
from schemas.standard import Sheet as SheetSpec
from transforms.ingest.archive import Archive, MemberReader
from transforms.ingest.refusals import refuse, shown
from transforms.ingest.sheets import Row

LABEL = "CSV bundle (.zip)"
IGNORED = re.compile(r"(^|/)(__MACOSX/.*|\.DS_Store|Thumbs\.db|desktop\.ini)$", re.IGNORECASE)
MAX_LINE_CHARS = 1_048_576
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class BundleMember:
    spec: SheetSpec
    info: zipfile.ZipInfo


def has_csv(archive: Archive) -> bool:
    return any(name.lower().endswith(".csv") and not IGNORED.search(name) for name in archive.names())


def match_members(archive: Archive, specs: Sequence[SheetSpec]) -> dict[str, BundleMember]:
    """The standard's sheet name -> its member; refuses missing, extra or scattered CSV files."""
    source = archive.source_name
    files = [info for info in archive.members if not IGNORED.search(info.filename)]
    folders = {info.filename.rsplit("/", 1)[0] if "/" in info.filename else "" for info in files}
    wanted = {spec.csv_file.lower(): spec for spec in specs}
    if len(folders) > 1 or any(folder.count("/") for folder in folders):
        raise refuse(
            "REF-SHEETS",
            source,
            detail="The zip's CSV files must sit together, at the top of the zip or in one folder.",
        )
    found: dict[str, BundleMember] = {}
    extra: list[str] = []
    for info in files:
        base = info.filename.rsplit("/", 1)[-1]
        spec = wanted.get(base.lower())
        if spec is not None:
            found[spec.name] = BundleMember(spec, info)
        elif base.lower().endswith(".csv"):
            extra.append(base)
    problems: list[str] = []
    missing = [spec.csv_file for spec in specs if spec.name not in found]
    expected = ", ".join(spec.csv_file for spec in specs)
    if missing:
        problems.append(f"The zip has no {', '.join(missing)}; a CSV bundle holds {expected}.")
    if extra:
        listed = ", ".join(shown(name, 40) for name in extra[:5]) + (", ..." if len(extra) > 5 else "")
        problems.append(f"The zip holds {listed}, which {'is' if len(extra) == 1 else 'are'} not part of the return.")
    if problems:
        raise refuse("REF-SHEETS", source, detail=" ".join(problems))
    return found


def read_rows(archive: Archive, member: BundleMember, limits: Limits) -> list[Row]:
    """The member's records as (row number, values), decoded safely and within the limits."""
    name = member.spec.csv_file
    head = next(iter(archive.stream(member.info)), b"")[:4]
    if head.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]  # the BOM says which byte order
    else:
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            return _records(archive, member, encoding, limits)
        except UnicodeError:
            continue
    detail = "it is neither UTF-8 nor Windows-1252" if len(candidates) > 1 else f"it is not valid {candidates[0]}"
    raise refuse("REF-ENCODING", archive.source_name, file=name, detail=detail)


def _records(archive: Archive, member: BundleMember, encoding: str, limits: Limits) -> list[Row]:
    name = member.spec.csv_file
    source = archive.source_name
    max_rows = (limits.max_children_rows if member.spec.layout == "table" else limits.max_keyvalue_rows) + 1
    raw = io.BufferedReader(MemberReader(archive.stream(member.info)), buffer_size=65_536)
    text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
    lines = _lines(text, name, source)
    first = next(lines, None)
    if first is None:
        return []
    reader = csv.reader(_chain(first, lines), delimiter=_delimiter(first), strict=False)
    rows: list[Row] = []
    try:
        for number, record in enumerate(reader, start=1):
            if number > max_rows:
                raise refuse("REF-TOO-LARGE", source, what=name, detail=f"more than {max_rows:,} rows with the header")
            if len(record) > limits.max_columns:
                raise refuse(
                    "REF-TOO-LARGE",
                    source,
                    what=name,
                    detail=f"row {number:,} has {len(record):,} columns; at most {limits.max_columns:,}",
                )
            if record and max(map(len, record)) > limits.max_cell_chars:
                raise refuse(
                    "REF-TEXT",
                    source,
                    what=f"A value in {name}",
                    detail=f"row {number:,} has one of more than {limits.max_cell_chars:,} characters",
                )
            rows.append((number, record))
    except csv.Error as error:
        if "field limit" in str(error):
            limit = csv.field_size_limit()
            detail = f"at most {limit:,} characters"
            raise refuse("REF-TOO-LARGE", source, what=f"A value in {name}", detail=detail) from None
        raise refuse("REF-CORRUPT", source, format=LABEL) from None
    return rows


def _lines(text: io.TextIOWrapper, name: str, source: str) -> Iterator[str]:
    while True:
        line = text.readline(MAX_LINE_CHARS)
        if not line:
            return
        if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise refuse("REF-TOO-LARGE", source, what=f"A line of {name}", detail=f"{MAX_LINE_CHARS:,} characters")
        if _CONTROL.search(line):
            raise refuse(
                "REF-ENCODING", source, file=name, detail="it holds control characters, so it is not plain text"
            )
        yield line


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _delimiter(header: str) -> str:
    """Comma, unless the header has none and uses semicolons (European Excel) or tabs."""
    if "," in header:
        return ","
    semicolons, tabs = header.count(";"), header.count("\t")
    if semicolons or tabs:
        return ";" if semicolons >= tabs else "\t"
    return ","
