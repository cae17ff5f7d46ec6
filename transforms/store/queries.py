"""Reading the store: current versions, version lists, findings, the previous accepted return."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Select, and_, func, select
from sqlalchemy.orm import Session

from schemas.calendar import Period
from schemas.register import load_register
from schemas.standard import load_standard
from transforms.findings import Finding
from transforms.store.engine import get_engine
from transforms.store.models import (
    CURRENT_STATUSES,
    Explanation,
    FindingRecord,
    Submission,
    activity_facts,
)

if TYPE_CHECKING:  # importing transforms.validate is slow (GX); only validation needs it at run time
    from transforms.validate.model import PreviousReturn


class StoreError(Exception):
    """A request the store refuses (unknown finding, sign-off with open queries ...): one line."""


class StoreNotReady(StoreError):
    """The database has no tables yet."""


def orm_all(connection: Connection, query: Select[Any]) -> list[Any]:
    """ORM objects for a select of one entity, on a Core connection (inside its transaction)."""
    with Session(bind=connection, expire_on_commit=False) as session:
        return list(session.scalars(query))


def orm_first(connection: Connection, query: Select[Any]) -> Any:
    found = orm_all(connection, query.limit(1))
    return found[0] if found else None


def normalise_period(period: str) -> str:
    try:
        return Period.parse(period).code
    except ValueError as error:
        raise StoreError(str(error)) from None


def normalise_council(council_code: str) -> str:
    """A GSS code of the register, upper-cased; StoreError otherwise."""
    code = str(council_code).strip().upper()
    council = load_register().find(code)
    if council is None or council.council_code != code:
        raise StoreError(f"{council_code!r} is not the GSS code of a council in the register (e.g. E06000001)")
    return code


def current_row(connection: Connection, council_code: str, period: str) -> Submission | None:
    """The council's current version for the period: its latest accepted or signed-off version."""
    found: Submission | None = orm_first(
        connection,
        select(Submission)
        .where(
            Submission.council_code == council_code,
            Submission.period == period,
            Submission.status.in_(CURRENT_STATUSES),
        )
        .order_by(Submission.version.desc()),
    )
    return found


def unexplained_queries(connection: Connection, submission_id: int) -> list[FindingRecord]:
    return orm_all(
        connection,
        select(FindingRecord)
        .outerjoin(
            Explanation,
            and_(
                Explanation.submission_id == FindingRecord.submission_id,
                Explanation.rule == FindingRecord.rule,
                Explanation.row == FindingRecord.row,
            ),
        )
        .where(
            FindingRecord.submission_id == submission_id,
            FindingRecord.severity == "Q",
            Explanation.id.is_(None),
        )
        .order_by(FindingRecord.row, FindingRecord.rule),
    )


def _summary(submission: Submission, current_id: int | None, unexplained: int) -> dict[str, Any]:
    return {
        "submission_id": submission.id,
        "council_code": submission.council_code,
        "period": submission.period,
        "version": submission.version,
        "status": submission.status,
        "received_at": _iso(submission.received_at),
        "late": submission.late,
        "checksum": submission.checksum,
        "current": submission.id == current_id,
        "errors": submission.errors,
        "queries": submission.queries,
        "unexplained_queries": unexplained,
        "all_queries_explained": submission.status != "rejected" and unexplained == 0,
        "source_name": submission.source_name,
        "format": submission.format,
        "size_bytes": submission.size_bytes,
        "submitted_by": submission.submitted_by,
        "standard_version": submission.standard_version,
        "signed_off_by": submission.signed_off_by,
        "signed_off_at": _iso(submission.signed_off_at) if submission.signed_off_at else None,
    }


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _unexplained_counts(connection: Connection, submission_ids: list[int]) -> dict[int, int]:
    if not submission_ids:
        return {}
    rows = connection.execute(
        select(FindingRecord.submission_id, func.count())
        .outerjoin(
            Explanation,
            and_(
                Explanation.submission_id == FindingRecord.submission_id,
                Explanation.rule == FindingRecord.rule,
                Explanation.row == FindingRecord.row,
            ),
        )
        .where(
            FindingRecord.submission_id.in_(submission_ids),
            FindingRecord.severity == "Q",
            Explanation.id.is_(None),
        )
        .group_by(FindingRecord.submission_id)
    )
    return {int(sid): int(count) for sid, count in rows}


