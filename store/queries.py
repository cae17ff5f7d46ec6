"""Reading the store: current versions, version lists, findings, the previous accepted return.

Two ideas of the standard live here as SQL, once each (`schemas.lifecycle` says them in words):
- `current_row` / `current_version_ids`: a council's current version for a period is its latest
  accepted or signed-off version;
- `explanation_matches` and `query_is_open`: a finding's explanation is the one with its
  submission, rule and row, NULL-safe, so a whole-return query (no row) can be explained and then
  signed off; a query is open when it has no explanation or an analyst rejected it. Every count
  of open queries (sign-off, the version summaries, the tracker's `store.national`) is these two.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from schemas.calendar import Period
from schemas.lifecycle import CURRENT_STATUSES, REJECTED
from schemas.register import load_register
from schemas.standard import load_standard
from store.engine import begin_read, get_engine
from store.models import (
    Explanation,
    FindingRecord,
    Reopening,
    Submission,
    activity_facts,
)
from transforms.findings import Finding

if TYPE_CHECKING:  # importing transforms.validate is slow (GX); only validation needs it at run time
    from transforms.validate.model import PreviousReturn


class StoreError(Exception):
    """A request the store refuses (unknown finding, sign-off with open queries ...): one line."""


class StoreNotReady(StoreError):
    """The database has no tables yet."""


_ready: set[str] = set()


def require_ready(engine: Engine) -> None:
    """StoreNotReady unless the database has the project's tables (checked once per URL)."""
    key = engine.url.render_as_string(hide_password=True)
    if key in _ready:
        return
    from store.migrate import is_initialised

    if not is_initialised(engine):
        raise StoreNotReady(f"the database {key} has no tables yet: run `lscb db upgrade`")
    _ready.add(key)


def check_actor(name: str, what: str) -> str:
    """Who did something, as recorded: required, at most 200 characters."""
    actor = str(name or "").strip()
    if not actor:
        raise StoreError(f"{what} is required")
    if len(actor) > 200:
        raise StoreError(f"{what} is longer than 200 characters")
    return actor


def orm_all(connection: Connection, query: Select[Any]) -> list[Any]:
    """ORM objects for a select of one entity, on a Core connection (inside its transaction)."""
    begin_read(connection)  # a read: on SQLite it must not take the write lock (the Session would)
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


def current_row(connection: Connection, council_code: str, period: str, *, lock: bool = False) -> Submission | None:
    """The council's current version for the period: its latest accepted or signed-off version.

    `lock`: hold its row until the transaction ends (PostgreSQL; SQLite has one writer anyway),
    so a sign-off and an analyst's query or rejection of the same version happen one after the
    other, never both on what the other has not yet written."""
    query = (
        select(Submission)
        .where(
            Submission.council_code == council_code,
            Submission.period == period,
            Submission.status.in_(CURRENT_STATUSES),
        )
        .order_by(Submission.version.desc())
    )
    found: Submission | None = orm_first(connection, query.with_for_update() if lock else query)
    return found


def current_version_ids(*conditions: ColumnElement[bool]) -> Select[Any]:
    """The ids of every current version (of the submissions matching `conditions`): per council
    and period, the highest version among the accepted and signed-off ones."""
    latest = (
        select(Submission.council_code, Submission.period, func.max(Submission.version).label("version"))
        .where(Submission.status.in_(CURRENT_STATUSES), *conditions)
        .group_by(Submission.council_code, Submission.period)
        .subquery()
    )
    return select(Submission.id).join(
        latest,
        and_(
            Submission.council_code == latest.c.council_code,
            Submission.period == latest.c.period,
            Submission.version == latest.c.version,
        ),
    )


def explanation_matches() -> ColumnElement[bool]:
    """The join of a finding and the explanation of it: same submission, rule and row, where
    two missing rows (a whole-return query) are the same row."""
    return and_(
        Explanation.submission_id == FindingRecord.submission_id,
        Explanation.rule == FindingRecord.rule,
        Explanation.row.is_not_distinct_from(FindingRecord.row),
    )


def query_is_open() -> ColumnElement[bool]:
    """For findings outer-joined to their explanations (`explanation_matches`): the finding is an
    open query, a query with no explanation or with one an analyst rejected (not yet reviewed
    and accepted ones both count as explained). Never NULL: a missing explanation is open."""
    return and_(FindingRecord.severity == "Q", or_(Explanation.id.is_(None), Explanation.review == REJECTED))


