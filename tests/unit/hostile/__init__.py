"""Build hostile or broken files at test time (no binary fixtures are committed).

Import from a test as `from hostile import ...` (pytest puts `tests/unit` on sys.path).
Each builder writes to the path it is given and returns it.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class RawMember:
    """A zip member written byte for byte: what the directory declares need not be true."""

    name: str
    payload: bytes  # already compressed when method is deflate
    declared_size: int
    crc: int
    method: int = zipfile.ZIP_DEFLATED


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def honest(name: str, data: bytes) -> RawMember:
    return RawMember(name, deflate(data), len(data), zlib.crc32(data))


def write_raw_zip(path: Path, members: list[RawMember]) -> Path:
    """A zip whose local headers and central directory say exactly what `members` declare."""
    body = bytearray()
    directory = bytearray()
    for member in members:
        name = member.name.encode()
        offset = len(body)
        body += struct.pack(
            "<4s5H3L2H",
            b"PK\x03\x04",
            20,
            0,
            member.method,
            0,
            0,
            member.crc,
            len(member.payload),
            member.declared_size,
            len(name),
            0,
        )
        body += name + member.payload
        directory += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            20,
            20,
            0,
            member.method,
            0,
            0,
            member.crc,
            len(member.payload),
            member.declared_size,
            len(name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        directory += name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0)
    path.write_bytes(bytes(body + directory + end))
    return path


def zip_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewrite_zip(
    source: Path,
    target: Path,
    change: dict[str, Callable[[bytes], bytes] | bytes | None] | None = None,
    add: dict[str, bytes] | None = None,
) -> Path:
    """Copy a zip, replacing members (a function of the old bytes, new bytes, or None to drop)."""
    members = zip_members(source)
    for name, how in (change or {}).items():
        if how is None:
            members.pop(name, None)
        elif callable(how):
            members[name] = how(members[name])
        else:
            members[name] = how
    members.update(add or {})
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def worksheet_part(path: Path, sheet: str) -> str:
    """The zip member holding a sheet (openpyxl writes sheets in order: sheet1.xml, ...)."""
    import openpyxl

    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    return f"xl/worksheets/sheet{names.index(sheet) + 1}.xml"


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode() for i in range(1, 10)
    )
    + b"]>\n"
)


def with_doctype(xml: bytes) -> bytes:
    """The part with a billion-laughs DOCTYPE in front and an entity reference in its body."""
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    return BILLION_LAUGHS + body.replace(b"</worksheet>", b"<!-- &lol9; --></worksheet>")


def ole2_file(path: Path, streams: list[str]) -> Path:
    """A minimal valid OLE2 compound file (what Office writes for a password-protected workbook
    or an old .xls) whose root storage holds empty streams with the given names."""
    end_of_chain, free, fat_sector, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    header = struct.pack(
        "<8s16s5H6s10L",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\x00" * 16,
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"\x00" * 6,
        0,
        1,
        1,
        0,
        4096,
        end_of_chain,
        0,
        end_of_chain,
        0,
        0,
    )
    header += struct.pack("<108L", *([free] * 108))
    fat = struct.pack("<2L", fat_sector, end_of_chain) + struct.pack("<126L", *([free] * 126))

    def entry(name: str, kind: int, child: int, right: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<H2B3L", len(encoded), kind, 1, no_stream, right, child)
            + b"\x00" * 16
            + struct.pack("<L2QLQ", 0, 0, 0, end_of_chain, 0)
        )

    entries = [entry("Root Entry", 5, 1 if streams else no_stream, no_stream)]
    for index, name in enumerate(streams, start=1):
        entries.append(entry(name, 2, no_stream, index + 1 if index < len(streams) else no_stream))
    directory = b"".join(entries).ljust(512 * ((len(entries) + 3) // 4), b"\x00")
    path.write_bytes(header + fat + directory)
    return path


def png_file(path: Path) -> Path:
    path.write_bytes(PNG_SIGNATURE + b"\x00\x00\x00\rIHDR" + b"\x00" * 64)
    return path


def zip_bomb_declared(path: Path, declared: int = 4_000_000_000) -> Path:
    """A tiny zip whose directory declares a huge uncompressed member (refused before reading)."""
    data = b"<worksheet/>"
    return write_raw_zip(
        path,
        [
            honest("[Content_Types].xml", b"<Types/>"),
            honest("xl/workbook.xml", b"<workbook/>"),
            RawMember("xl/worksheets/sheet1.xml", deflate(data), declared, zlib.crc32(data)),
        ],
    )


def zip_bomb_ratio(path: Path, size: int = 100_000_000) -> Path:
    """An honest zip of `size` zero bytes: small on disk, ~1000 times bigger inflated."""
    return write_raw_zip(path, [honest("children.csv", b"\x00" * size)])


def zip_bomb_lying(path: Path, real_size: int = 256 * 1_048_576, declared: int = 2_000) -> Path:
    """An xlsx whose worksheet declares `declared` bytes but inflates to `real_size` (zeros)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = b"\x00" * 1_048_576
    payload = b"".join(compressor.compress(block) for _ in range(real_size // len(block))) + compressor.flush()
    return write_raw_zip(
        path,
        [
            honest("[Content_Types].xml", b"<Types/>"),
            honest("xl/workbook.xml", b"<workbook/>"),
            RawMember("xl/worksheets/sheet1.xml", payload, declared, 0),
        ],
    )


MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHARED_STRINGS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def shared_strings(count: int, unique_count: int, texts: list[str]) -> bytes:
    items = "".join(f"<si><t>{text}</t></si>" for text in texts)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}" count="{count}" '
        f'uniqueCount="{unique_count}">{items}</sst>'
    ).encode()


def with_shared_strings(source: Path, target: Path, xml: bytes) -> Path:
    """The workbook with `xml` as its shared-strings part, wired in so a reader loads it."""

    def relate(rels: bytes) -> bytes:
        rel = f'<Relationship Id="rIdStrings" Type="{SHARED_STRINGS_REL}" Target="sharedStrings.xml"/>'
        return rels.replace(b"</Relationships>", rel.encode() + b"</Relationships>")

    def declare(types: bytes) -> bytes:
        override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_STRINGS_TYPE}"/>'
        return types.replace(b"</Types>", override.encode() + b"</Types>")

    return rewrite_zip(
        source,
        target,
        change={"xl/_rels/workbook.xml.rels": relate, "[Content_Types].xml": declare},
        add={"xl/sharedStrings.xml": xml},
    )


def move_part(source: Path, target: Path, old: str, new: str, change: Callable[[bytes], bytes] | None = None) -> Path:
    """Move a part (e.g. a worksheet) elsewhere in the package and repoint the workbook at it."""
    members = zip_members(source)
    data = members.pop(old)
    members[new] = change(data) if change else data
    target_of_old = re.compile(rb'Target="[^"]*' + re.escape(old.removeprefix("xl/").encode()) + rb'"')
    rels = members["xl/_rels/workbook.xml.rels"]
    members["xl/_rels/workbook.xml.rels"] = target_of_old.sub(b'Target="/' + new.encode() + b'"', rels)
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(old.encode(), new.encode())
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, member in members.items():
            archive.writestr(name, member)
    return target
