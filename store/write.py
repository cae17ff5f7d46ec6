"""Writing a return: one version, its findings, facts and child records, in ONE transaction.

Whoever calls this has already validated and pseudonymised the return (`pipeline.receive`):
what arrives here holds no raw identifiers. A crash anywhere inside the transaction leaves
nothing behind; the previous version stays current.

Concurrency: versions are handed out under a per-council-period lock row (`council_periods`,
`SELECT ... FOR UPDATE` on PostgreSQL, so different councils never block each other) and
SQLite transactions start with `BEGIN IMMEDIATE`. A conflict (unique violation, serialization
failure, SQLite busy) is retried; the checksum is looked up again inside the lock, so a retry
or a racing duplicate never makes a second version.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from schemas.calendar import Period
from store.audit import record
from store.models import FACT_TABLES, CouncilPeriod, FindingRecord, Submission, child_records
from store.queries import current_row, orm_first
from store.seed import ensure_council, ensure_period, upsert

_log = logging.getLogger(__name__)

CHILD_CHUNK = 1000
MAX_ATTEMPTS = 8

# Called with the number of child rows written so far, inside the open transaction, after each
# chunk. Only the fault test sets it (to stop the process mid-transaction); None in production.
after_child_chunk: Callable[[int], None] | None = None


@dataclass
class NewVersion:
    """Everything one version stores. `children` rows are already pseudonymised."""

    council_code: str
    period: Period
    status: str  # accepted | rejected
    late: bool
    received_at: datetime  # timezone-aware
    submitted_by: str
    checksum: str
    source_name: str
    file_format: str
    size_bytes: int
    standard_version: str
    errors: int
    queries: int
    findings: list[dict[str, Any]] = field(default_factory=list)  # rule, severity, sheet, cell, ...
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)  # sheet -> field -> value
    children: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Stored:
    """The version written (`duplicate` None), or the version with the same bytes already stored."""

    submission_id: int
    version: int
    duplicate: Submission | None = None


def find_duplicate(engine: Engine, council_code: str, period: str | None, checksum: str) -> Submission | None:
    """The version with these exact bytes already received for the council (and period)."""
    query = select(Submission).where(Submission.council_code == council_code, Submission.checksum == checksum)
    if period is not None:
        query = query.where(Submission.period == period)
    with engine.connect() as connection:
        found: Submission | None = orm_first(connection, query.order_by(Submission.id))
    return found


def write_version(engine: Engine, new: NewVersion) -> Stored:
    """Store `new` as the next version of its council and period (retried on conflicts)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            with engine.begin() as connection:
                return _insert_version(connection, new)
        except (IntegrityError, OperationalError, DBAPIError) as error:
            if attempt >= MAX_ATTEMPTS or not _retryable(error):
                raise
            time.sleep(min(0.05 * 2**attempt, 2.0))


def record_event(
    engine: Engine,
    actor: str,
    action: str,
    *,
    council_code: str,
    period: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """An audit row about an upload that stored no version (refused, or not fileable)."""
    with engine.begin() as connection:
        ensure_council(connection, council_code)
        record(connection, actor, action, council_code=council_code, period=period, detail=detail)


def _retryable(error: Exception) -> bool:
    text = str(getattr(error, "orig", error)).lower()
    if isinstance(error, IntegrityError):
        # a racing writer took the lock row, the version or the checksum: look again
        return "unique" in text or "duplicate key" in text
    return any(
        s in text for s in ("database is locked", "could not serialize", "deadlock detected", "busy", "serialization")
    )


def _insert_version(connection: Connection, new: NewVersion) -> Stored:
    period = new.period
    ensure_council(connection, new.council_code)
    ensure_period(connection, period)
    version = _lock_next_version(connection, new.council_code, period.code)
    duplicate: Submission | None = orm_first(
        connection,
        select(Submission).where(
            Submission.council_code == new.council_code,
            Submission.period == period.code,
            Submission.checksum == new.checksum,
        ),
    )
    if duplicate is not None:
        return Stored(duplicate.id, duplicate.version, duplicate)
    previous = current_row(connection, new.council_code, period.code)
    submission_id = connection.execute(
        insert(Submission).returning(Submission.id),
        {
            "council_code": new.council_code,
            "period": period.code,
            "version": version,
            "checksum": new.checksum,
            "source_name": (new.source_name or "upload")[:255],
            "format": new.file_format[:10],
            "size_bytes": new.size_bytes,
            "received_at": new.received_at,
            "submitted_by": new.submitted_by,
            "status": new.status,
            "late": new.late,
            "standard_version": (new.standard_version or "")[:10],
            "errors": new.errors,
            "queries": new.queries,
        },
    ).scalar_one()
    connection.execute(
        update(CouncilPeriod)
        .where(CouncilPeriod.council_code == new.council_code, CouncilPeriod.period == period.code)
        .values(last_version=version)
    )
    if new.findings:
        connection.execute(insert(FindingRecord), [{**f, "submission_id": submission_id} for f in new.findings])
    for sheet, values in new.facts.items():
        table = FACT_TABLES[sheet]
        row = {c.name: clean_value(values.get(c.name)) for c in table.columns if c.name != "submission_id"}
        connection.execute(insert(table), {**row, "submission_id": submission_id})
    _insert_children(connection, submission_id, new.children)
    record(
        connection,
        new.submitted_by,
        "submit",
        council_code=new.council_code,
        period=period.code,
        submission_id=submission_id,
        detail={
            "version": version,
            "status": new.status,
            "late": new.late,
            "errors": new.errors,
            "queries": new.queries,
            "children": len(new.children),
            "checksum": new.checksum,
            "source_name": new.source_name,
            "replaces_current_version": previous.version if previous and new.status == "accepted" else None,
        },
    )
    return Stored(submission_id, version)


def _lock_next_version(connection: Connection, council_code: str, period: str) -> int:
    """Take the council+period lock row (created on first use) and return the next version."""
    upsert(
        connection,
        CouncilPeriod.__table__,
        [{"council_code": council_code, "period": period, "last_version": 0}],
        ["council_code", "period"],
        update=False,
    )
    query = select(CouncilPeriod.last_version).where(
        CouncilPeriod.council_code == council_code, CouncilPeriod.period == period
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    last = connection.execute(query).scalar_one()
    return int(last) + 1


def _insert_children(connection: Connection, submission_id: int, children: list[dict[str, Any]]) -> None:
    """Child rows in chunks: COPY on PostgreSQL (psycopg 3), executemany elsewhere; same transaction."""
    written = 0
    use_copy = connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"
    for chunk in _chunks(children, CHILD_CHUNK):
        if use_copy:
            _copy_children(connection, submission_id, chunk)
        else:
            connection.execute(insert(child_records), [{**row, "submission_id": submission_id} for row in chunk])
        written += len(chunk)
        if after_child_chunk is not None:
            after_child_chunk(written)


def _copy_children(connection: Connection, submission_id: int, rows: list[dict[str, Any]]) -> None:
    # COPY bypasses SQLAlchemy's statement log; say what was written (never the values)
    _log.info("COPY child_records: %d row(s) for submission %d", len(rows), submission_id)
    names = [c.name for c in child_records.columns if c.name != "id"]
    quoted = ", ".join(f'"{n}"' for n in names)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY child_records ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([submission_id if n == "submission_id" else row.get(n) for n in names])


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def clean_value(value: object) -> object:
    """A plain Python value for the database: None for blanks, date for timestamps, int for counts."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, datetime):
        return value.date()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return clean_value(value.item())
    return value


PLAIN_TYPES = (str, int, bool, date, type(None))
