"""Receiving a return: validate, pseudonymise, store a new version in ONE transaction.

Order of work, and why:
1. checksum the bytes; the same bytes already received for the council (and period) are a
   `duplicate`: nothing is created, the outcome points at the existing version;
2. validate (outside any transaction: it takes seconds) with the council's previous accepted
   return for PRV-01;
3. pseudonymise the children in memory (the raw UPN/NHS columns are dropped here);
4. one transaction: lock the council+period row, hand out the next version number, insert the
   submission, its findings, and (when accepted) its facts and child records, and an audit row.
   A crash anywhere in step 4 leaves nothing behind; the previous version stays current.

Concurrency: versions are handed out under a per-council-period lock row
(`council_periods`, `SELECT ... FOR UPDATE` on PostgreSQL, so different councils never block
each other) and SQLite transactions start with `BEGIN IMMEDIATE`. A conflict (unique violation,
serialization failure, SQLite busy) is retried.

Late: received after the end of the deadline day (period end + 42 days) in Europe/London.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from schemas.calendar import Period
from transforms.findings import Finding
from transforms.store.audit import record
from transforms.store.engine import get_engine
from transforms.store.models import (
    FACT_TABLES,
    CouncilPeriod,
    FindingRecord,
    Submission,
    child_records,
    stored_child_fields,
)
from transforms.store.queries import (
    StoreError,
    StoreNotReady,
    current_row,
    normalise_council,
    normalise_period,
    orm_first,
    previous_return,
)
from transforms.store.seed import ensure_council, ensure_period

_log = logging.getLogger(__name__)

if TYPE_CHECKING:  # importing transforms.validate is slow (GX); only validation needs it at run time
    from transforms.validate.model import PreviousReturn, ValidationResult

LONDON = ZoneInfo("Europe/London")
CHILD_CHUNK = 1000
MAX_ATTEMPTS = 8
# Test hook for the fault test: after this many child rows are inserted (uncommitted), touch the
# marker file and block, so the test can kill the process mid-transaction.
PAUSE_AFTER_ENV = "LSCB_STORE_TEST_PAUSE_AFTER_CHILD_ROWS"
PAUSE_MARKER_ENV = "LSCB_STORE_TEST_PAUSE_MARKER"

OutcomeStatus = Literal["accepted", "rejected", "refused", "duplicate"]
_ready: set[str] = set()


@dataclass
class SubmitOutcome:
    status: OutcomeStatus
    council_code: str
    period: str | None
    message: str  # one line for the uploader
    submission_id: int | None = None
    version: int | None = None
    late: bool | None = None
    errors: int = 0
    queries: int = 0
    findings: list[Finding] = field(default_factory=list)
    existing_status: str | None = None  # duplicate: the status of the version already received
    refusal: str | None = None  # refused: the standard's refusal id (REF-...)

    @property
    def exit_code(self) -> int:
        """0 accepted (or signed off), 1 rejected, 2 refused; a duplicate exits as its original."""
        status = self.existing_status if self.status == "duplicate" else self.status
        return {"accepted": 0, "signed_off": 0, "rejected": 1}.get(status or "", 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "council_code": self.council_code,
            "period": self.period,
            "submission_id": self.submission_id,
            "version": self.version,
            "late": self.late,
            "errors": self.errors,
            "queries": self.queries,
            "existing_status": self.existing_status,
            "refusal": self.refusal,
            "message": self.message,
            "findings": [{**f.to_json(), "row": f.row} for f in self.findings],
        }


def deadline_end(period: Period) -> datetime:
    """The first instant after the deadline day, Europe/London, in UTC."""
    after = datetime.combine(period.deadline + timedelta(days=1), clock_time(0), tzinfo=LONDON)
    return after.astimezone(UTC)


def is_late(period: Period, received_at: datetime) -> bool:
    return received_at >= deadline_end(period)


def file_checksum(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def file_format(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return {".xlsx": "xlsx", ".zip": "csv"}.get(suffix, suffix.lstrip(".") or "unknown")


def require_ready(engine: Engine) -> None:
    key = engine.url.render_as_string(hide_password=True)
    if key in _ready:
        return
    from transforms.store.migrate import is_initialised

    if not is_initialised(engine):
        raise StoreNotReady(
            f"the database {engine.url.render_as_string(hide_password=True)} has no tables yet: run `lscb db upgrade`"
        )
    _ready.add(key)


def _aware(received_at: datetime | None) -> datetime:
    if received_at is None:
        return datetime.now(UTC)
    if received_at.tzinfo is None:
        raise StoreError("received_at must be timezone-aware (e.g. 2025-08-01T09:00:00+01:00)")
    return received_at.astimezone(UTC)


def _check_actor(name: str, what: str) -> str:
    actor = str(name or "").strip()
    if not actor:
        raise StoreError(f"{what} is required")
    if len(actor) > 200:
        raise StoreError(f"{what} is longer than 200 characters")
    return actor


# ---- the file path --------------------------------------------------------------------------------


def submit_file(
    path: str | Path,
    council_code: str,
    *,
    submitted_by: str,
    received_at: datetime | None = None,
    claimed_period: str | None = None,
    engine_or_url: Engine | str | None = None,
    display_name: str | None = None,
    secret: bytes | None = None,
) -> SubmitOutcome:
    """Validate and store one uploaded return for `council_code` (the uploader's own council).

    `secret` defaults to `lscb.config.pseudonymisation_key()` (asked for first: no key, no work).
    Raises `StoreError` for a bad request (unknown council, no tables); a refused file is an
    outcome (`refused`), not an exception.
    """
    if secret is None:
        from lscb.config import pseudonymisation_key

        secret = pseudonymisation_key()
    code = normalise_council(council_code)
    period_claim = normalise_period(claimed_period) if claimed_period else None
    submitted_by = _check_actor(submitted_by, "submitted_by")
    received = _aware(received_at)
    source = Path(path)
    name = Path(display_name).name if display_name else source.name
    engine = get_engine(engine_or_url)
    require_ready(engine)
    if not source.is_file():
        raise StoreError(f"{name}: no such file")

    checksum, size = file_checksum(source)
    existing = _find_duplicate(engine, code, period_claim, checksum)
    if existing is not None:
        return _duplicate_outcome(existing)

    from transforms.ingest import Refused

    today = received.astimezone(LONDON).date()
    try:
        result = _validate(
            source, name=name, council_code=code, claimed_period=period_claim, today=today, engine=engine
        )
    except Refused as refused:
        reason = refused.reason if refused.source_name else f"{name}: {refused}"
        with engine.begin() as connection:
            ensure_council(connection, code)
            record(
                connection,
                submitted_by,
                "refused",
                council_code=code,
                period=period_claim,
                detail={"refusal": refused.refusal, "source_name": name, "checksum": checksum, "size_bytes": size},
            )
        return SubmitOutcome(
            status="refused", council_code=code, period=period_claim, message=reason, refusal=refused.refusal
        )
    result.source_name = name
    return store_validated(
        result,
        code,
        submitted_by=submitted_by,
        received_at=received,
        claimed_period=period_claim,
        file_format=file_format(name),
        size_bytes=size,
        secret=secret,
        engine_or_url=engine,
    )


def validate_upload(
    source: Path,
    *,
    display_name: str,
    claimed_council: str,
    claimed_period: str | None,
    today: date,
    previous_for: Callable[[str], PreviousReturn | None],
) -> ValidationResult:
    """Read the file once with safe ingest (raises `Refused`) and validate it, with the previous
    accepted return for the period claimed or, failing that, the period its About sheet gives."""
    from transforms.ingest import read_return
    from transforms.validate import validate_return

    ret = read_return(source, display_name=display_name)
    period = _parse_period(claimed_period) or _parse_period(_about_period(ret))
    result: ValidationResult = validate_return(
        ret,
        claimed_council=claimed_council,
        claimed_period=claimed_period,
        previous=previous_for(period.code) if period else None,
        today=today,
    )
    return result


def _about_period(ret: Any) -> str | None:
    try:
        value = ret.keyvalue("About").values.get("period")
    except (KeyError, AssertionError, AttributeError):
        return None
    return None if value is None else str(value)


def _validate(
    source: Path, *, name: str, council_code: str, claimed_period: str | None, today: date, engine: Engine
) -> ValidationResult:
    def previous_for(period: str) -> PreviousReturn | None:
        with engine.connect() as connection:
            return previous_return(connection, council_code, period)

    return validate_upload(
        source,
        display_name=name,
        claimed_council=council_code,
        claimed_period=claimed_period,
        today=today,
        previous_for=previous_for,
    )


def _parse_period(value: str | None) -> Period | None:
    if not value:
        return None
    try:
        return Period.parse(value)
    except ValueError:
        return None


def _find_duplicate(engine: Engine, council_code: str, period: str | None, checksum: str) -> Submission | None:
    query = select(Submission).where(Submission.council_code == council_code, Submission.checksum == checksum)
    if period is not None:
        query = query.where(Submission.period == period)
    with engine.connect() as connection:
        found: Submission | None = orm_first(connection, query.order_by(Submission.id))
    return found


def _duplicate_outcome(existing: Submission) -> SubmitOutcome:
    return SubmitOutcome(
        status="duplicate",
        council_code=existing.council_code,
        period=existing.period,
        submission_id=existing.id,
        version=existing.version,
        late=existing.late,
        errors=existing.errors,
        queries=existing.queries,
        existing_status=existing.status,
        message=(
            f"{existing.source_name}: these exact bytes were already received as version {existing.version} "
            f"for {existing.council_code} {existing.period} ({existing.status}); nothing new was stored"
        ),
    )


# ---- storing a validated return ----------------------------------------------------------------------


def store_validated(
    result: ValidationResult,
    council_code: str,
    *,
    submitted_by: str,
    received_at: datetime | None = None,
    claimed_period: str | None = None,
    file_format: str = "xlsx",
    size_bytes: int = 0,
    secret: bytes | None = None,
    engine_or_url: Engine | str | None = None,
) -> SubmitOutcome:
    """Store a `ValidationResult` as the next version of the council's period (one transaction)."""
    if secret is None:
        from lscb.config import pseudonymisation_key

        secret = pseudonymisation_key()
    code = normalise_council(council_code)
    submitted_by = _check_actor(submitted_by, "submitted_by")
    received = _aware(received_at)
    engine = get_engine(engine_or_url)
    require_ready(engine)

    period = _parse_period(claimed_period) or _parse_period(result.period)
    if period is None:
        # Nowhere to file it: the period in About could not be read and none was claimed.
        with engine.begin() as connection:
            ensure_council(connection, code)
            record(
                connection,
                submitted_by,
                "unfiled",
                council_code=code,
                detail={"source_name": result.source_name, "checksum": result.checksum, "errors": result.errors},
            )
        return SubmitOutcome(
            status="rejected",
            council_code=code,
            period=None,
            errors=result.errors,
            queries=result.queries,
            findings=list(result.findings),
            message=(
                f"{result.source_name}: rejected and not stored: the period in About could not be read "
                f"({result.errors} error(s)); fix About.period and upload again"
            ),
        )

    accepted = result.status == "accepted" and result.typed is not None
    facts: dict[str, dict[str, Any]] = {}
    children: list[dict[str, Any]] = []
    if accepted:
        assert result.typed is not None
        facts = {
            "About": dict(result.typed.about),
            "Strategy": dict(result.typed.strategy),
            "Activity": dict(result.typed.activity),
        }
        children = child_rows(result.typed.children, secret, code, period.code)
    late = is_late(period, received)
    finding_rows = [_finding_row(f) for f in result.findings]
    status = "accepted" if accepted else "rejected"

    attempt = 0
    while True:
        attempt += 1
        try:
            with engine.begin() as connection:
                stored = _insert_version(
                    connection,
                    result=result,
                    council_code=code,
                    period=period,
                    status=status,
                    late=late,
                    received=received,
                    submitted_by=submitted_by,
                    file_format=file_format,
                    size_bytes=size_bytes,
                    finding_rows=finding_rows,
                    facts=facts,
                    children=children,
                )
            break
        except (IntegrityError, OperationalError, DBAPIError) as error:
            if attempt >= MAX_ATTEMPTS or not _retryable(error):
                raise
            time.sleep(min(0.05 * 2**attempt, 2.0))
    if isinstance(stored, Submission):
        return _duplicate_outcome(stored)
    submission_id, version = stored
    when = "late" if late else "on time"
    if accepted:
        message = (
            f"{result.source_name}: accepted as version {version} for {code} {period.code} ({when}); "
            f"{result.queries} quer{'y' if result.queries == 1 else 'ies'} to fix or explain"
        )
    else:
        message = (
            f"{result.source_name}: rejected as version {version} for {code} {period.code} ({when}): "
            f"{result.errors} error(s), {result.queries} quer{'y' if result.queries == 1 else 'ies'}; "
            "fix the errors and upload again"
        )
    return SubmitOutcome(
        status=status,  # type: ignore[arg-type]
        council_code=code,
        period=period.code,
        submission_id=submission_id,
        version=version,
        late=late,
        errors=result.errors,
        queries=result.queries,
        findings=list(result.findings),
        message=message,
    )


def _retryable(error: Exception) -> bool:
    text = str(getattr(error, "orig", error)).lower()
    if isinstance(error, IntegrityError):
        # a racing writer took the lock row, the version or the checksum: look again
        return "unique" in text or "duplicate key" in text
    return any(
        s in text for s in ("database is locked", "could not serialize", "deadlock detected", "busy", "serialization")
    )


def _insert_version(
    connection: Connection,
    *,
    result: ValidationResult,
    council_code: str,
    period: Period,
    status: str,
    late: bool,
    received: datetime,
    submitted_by: str,
    file_format: str,
    size_bytes: int,
    finding_rows: list[dict[str, Any]],
    facts: dict[str, dict[str, Any]],
    children: list[dict[str, Any]],
) -> tuple[int, int] | Submission:
    """Inside the transaction: returns (submission id, version), or the existing duplicate."""
    ensure_council(connection, council_code)
    ensure_period(connection, period)
    version = _lock_next_version(connection, council_code, period.code)
    duplicate: Submission | None = orm_first(
        connection,
        select(Submission).where(
            Submission.council_code == council_code,
            Submission.period == period.code,
            Submission.checksum == result.checksum,
        ),
    )
    if duplicate is not None:
        return duplicate
    previous = current_row(connection, council_code, period.code)
    submission_id = connection.execute(
        insert(Submission).returning(Submission.id),
        {
            "council_code": council_code,
            "period": period.code,
            "version": version,
            "checksum": result.checksum,
            "source_name": (result.source_name or "upload")[:255],
            "format": file_format[:10],
            "size_bytes": size_bytes,
            "received_at": received,
            "submitted_by": submitted_by,
            "status": status,
            "late": late,
            "standard_version": (result.standard_version or "")[:10],
            "errors": result.errors,
            "queries": result.queries,
        },
    ).scalar_one()
    connection.execute(
        update(CouncilPeriod)
        .where(CouncilPeriod.council_code == council_code, CouncilPeriod.period == period.code)
        .values(last_version=version)
    )
    if finding_rows:
        connection.execute(insert(FindingRecord), [{**f, "submission_id": submission_id} for f in finding_rows])
    for sheet, values in facts.items():
        table = FACT_TABLES[sheet]
        row = {c.name: clean_value(values.get(c.name)) for c in table.columns if c.name != "submission_id"}
        connection.execute(insert(table), {**row, "submission_id": submission_id})
    _insert_children(connection, submission_id, children)
    record(
        connection,
        submitted_by,
        "submit",
        council_code=council_code,
        period=period.code,
        submission_id=submission_id,
        detail={
            "version": version,
            "status": status,
            "late": late,
            "errors": result.errors,
            "queries": result.queries,
            "children": len(children),
            "checksum": result.checksum,
            "source_name": result.source_name,
            "replaces_current_version": previous.version if previous and status == "accepted" else None,
        },
    )
    return submission_id, version


def _lock_next_version(connection: Connection, council_code: str, period: str) -> int:
    """Take the council+period lock row (created on first use) and return the next version."""
    from transforms.store.seed import _upsert

    _upsert(
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
    pause_after = int(os.environ.get(PAUSE_AFTER_ENV, "0") or 0)
    written = 0
    use_copy = connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"
    for chunk in _chunks(children, CHILD_CHUNK):
        if use_copy:
            _copy_children(connection, submission_id, chunk)
        else:
            connection.execute(insert(child_records), [{**row, "submission_id": submission_id} for row in chunk])
        written += len(chunk)
        if pause_after and written >= pause_after:
            _pause_for_fault_test()
            pause_after = 0


def _copy_children(connection: Connection, submission_id: int, rows: list[dict[str, Any]]) -> None:
    # COPY bypasses SQLAlchemy's statement log; say what was written (never the values)
    _log.info("COPY child_records: %d row(s) for submission %d", len(rows), submission_id)
    names = [c.name for c in child_records.columns if c.name != "id"]
    quoted = ", ".join(f'"{n}"' for n in names)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY child_records ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([submission_id if n == "submission_id" else row.get(n) for n in names])


def _pause_for_fault_test() -> None:  # pragma: no cover - runs in a child process that is killed
    marker = os.environ.get(PAUSE_MARKER_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(600)


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _finding_row(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity,
        "sheet": f.sheet,
        "cell": f.cell,
        "field": f.field,
        "local_child_id": f.local_child_id,
        "message": f.message,
        "row": f.row,
    }


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


_PLAIN = (str, int, bool, date, type(None))


def child_rows(children: pd.DataFrame, secret: bytes, council_code: str, period: str) -> list[dict[str, Any]]:
    """Pseudonymised child records ready to insert (the raw identifiers are gone from here on)."""
    from transforms.pseudonymise import pseudonymise_children

    safe = pseudonymise_children(children, secret)
    names = [f for f in (*stored_child_fields(), "upn_key", "nhs_key", "birth_month") if f in safe.columns]
    missing = dict.fromkeys(f for f in stored_child_fields() if f not in safe.columns)
    columns = []
    for name in names:
        values = safe[name].tolist()
        # most values are already plain (str, int, date, None): clean only the others
        columns.append(
            [v if type(v) in _PLAIN else clean_value(v) for v in values]  # exact types: datetime is cleaned
        )
    rows: list[dict[str, Any]] = []
    for position, excel_row in enumerate(safe.index.tolist()):
        row = {"council_code": council_code, "period": period, "row": int(excel_row), **missing}
        row.update(zip(names, (column[position] for column in columns), strict=True))
        rows.append(row)
    return rows
