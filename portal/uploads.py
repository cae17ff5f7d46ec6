"""Receive an upload as a stream: multipart parsed chunk by chunk, the file written to disk as it
arrives (never held whole in memory), the size limit enforced while reading.

A request whose declared Content-Length is already over the limit is refused before a byte of
the body is read; one that lies about it (or is chunked) is cut off as soon as the file part
passes the limit. Small form fields (the CSRF token) are kept in memory up to `MAX_FIELD_BYTES`.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

MAX_FIELD_BYTES = 4096
MAX_FIELDS = 10
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the small fields around the file
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


class UploadTooLarge(Exception):
    """The file is bigger than the limit (raised as soon as that is known)."""


class UploadForbidden(Exception):
    """The fields sent before the file failed the caller's check (the CSRF token): nothing is written."""


class UploadInvalid(Exception):
    """The request is not a well-formed upload form; str() says what is wrong in plain English."""


@dataclass
class ReceivedUpload:
    path: Path
    filename: str  # a safe display name (basename only, no control characters)
    size: int
    checksum: str  # sha256 hex
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def extension(self) -> str:
        suffix = Path(self.filename).suffix.lower().lstrip(".")
        return suffix if re.fullmatch(r"[a-z0-9]{1,5}", suffix) else "bin"


def safe_filename(raw: str) -> str:
    name = re.split(r"[\\/]", raw)[-1]
    name = _UNSAFE_NAME.sub("", name).strip().strip(".") or "upload"
    return name[-120:]


class _Collector:
    def __init__(
        self, file_field: str, max_bytes: int, directory: Path, before_file: Callable[[dict[str, str]], bool] | None
    ) -> None:
        self.before_file = before_file
        self.file_field = file_field
        self.max_bytes = max_bytes
        self.directory = directory
        self.fields: dict[str, str] = {}
        self.headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._name: str | None = None
        self._is_file = False
        self._buffer = bytearray()
        self.path: Path | None = None
        self.handle: IO[bytes] | None = None
        self.filename: str | None = None
        self.size = 0
        self.sha = hashlib.sha256()
        self.parts = 0

    # python-multipart callbacks
    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_FIELDS:
            raise UploadInvalid("the form has too many fields")
        self.headers = {}
        self._name = None
        self._is_file = False
        self._buffer = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self._header_field.strip().lower()] = self._header_value.strip()
        self._header_field = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name")
        if name is None:
            raise UploadInvalid("a form field has no name")
        self._name = name.decode("utf-8", "replace")
        filename = options.get(b"filename")
        if self._name == self.file_field:
            if self.handle is not None:
                raise UploadInvalid("upload one file at a time")
            if self.before_file is not None and not self.before_file(self.fields):
                raise UploadForbidden()
            self._is_file = True
            self.filename = safe_filename(filename.decode("utf-8", "replace")) if filename else None
            self.directory.mkdir(parents=True, exist_ok=True)
            self.path = self.directory / f".incoming-{secrets.token_hex(8)}"
            # this user only (0600): the plaintext lives here until the upload is checked and sealed
            self.handle = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file:
            assert self.handle is not None
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise UploadTooLarge()
            self.sha.update(chunk)
            self.handle.write(chunk)
        else:
            self._buffer += chunk
            if len(self._buffer) > MAX_FIELD_BYTES:
                raise UploadInvalid("a form field is too long")

    def on_part_end(self) -> None:
        if self._is_file:
            assert self.handle is not None
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
        elif self._name is not None:
            self.fields[self._name] = self._buffer.decode("utf-8", "replace")

    def discard(self) -> None:
        if self.handle is not None and not self.handle.closed:
            self.handle.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


async def receive_upload(
    request: Request,
    *,
    file_field: str,
    max_bytes: int,
    directory: Path,
    before_file: Callable[[dict[str, str]], bool] | None = None,
) -> ReceivedUpload:
    """Stream a multipart/form-data request body: the file to a new file in `directory`.

    `before_file(fields)` sees the fields sent before the file (the CSRF token comes first in the
    portal's form); when it returns False the upload stops with `UploadForbidden` before a byte
    of the file is written. Raises `UploadTooLarge`, `UploadInvalid` or `UploadForbidden`;
    nothing is left on disk when it raises.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise UploadInvalid("the upload must be sent as a form with a file (multipart/form-data)")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > max_bytes + MULTIPART_OVERHEAD:
                raise UploadTooLarge()
        except ValueError:
            raise UploadInvalid("the request's Content-Length is not a number") from None
    collector = _Collector(file_field, max_bytes, directory, before_file)
    parser = MultipartParser(
        options[b"boundary"],
        {
            "on_part_begin": collector.on_part_begin,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except (UploadTooLarge, UploadInvalid, UploadForbidden):
        collector.discard()
        raise
    except Exception:  # a malformed body: python-multipart raises its own errors
        collector.discard()
        raise UploadInvalid("the upload form could not be read; choose the file and try again") from None
    if collector.path is None or collector.handle is None or not collector.handle.closed:
        collector.discard()
        raise UploadInvalid("choose a file to upload")
    if collector.size == 0 and not collector.filename:  # the browser sends an empty part when no file was chosen
        collector.discard()
        raise UploadInvalid("choose a file to upload")
    return ReceivedUpload(
        path=collector.path,
        filename=collector.filename or "upload",
        size=collector.size,
        checksum=collector.sha.hexdigest(),
        fields=collector.fields,
    )
