"""The append-only audit log: one row per state change, written in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert

from store.models import AuditEntry, utcnow


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
