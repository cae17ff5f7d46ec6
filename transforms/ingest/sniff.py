"""What a file really is, from its first bytes (the extension is whatever the sender typed)."""

from __future__ import annotations

from typing import Literal

from transforms.ingest.refusals import refuse

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive
# A password-protected xlsx is an OLE2 compound file holding these two streams; directory
# entries store their names in UTF-16LE.
ENCRYPTION_STREAMS = tuple(name.encode("utf-16-le") for name in ("EncryptionInfo", "EncryptedPackage"))

Container = Literal["zip"]


def sniff(data: bytes, source_name: str) -> Container:
    """Refuse anything that is not a zip container; say why in the council's terms."""
    if not data:
        raise refuse("REF-EMPTY", source_name)
    if data.startswith(OLE2_MAGIC):
        if any(stream in data for stream in ENCRYPTION_STREAMS):
            raise refuse("REF-ENCRYPTED", source_name)
        raise refuse("REF-FORMAT", source_name)  # an old binary .xls (or another OLE2 document)
    if data.startswith(ZIP_MAGICS):
        return "zip"
    raise refuse("REF-FORMAT", source_name)
