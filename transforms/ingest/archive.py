"""Zip containers (xlsx and CSV bundles) opened defensively.

Everything that can be checked on the central directory is checked before a single byte is
inflated: member count, names, encryption, declared sizes and compression ratios. Members are
then inflated by hand (raw deflate), never past the size the directory declared, so a member
that lies about its size is caught after reading at most one chunk more than it declared.
Memory and time stay bounded by `max_uncompressed_bytes` whatever the archive claims.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator

from schemas.standard import Limits
from transforms.ingest.refusals import megabytes, refuse, shown

MAX_MEMBERS = 1000  # a return workbook has 10-40 parts; a bundle has four CSV files
MAX_CENTRAL_DIRECTORY_BYTES = MAX_MEMBERS * 1024  # parsed before the member count is known
CHUNK = 64 * 1024
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_EOCD = b"PK\x05\x06"
_ODD_NAME = re.compile(r"[\x00-\x1f\x7f]")


def canonical_name(name: str) -> str | None:
    """The member name every reader agrees on, or None when the name is odd.

    Readers disagree on raw names: calamine treats `\\` as `/` and matches case-insensitively,
    zipfile and openpyxl do neither. So `xl\\worksheets\\sheet4.xml`, `xl/./worksheets/sheet4.xml`
    and `XL//worksheets/Sheet4.xml` are all the same part here, and a name that escapes the
    package (absolute, `..`, a drive letter) or holds control characters is odd.
    """
    if _ODD_NAME.search(name):
        return None
    slashed = name.replace("\\", "/")
    if slashed.startswith("/") or (len(slashed) > 1 and slashed[1] == ":"):
        return None
    segments = [segment for segment in slashed.split("/") if segment not in ("", ".")]
    if not segments or ".." in segments:
        return None
    return posixpath.join(*segments) + ("/" if slashed.endswith("/") else "")


class Archive:
    """A zip held in memory whose directory passed the bomb checks."""

    def __init__(self, data: bytes, limits: Limits, source_name: str, label: str) -> None:
        self.data = data
        self.source_name = source_name
        self.label = label  # how REF-CORRUPT names the format, e.g. "spreadsheet (.xlsx)"
        self._check_directory_size()
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, struct.error):
            raise self.corrupt() from None
        self._check_members(infos, limits)
        self.members = [info for info in infos if not info.is_dir()]

    def corrupt(self) -> Exception:
        return refuse("REF-CORRUPT", self.source_name, format=self.label)

    def _check_directory_size(self) -> None:
        # zipfile parses the whole central directory before we can count members, so bound it
        # first from the end-of-central-directory record (the last 22 bytes plus any comment).
        position = self.data.rfind(_EOCD, max(0, len(self.data) - 65_557))
        if position < 0 or position + 22 > len(self.data):
            raise self.corrupt()
        entries, directory_size = struct.unpack_from("<HL", self.data, position + 10)
        if entries != 0xFFFF and entries > MAX_MEMBERS:
            raise refuse("REF-ZIP-BOMB", self.source_name, detail=f"{entries:,} parts; at most {MAX_MEMBERS:,}")
        if directory_size != 0xFFFFFFFF and directory_size > MAX_CENTRAL_DIRECTORY_BYTES:
            raise refuse("REF-ZIP-BOMB", self.source_name, detail=f"a {megabytes(directory_size)} directory of parts")

    def _check_members(self, infos: list[zipfile.ZipInfo], limits: Limits) -> None:
        if len(infos) > MAX_MEMBERS:
            raise refuse("REF-ZIP-BOMB", self.source_name, detail=f"{len(infos):,} parts; at most {MAX_MEMBERS:,}")
        seen: set[str] = set()
        total = 0
        for info in infos:
            canonical = canonical_name(info.filename)
            if canonical is None:
                raise refuse("REF-CORRUPT", self.source_name, format=self.label)
            # two parts of one name once normalised: readers may disagree on which wins
            if canonical.lower() in seen:
                raise self.corrupt()
            seen.add(canonical.lower())
            # from here on every step (and the reader, through `repacked`) sees this one name
            info.filename = canonical
            name = canonical
            if info.flag_bits & 0x1:
                raise refuse("REF-ENCRYPTED", self.source_name)
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.corrupt()
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise refuse(
                    "REF-ZIP-BOMB",
                    self.source_name,
                    detail=f"part {shown(name, 60)} expands {ratio:,.0f} times; at most {limits.max_compression_ratio}",
                )
        if total > limits.max_uncompressed_bytes:
            raise refuse(
                "REF-ZIP-BOMB",
                self.source_name,
                detail=f"{megabytes(total)} uncompressed; at most {megabytes(limits.max_uncompressed_bytes)}",
            )

    def repacked(self, members: list[zipfile.ZipInfo]) -> bytes:
        """A new zip of exactly these members, under their canonical names, compressed bytes
        copied as they are: what the reader is given, so it reads only what was scanned."""
        body = bytearray()
        directory = bytearray()
        for info in members:
            start = self._data_offset(info)
            payload = memoryview(self.data)[start : start + info.compress_size]
            name = info.filename.encode("utf-8")
            offset = len(body)
            fields = (20, 0x800, info.compress_type, 0, 0x21, info.CRC, info.compress_size, info.file_size, len(name))
            body += struct.pack("<4s5H3LH", b"PK\x03\x04", *fields) + b"\x00\x00" + name + payload
            directory += struct.pack("<4sH5H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, offset) + name
        end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0)
        return bytes(body + directory + end)

    def names(self) -> list[str]:
        return [info.filename for info in self.members]

    def find(self, name: str) -> zipfile.ZipInfo | None:
        wanted = name.lower()
        for info in self.members:
            if info.filename.lower() == wanted:
                return info
        return None

    def stream(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """The member's bytes in chunks, never more than it declared, its CRC checked at the end."""
        start = self._data_offset(info)
        end = start + info.compress_size
        if end > len(self.data):
            raise self.corrupt()
        view = memoryview(self.data)[start:end]
        declared = info.file_size
        produced = 0
        crc = 0
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != declared:
                raise self.corrupt()
            for offset in range(0, declared, CHUNK):
                chunk = bytes(view[offset : offset + CHUNK])
                crc = zlib.crc32(chunk, crc)
                yield chunk
        else:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            position = 0
            try:
                while not inflater.eof:
                    pending: bytes | memoryview
                    if inflater.unconsumed_tail:
                        pending = inflater.unconsumed_tail
                    elif position < len(view):
                        pending = view[position : position + CHUNK]
                        position += len(pending)
                    else:
                        tail = inflater.flush()
                        produced += len(tail)
                        if produced > declared:
                            raise self._lied(info)
                        crc = zlib.crc32(tail, crc)
                        if tail:
                            yield tail
                        break
                    chunk = inflater.decompress(pending, CHUNK)
                    produced += len(chunk)
                    if produced > declared:
                        raise self._lied(info)
                    crc = zlib.crc32(chunk, crc)
                    if chunk:
                        yield chunk
            except zlib.error:
                raise self.corrupt() from None
            if produced != declared or not inflater.eof:
                raise self.corrupt()
        if crc != info.CRC:
            raise self.corrupt()

    def read(self, info: zipfile.ZipInfo) -> bytes:
        return b"".join(self.stream(info))

    def _lied(self, info: zipfile.ZipInfo) -> Exception:
        return refuse(
            "REF-ZIP-BOMB",
            self.source_name,
            detail=f"part {shown(info.filename, 60)} holds more than the {info.file_size:,} bytes it declares",
        )

    def _data_offset(self, info: zipfile.ZipInfo) -> int:
        offset = info.header_offset
        if offset < 0 or offset + _LOCAL_HEADER.size > len(self.data):
            raise self.corrupt()
        header = _LOCAL_HEADER.unpack_from(self.data, offset)
        if header[0] != b"PK\x03\x04":
            raise self.corrupt()
        return offset + _LOCAL_HEADER.size + header[10] + header[11]


class MemberReader(io.RawIOBase):
    """A zip member as a raw binary stream (for io.TextIOWrapper), bounded like `Archive.stream`."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size
