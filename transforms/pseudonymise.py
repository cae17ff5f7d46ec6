"""Pseudonymisation (standard section 6): UPN and NHS number -> HMAC-SHA256 keys.

The raw identifiers exist only in memory before `pseudonymise_children`; everything after it
(storage, linking, reports) sees keys only. The date of birth is reduced to its month:
`birth_month` is the FIRST DAY of the month of birth (a `datetime.date`), so it stays a real
date for age arithmetic and sorts and compares like one.
"""

from __future__ import annotations

import hmac
from datetime import date, datetime
from typing import Literal

import pandas as pd

from schemas.identifiers import normalise_identifier

IdentifierKind = Literal["UPN", "NHS"]
# Children column -> key kind; the raw columns are dropped, the key columns added.
IDENTIFIER_COLUMNS: dict[str, IdentifierKind] = {"upn": "UPN", "nhs_number": "NHS"}
KEY_COLUMNS: dict[str, str] = {"upn": "upn_key", "nhs_number": "nhs_key"}


def key_for(kind: IdentifierKind, value: str, secret: bytes) -> str:
    """hex HMAC-SHA256(secret, "<kind>:<value>") with the value trimmed, upper-cased, spaces removed."""
    if kind not in ("UPN", "NHS"):
        raise ValueError(f"unknown identifier kind {kind!r}")
    if not secret:
        raise ValueError("the pseudonymisation secret is empty")
    message = f"{kind}:{normalise_identifier(str(value))}".encode()
    return hmac.digest(secret, message, "sha256").hex()  # the one-shot C path; same as hmac.new()


def _blank(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))  # NaN, NaT, pd.NA
    except (TypeError, ValueError):
        return False


def birth_month(value: object) -> date | None:
    """The first day of the month of a date of birth (None for a blank)."""
    if _blank(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.date()
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.replace(day=1)
    parsed = date.fromisoformat(str(value).strip()[:10])
    return parsed.replace(day=1)


def _key_or_none(kind: IdentifierKind, value: object, secret: bytes) -> str | None:
    if _blank(value):
        return None
    text = str(value)
    if not normalise_identifier(text):
        return None
    return key_for(kind, text, secret)


def pseudonymise_children(children: pd.DataFrame, secret: bytes) -> pd.DataFrame:
    """A NEW frame: `upn_key`, `nhs_key` and `birth_month` added; `upn`, `nhs_number` and
    `date_of_birth` removed. The index (Excel row) and the other columns are kept as they are."""
    if not secret:
        raise ValueError("the pseudonymisation secret is empty")
    result = children.drop(columns=[c for c in (*IDENTIFIER_COLUMNS, "date_of_birth") if c in children.columns])
    result = result.copy()
    for column, kind in IDENTIFIER_COLUMNS.items():
        source = children[column] if column in children.columns else pd.Series(None, index=children.index)
        result[KEY_COLUMNS[column]] = pd.Series(
            [_key_or_none(kind, v, secret) for v in source], index=children.index, dtype=object
        )
    dob = children["date_of_birth"] if "date_of_birth" in children.columns else pd.Series(None, index=children.index)
    result["birth_month"] = pd.Series([birth_month(v) for v in dob], index=children.index, dtype=object)
    return result