def list_submissions(
    council_code: str, period: str, *, engine_or_url: Engine | str | None = None
) -> list[dict[str, Any]]:
    """Every version the council sent for the period, oldest first, with `current` marked."""
    code, period = normalise_council(council_code), normalise_period(period)
    with get_engine(engine_or_url).connect() as connection:
        rows: list[Submission] = orm_all(
            connection,
            select(Submission)
            .where(Submission.council_code == code, Submission.period == period)
            .order_by(Submission.version),
        )
        current = current_row(connection, code, period)
        counts = _unexplained_counts(connection, [r.id for r in rows])
    return [_summary(r, current.id if current else None, counts.get(r.id, 0)) for r in rows]


def current_submission(
    council_code: str, period: str, *, engine_or_url: Engine | str | None = None
) -> dict[str, Any] | None:
    """The current version (latest accepted or signed off) as in `list_submissions`, or None."""
    code, period = normalise_council(council_code), normalise_period(period)
    with get_engine(engine_or_url).connect() as connection:
        current = current_row(connection, code, period)
        if current is None:
            return None
        counts = _unexplained_counts(connection, [current.id])
    return _summary(current, current.id, counts.get(current.id, 0))


def submission_findings(
    council_code: str, period: str, version: int | None = None, *, engine_or_url: Engine | str | None = None
) -> list[Finding]:
    """The findings of one version (default: the current one, else the latest), in file order."""
    code, period = normalise_council(council_code), normalise_period(period)
    with get_engine(engine_or_url).connect() as connection:
        query = select(Submission.id).where(Submission.council_code == code, Submission.period == period)
        if version is None:
            current = current_row(connection, code, period)
            submission_id = (
                current.id
                if current
                else connection.execute(query.order_by(Submission.version.desc()).limit(1)).scalar()
            )
        else:
            submission_id = connection.execute(query.where(Submission.version == version)).scalar()
        if submission_id is None:
            raise StoreError(f"{code} has no version {version or ''} for {period}".replace("  ", " "))
        rows = orm_all(
            connection,
            select(FindingRecord).where(FindingRecord.submission_id == submission_id).order_by(FindingRecord.id),
        )
        return [
            Finding(
                rule=f.rule,
                severity="E" if f.severity == "E" else "Q",
                sheet=f.sheet,
                cell=f.cell,
                field=f.field,
                local_child_id=f.local_child_id,
                message=f.message,
                row=f.row,
            )
            for f in rows
        ]


def previous_return(connection: Connection, council_code: str, period: str) -> PreviousReturn | None:
    """The council's current accepted return for the period before `period`, following recodes
    (a council that took a new GSS code is compared with its returns under the old one)."""
    register = load_register()
    previous = Period.parse(period).previous().code
    lineage = register.lineage_id(council_code)
    codes = [c.council_code for c in register.all() if register.lineage_id(c.council_code) == lineage]
    row = connection.execute(
        select(Submission.id)
        .where(
            Submission.council_code.in_(codes),
            Submission.period == previous,
            Submission.status.in_(CURRENT_STATUSES),
        )
        .order_by(Submission.received_at.desc(), Submission.version.desc())
        .limit(1)
    ).scalar()
    if row is None:
        return None
    facts = connection.execute(select(activity_facts).where(activity_facts.c.submission_id == row)).mappings().first()
    if facts is None:
        return None
    from transforms.validate.model import PreviousReturn

    comparable = [f.name for f in load_standard().sheet("Activity").fields if f.comparable]
    activity = {name: int(facts[name]) for name in comparable if name in facts and facts[name] is not None}
    return PreviousReturn(period=previous, activity=activity)