def unexplained_queries(connection: Connection, submission_id: int) -> list[FindingRecord]:
    return orm_all(
        connection,
        select(FindingRecord)
        .outerjoin(Explanation, explanation_matches())
        .where(FindingRecord.submission_id == submission_id, query_is_open())
        .order_by(FindingRecord.row, FindingRecord.rule),
    )


def _summary(
    submission: Submission, current_id: int | None, unexplained: int, reopened: Reopening | None = None
) -> dict[str, Any]:
    # a reopening is news to the council only until the version is signed off again
    awaiting = reopened if reopened is not None and submission.status == "accepted" else None
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
        "reopened_by": awaiting.reopened_by if awaiting else None,
        "reopened_at": _iso(awaiting.reopened_at) if awaiting else None,
        "reopen_reason": awaiting.reason if awaiting else None,
    }


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _unexplained_counts(connection: Connection, submission_ids: list[int]) -> dict[int, int]:
    if not submission_ids:
        return {}
    rows = connection.execute(
        select(FindingRecord.submission_id, func.count())
        .outerjoin(Explanation, explanation_matches())
        .where(FindingRecord.submission_id.in_(submission_ids), query_is_open())
        .group_by(FindingRecord.submission_id)
    )
    return {int(sid): int(count) for sid, count in rows}


def latest_reopenings(connection: Connection, submission_ids: list[int]) -> dict[int, Reopening]:
    """Each version's latest reopening, for those that were ever reopened."""
    if not submission_ids:
        return {}
    rows: list[Reopening] = orm_all(
        connection,
        select(Reopening).where(Reopening.submission_id.in_(submission_ids)).order_by(Reopening.id),
    )
    return {r.submission_id: r for r in rows}  # later rows win


def list_submissions(council_code: str, period: str, *, engine_or_url: Engine | str) -> list[dict[str, Any]]:
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
        reopened = latest_reopenings(connection, [r.id for r in rows])
    return [_summary(r, current.id if current else None, counts.get(r.id, 0), reopened.get(r.id)) for r in rows]


def current_submission(council_code: str, period: str, *, engine_or_url: Engine | str) -> dict[str, Any] | None:
    """The current version (latest accepted or signed off) as in `list_submissions`, or None."""
    code, period = normalise_council(council_code), normalise_period(period)
    with get_engine(engine_or_url).connect() as connection:
        current = current_row(connection, code, period)
        if current is None:
            return None
        counts = _unexplained_counts(connection, [current.id])
        reopened = latest_reopenings(connection, [current.id])
    return _summary(current, current.id, counts.get(current.id, 0), reopened.get(current.id))


def submission_findings(
    council_code: str, period: str, version: int | None = None, *, engine_or_url: Engine | str
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


def submission_summary(submission_id: int, *, engine_or_url: Engine | str) -> dict[str, Any] | None:
    """One stored version as in `list_submissions` (with `current` marked), or None."""
    with get_engine(engine_or_url).connect() as connection:
        found: Submission | None = orm_first(connection, select(Submission).where(Submission.id == submission_id))
        if found is None:
            return None
        current = current_row(connection, found.council_code, found.period)
        counts = _unexplained_counts(connection, [found.id])
        reopened = latest_reopenings(connection, [found.id])
    return _summary(found, current.id if current else None, counts.get(found.id, 0), reopened.get(found.id))


def findings_with_explanations(submission_id: int, *, engine_or_url: Engine | str) -> list[dict[str, Any]]:
    """The findings of one version in file order, each with its explanation (`explanation`,
    `explained_by`, `explained_at`; None when it has none) and the analyst's review of it
    (`review`, `reviewed_by`, `reviewed_at`, `review_reason`), joined as `explanation_matches`
    says; `raised_by` / `raised_at` for a query an analyst raised; `is_open` as `query_is_open`."""
    f = FindingRecord
    with get_engine(engine_or_url).connect() as connection:
        rows = connection.execute(
            select(
                f.rule,
                f.severity,
                f.sheet,
                f.cell,
                f.field,
                f.local_child_id,
                f.message,
                f.row,
                Explanation.text.label("explanation"),
                Explanation.explained_by,
                Explanation.explained_at,
                Explanation.review,
                Explanation.reviewed_by,
                Explanation.reviewed_at,
                Explanation.review_reason,
                f.raised_by,
                f.raised_at,
                query_is_open().label("is_open"),
            )
            .outerjoin(Explanation, explanation_matches())
            .where(f.submission_id == submission_id)
            .order_by(f.id)
        ).mappings()
        return [{**row, "is_open": bool(row["is_open"])} for row in rows]
