"""The checksum of a return's bytes: sha256, hex. One definition for every place that asks
(the store's duplicate check, the inbox's idempotency, the portal's upload names)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

ALGORITHM = "sha256"
_BLOCK = 1 << 20


def stream_checksum(stream: BinaryIO) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of everything left in a binary stream."""
    digest = hashlib.sha256()
    size = 0
    while block := stream.read(_BLOCK):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def bytes_checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_checksum(path: str | Path) -> tuple[str, int]:
    """(sha256 hex, size in bytes) of a local file."""
    with Path(path).open("rb") as stream:
        return stream_checksum(stream)
