"""Check algorithms for the two child identifiers (DfE UPN, NHS number).

These are used at the ingest boundary only; the raw values never leave memory.
"""

from __future__ import annotations

import re

# The UPN check-letter alphabet: 23 letters (no I, O or S). A temporary UPN's final character
# is a letter from the same alphabet, counted by its position (A=0 ... Z=22).
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
_UPN_FORMAT = re.compile(rf"^[{UPN_ALPHABET}][0-9]{{11}}[0-9{UPN_ALPHABET}]$")
_NHS_FORMAT = re.compile(r"^[0-9]{10}$")


def normalise_identifier(value: str) -> str:
    """Trimmed, upper case, spaces removed: the form the standard pseudonymises."""
    return re.sub(r"\s+", "", value).upper()


def upn_format_ok(upn: str) -> bool:
    return bool(_UPN_FORMAT.match(upn))


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it (positions 2..13)."""
    if len(body) != 12:
        raise ValueError("a UPN body has 12 characters")
    total = 0
    for weight, char in zip(range(2, 14), body, strict=True):
        value = int(char) if char.isdigit() else UPN_ALPHABET.index(char)
        total += weight * value
    return UPN_ALPHABET[total % 23]


def upn_check_ok(upn: str) -> bool:
    """True when a well-formed UPN carries the right check letter."""
    return upn_format_ok(upn) and upn_check_letter(upn[1:]) == upn[0]


def upn_la_number(upn: str) -> str:
    """The DfE LA number in characters 2-4 of a UPN."""
    return upn[1:4]


def nhs_format_ok(nhs_number: str) -> bool:
    return bool(_NHS_FORMAT.match(nhs_number))


def nhs_check_digit(first_nine: str) -> int | None:
    """The Modulus 11 check digit for nine digits, or None when no valid number can end them."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - (total % 11)
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def nhs_check_ok(nhs_number: str) -> bool:
    return nhs_format_ok(nhs_number) and nhs_check_digit(nhs_number[:9]) == int(nhs_number[9])


_UPN_CANDIDATE = re.compile(rf"(?<![0-9A-Z])[{UPN_ALPHABET}][0-9]{{11}}[0-9{UPN_ALPHABET}](?![0-9A-Z])")
_NHS_CANDIDATE = re.compile(r"(?<![0-9])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?![0-9])")


def mentions_identifier(text: str) -> bool:
    """True when free text (an explanation, an analyst's question) holds what reads as a valid UPN
    or NHS number, written whole or in the usual 3-3-4 groups: such text is refused, never stored."""
    upper = text.upper()
    if any(upn_check_ok(m) for m in _UPN_CANDIDATE.findall(upper)):
        return True
    return any(nhs_check_ok(re.sub(r"[ -]", "", m)) for m in _NHS_CANDIDATE.findall(upper))


MASK = "[identifier]"
_TOKEN = re.compile(r"(?<![0-9])[0-9]{3}[ -][0-9]{3}[ -][0-9]{4}(?![0-9])|[0-9A-Za-z]+")


def looks_like_identifier(text: str, known: frozenset[str] = frozenset()) -> bool:
    """True when `text`, normalised, is one of `known` or reads as a valid UPN or NHS number."""
    normalised = re.sub(r"[ -]", "", normalise_identifier(text))
    return normalised in known or upn_check_ok(normalised) or nhs_check_ok(normalised)


def mask_identifiers(text: str, known: frozenset[str] = frozenset(), mask: str = MASK) -> str:
    """`text` with every identifier in it masked: a value of the return's own identifier set
    (normalised UPNs and NHS numbers, whatever their check digits) or anything that reads as a
    valid UPN or NHS number, whole or in 3-3-4 groups. For messages and stored findings."""

    def masked(match: re.Match[str]) -> str:
        return mask if looks_like_identifier(match.group(0), known) else match.group(0)

    return _TOKEN.sub(masked, text)
