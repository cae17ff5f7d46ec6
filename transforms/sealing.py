"""Sealing raw files at rest: the councils' uploads, the inbox archive (issue 16, item 7).

A sealed file is one Fernet token (AES-128-CBC with HMAC-SHA256, from the `cryptography`
package) of the file's bytes, after a short magic line, so a sealed file is recognised without
its key and never mistaken for a workbook. `FileSealer.from_keys` takes one or more Fernet keys
(the first seals, all open: a key can be rotated); `FileSealer.derived` makes one from another
secret (the pseudonymisation key) with HKDF under a label of its own, so a separate key is
optional and the demo key still works. Bytes in, bytes out: no I/O, no environment.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"LSCB-SEALED-1\n"
SEALED_SUFFIX = ".sealed"
_LABEL = b"lscb-returns raw files at rest v1"


class SealError(ValueError):
    """A sealed file that cannot be opened with the keys given (wrong key, or tampered with)."""


@dataclass(frozen=True)
class FileSealer:
    _fernet: MultiFernet
    source: str  # where the key came from, for messages (never the key)

    @classmethod
    def from_keys(cls, keys: Sequence[str], source: str = "LSCB_FILES_KEY") -> FileSealer:
        """From Fernet keys (url-safe base64 of 32 bytes, as `Fernet.generate_key()` makes)."""
        fernets = []
        for key in keys:
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise SealError(f"{source}: not a Fernet key (32 url-safe base64-encoded bytes)") from None
        if not fernets:
            raise SealError(f"{source}: no key")
        return cls(MultiFernet(fernets), source)

    @classmethod
    def derived(cls, secret: bytes, source: str) -> FileSealer:
        """A key of its own derived from `secret` (HKDF-SHA256, a label only this uses)."""
        material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(secret)
        return cls(MultiFernet([Fernet(base64.urlsafe_b64encode(material))]), f"derived from {source}")

    def seal(self, plain: bytes) -> bytes:
        return MAGIC + self._fernet.encrypt(plain)

    def open(self, sealed: bytes) -> bytes:
        if not is_sealed(sealed):
            raise SealError("not a sealed file")
        try:
            return self._fernet.decrypt(sealed[len(MAGIC) :])
        except InvalidToken:
            raise SealError(f"the sealed file does not open with the key ({self.source})") from None

    def __repr__(self) -> str:
        return f"FileSealer(source={self.source!r})"


def is_sealed(content: bytes) -> bool:
    return content.startswith(MAGIC)


def generate_key() -> str:
    """A new key for LSCB_FILES_KEY."""
    return Fernet.generate_key().decode("ascii")
