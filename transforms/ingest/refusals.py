"""Build `Refused` errors from the standard's `refusals:` templates, always as one short line.

Details put into a message come from the file's structure (part names, sheet names, sizes),
never from cell values, so no identifier can leak into a refusal.
"""

from __future__ import annotations

import re

from schemas.identifiers import mask_identifiers
from schemas.standard import Limits, Standard, latest_version, load_standard
from transforms.ingest.model import Refused

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
MAX_DETAIL_CHARS = 80


def gatekeeper() -> Standard:
    """The standard whose limits and refusal texts apply before a file's own version is known.

    The file has not been read yet, so the newest standard this release knows speaks for it.
    """
    return load_standard(latest_version())


def limits() -> Limits:
    return gatekeeper().limits


def shown(text: object, max_chars: int = MAX_DETAIL_CHARS) -> str:
    """A name from the file (sheet, part, version text) made safe for a one-line message."""
    one_line = _UNPRINTABLE.sub(" ", str(text)).strip()
    if len(one_line) > max_chars:
        one_line = one_line[: max_chars - 1] + "…"
    return one_line


def refuse(refusal_id: str, source_name: str = "", **details: object) -> Refused:
    """A `Refused` with the standard's message for `refusal_id`, placeholders filled in."""
    template = gatekeeper().refusal(refusal_id).message
    message = template.format(**{key: str(value) for key, value in details.items()})
    # a sheet or part name is the council's text: one that reads as a UPN or NHS number is masked
    return Refused(refusal_id, mask_identifiers(shown(message, max_chars=400)), mask_identifiers(source_name))


def megabytes(size: int) -> str:
    return f"{size / 1_048_576:,.1f} MB"
