"""The append-only audit log: one row per state change, written in the same transaction, and read
newest first, filtered, a page at a time (`audit_entries`: the analysts' viewer and `lscb audit`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, func, insert, select

from schemas.identifiers import mentions_identifier
from schemas.standard import load_standard
from store.engine import get_engine
from store.models import AuditEntry, utcnow
from store.queries import orm_all

MAX_PAGE = 500  # rows a page of the log holds at most


def record(
    connection: Connection,
    actor: str,
    action: str,
    *,
    council_code: str | None = None,
    period: str | None = None,
    submission_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row. `detail` holds ids, counts and names only, never personal data."""
    connection.execute(
        insert(AuditEntry),
        {
            "at": utcnow(),
            "actor": actor[:200],
            "action": action,
            "council_code": council_code,
            "period": period,
            "submission_id": submission_id,
            "detail": detail,
        },
    )


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    council_code: str | None
    period: str | None
    submission_id: int | None
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "actor": self.actor,
            "action": self.action,
            "council_code": self.council_code,
            "period": self.period,
            "submission_id": self.submission_id,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int  # rows matching the filters, on every page
    limit: int
    offset: int


@functools.cache
def _child_level_keys() -> frozenset[str]:
    """Detail keys that would be about a child: the standard's Children fields (local_child_id,
    identifiers, dates of birth ...) and free text, which a person may have written anything in."""
    children = load_standard().sheet("Children").field_names
    return frozenset({*children, "text", "message", "reason", "explanation"})


def shown_detail(detail: dict[str, Any] | None) -> dict[str, Any]:
    """An audit row's detail as a viewer shows it: nothing child-level. The writers put ids, counts
    and names there only; this holds the viewer to that should a writer ever slip: a child-level
    key is left out, a nested value too, and a value that reads as an identifier is withheld."""
    shown: dict[str, Any] = {}
    for key, value in (detail or {}).items():
        if key in _child_level_keys() or isinstance(value, dict | list):
            continue
        shown[key] = "(withheld)" if isinstance(value, str) and mentions_identifier(value) else value
    return shown


def audit_entries(  # noqa: PLR0913 - each filter is optional and named
    engine_or_url: Engine | str,
    *,
    council_code: str | None = None,
    period: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AuditPage:
    """The audit log newest first (by the order rows were written), filtered by council and
    period (exact), actor (a part of it, any case) and action (exact), `limit` rows from `offset`."""
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    conditions: list[ColumnElement[bool]] = []
    if council_code:
        conditions.append(AuditEntry.council_code == council_code.strip().upper())
    if period:
        conditions.append(AuditEntry.period == period.strip().upper())
    if actor and actor.strip():
        conditions.append(func.lower(AuditEntry.actor).contains(actor.strip().lower(), autoescape=True))
    if action:
        conditions.append(AuditEntry.action == action.strip())
    with get_engine(engine_or_url).connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(AuditEntry).where(*conditions)).scalar_one())
        found: list[AuditEntry] = orm_all(
            connection,
            select(AuditEntry).where(*conditions).order_by(AuditEntry.id.desc()).limit(limit).offset(offset),
        )
        rows = [
            AuditRow(
                id=e.id,
                at=e.at,
                actor=e.actor,
                action=e.action,
                council_code=e.council_code,
                period=e.period,
                submission_id=e.submission_id,
                detail=shown_detail(e.detail),
            )
            for e in found
        ]
    return AuditPage(rows=rows, total=total, limit=limit, offset=offset)


def audit_actions(engine_or_url: Engine | str) -> list[str]:
    """Every action the log holds, for a filter's choices."""
    with get_engine(engine_or_url).connect() as connection:
        return sorted(str(a) for a in connection.execute(select(AuditEntry.action).distinct()).scalars())
