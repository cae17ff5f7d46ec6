"""Children to trace: the cross-council findings (X1-X6) as cases that councils follow up.

One row per case, by its stable identity (`transforms.link.ChildToTrace.identity`, a sha256; the
child's key itself is never stored). Each compile records what it found (`record_compile`): a new
case is `open`, a known one keeps its status and gets `last_seen_*` and `present`, a known one the
compile no longer finds is marked not present (never deleted: its history stays). A council told
about a case moves it on (`change_status`: open -> acknowledged -> resolved, or back to open),
with who, when and a note; every change, and every compile's counts, go to the audit log in the
same transaction. Who may see or move which case is the use cases' (`pipeline.tracing`).

Both councils' local_child_ids are kept (each council is shown only its own); what a council
with no record of the child needs to look for it (closure date, birth month, sex) comes from the
record the finding is about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Connection,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.audit import record
from store.models import Base, UTCDateTime, utcnow
from store.queries import orm_all, orm_first
from transforms.link import RESOLUTIONS, TRACE_ACTIONS, TRACE_STATUSES, ChildToTrace

CHUNK = 500  # ids per IN (...) list


class TracedFinding(Base):
    """A cross-council finding followed up across compiles (one row per identity)."""

    __tablename__ = "traced_findings"
    __table_args__ = (
        UniqueConstraint("identity", name="uq_traced_findings_identity"),
        CheckConstraint(f"status IN {TRACE_STATUSES!r}", name="ck_traced_findings_status"),
        CheckConstraint(f"resolution IS NULL OR resolution IN {RESOLUTIONS!r}", name="ck_traced_findings_resolution"),
        Index("ix_traced_findings_from", "from_council_code", "status"),
        Index("ix_traced_findings_to", "to_council_code", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity: Mapped[str] = mapped_column(String(64))  # sha256 hex, never a key
    rule: Mapped[str] = mapped_column(String(4))
    period: Mapped[str] = mapped_column(String(7))
    from_council_code: Mapped[str] = mapped_column(String(9))  # as the latest compile found them
    to_council_code: Mapped[str] = mapped_column(String(9))
    from_local_child_id: Mapped[str | None] = mapped_column(Text)
    to_local_child_id: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[date | None] = mapped_column(Date)
    birth_month: Mapped[str | None] = mapped_column(String(7))  # YYYY-MM
    sex: Mapped[str | None] = mapped_column(String(1))
    # X6: the combined picture (`transforms.picture.WholePicture.to_json`: councils, periods and
    # signs, never another council's id)
    picture: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    first_seen_on: Mapped[date] = mapped_column(Date)  # the compile's `today`
    first_seen_period: Mapped[str] = mapped_column(String(7))  # the period compiled
    last_seen_on: Mapped[date] = mapped_column(Date)
    last_seen_period: Mapped[str] = mapped_column(String(7))
    present: Mapped[bool] = mapped_column(Boolean)  # found by the latest compile that covers its period
    status: Mapped[str] = mapped_column(String(12))
    resolution: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


traced_findings: Table = TracedFinding.__table__  # type: ignore[assignment]


# what each compile refreshes on a known case (the councils' codes and ids may have been corrected)
FOUND_COLUMNS = (
    "from_council_code",
    "to_council_code",
    "from_local_child_id",
    "to_local_child_id",
    "closed_on",
    "birth_month",
    "sex",
    "picture",
)


def _found_values(case: ChildToTrace) -> dict[str, Any]:
    f = case.finding
    return {
        "from_council_code": f.from_council_code,
        "to_council_code": f.to_council_code,
        "from_local_child_id": f.from_local_child_id,
        "to_local_child_id": f.to_local_child_id,
        "closed_on": case.closed_on,
        "birth_month": case.birth_month,
        "sex": case.sex,
        "picture": case.picture.to_json() if case.picture is not None else None,
    }


def record_compile(
    connection: Connection,
    cases: Iterable[ChildToTrace],
    *,
    period: str,
    today: date,
    in_scope: Callable[[str, str], bool],
    actor: str = "compile",
) -> dict[str, int]:
    """Record what the compile of `period` found (its cases are about `period` or earlier).

    New identities are inserted `open`; known ones keep their status and get the compile's ids,
    details, `last_seen_*` and `present`; known ones of a (rule, period) the compile decided
    (`in_scope`) that it did not find are marked not present. Running it twice changes nothing
    more. Returns the counts (also in the audit log): new, seen_again, back (found again after
    being missed), no_longer_found.
    """
    t = traced_findings
    known = {
        row.identity: row
        for row in connection.execute(
            select(t.c.id, t.c.identity, t.c.rule, t.c.period, t.c.present).where(t.c.period <= period)
        )
    }
    new: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    back = 0
    found: set[str] = set()
    for case in cases:
        if case.identity in found:
            continue
        found.add(case.identity)
        values = _found_values(case)
        row = known.get(case.identity)
        if row is None:
            new.append(
                {
                    "identity": case.identity,
                    "rule": case.finding.rule,
                    "period": case.finding.period,
                    **values,
                    "first_seen_on": today,
                    "first_seen_period": period,
                    "last_seen_on": today,
                    "last_seen_period": period,
                    "present": True,
                    "status": "open",
                }
            )
        else:
            back += not row.present
            seen.append({"b_id": row.id, **{f"b_{k}": v for k, v in values.items()}})
    if new:
        connection.execute(insert(t), new)
    if seen:
        connection.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values(
                {name: bindparam(f"b_{name}") for name in FOUND_COLUMNS}
                | {"last_seen_on": today, "last_seen_period": period, "present": True}
            ),
            seen,
        )
    gone = [
        row.id
        for identity, row in known.items()
        if identity not in found and row.present and in_scope(row.rule, row.period)
    ]
    for start in range(0, len(gone), CHUNK):
        connection.execute(update(t).where(t.c.id.in_(gone[start : start + CHUNK])).values(present=False))
    counts = {"new": len(new), "seen_again": len(seen), "back": back, "no_longer_found": len(gone)}
    record(connection, actor, "trace_compile", period=period, detail=counts)
    return counts


def traced_finding(connection: Connection, trace_id: int) -> TracedFinding | None:
    found: TracedFinding | None = orm_first(connection, select(TracedFinding).where(TracedFinding.id == trace_id))
    return found


def traced_findings_for(
    connection: Connection,
    council_codes: Sequence[str],
    *,
    from_rules: Sequence[str],
    to_rules: Sequence[str],
    period: str | None = None,
    statuses: Sequence[str] | None = None,
) -> list[TracedFinding]:
    """The cases a council is told about: it is the `from` side of one of `from_rules`, or the
    `to` side of one of `to_rules` (under any of its `council_codes`)."""
    t = TracedFinding
    query = select(t).where(
        or_(
            and_(t.from_council_code.in_(council_codes), t.rule.in_(from_rules)),
            and_(t.to_council_code.in_(council_codes), t.rule.in_(to_rules)),
        )
    )
    if period is not None:
        query = query.where(t.period == period)
    if statuses is not None:
        query = query.where(t.status.in_(statuses))
    return orm_all(connection, query.order_by(t.period, t.rule, t.id))


def all_traced_findings(connection: Connection, *, through: str | None = None) -> list[TracedFinding]:
    query = select(TracedFinding)
    if through is not None:
        query = query.where(TracedFinding.period <= through)
    return orm_all(connection, query.order_by(TracedFinding.id))


def change_status(
    connection: Connection,
    case: TracedFinding,
    action: str,
    *,
    by: str,
    council_code: str,
    resolution: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Move `case` on by `action` (`transforms.link.TRACE_ACTIONS`) if its status still allows it
    (checked in the UPDATE itself, so two people at once cannot both move it); False otherwise.
    The audit row names the case, the statuses and the resolution, never the note's text."""
    allowed, to_status = TRACE_ACTIONS[action]
    when = at or utcnow()
    values: dict[str, Any] = {"status": to_status, "changed_by": by, "changed_at": when}
    if note is not None:
        values["note"] = note
    if action == "acknowledge":
        values |= {"acknowledged_by": by, "acknowledged_at": when}
    elif action == "resolve":
        values |= {"resolution": resolution, "resolved_by": by, "resolved_at": when}
    else:  # reopen: the case is open again; how it was resolved stays in the audit log
        values |= {"resolution": None, "resolved_by": None, "resolved_at": None}
    t = traced_findings
    changed = connection.execute(update(t).where(t.c.id == case.id, t.c.status.in_(allowed)).values(values)).rowcount
    if changed != 1:
        return False
    record(
        connection,
        by,
        f"trace_{action}",
        council_code=council_code,
        period=case.period,
        detail={
            "trace_id": case.id,
            "rule": case.rule,
            "from_status": case.status,
            "to_status": to_status,
            "resolution": resolution,
            "with_note": bool(note),
        },
    )
    return True


def record_provisional(
    connection: Connection, cases: Iterable[ChildToTrace], *, rule: str, today: date, actor: str = "daily"
) -> dict[str, int]:
    """Replace the provisional cases of `rule` (X1P, §8) with what the daily run found today.

    A known one keeps its status, note and who moved it; one the run no longer finds (the child
    arrived, or the quarter decided and X1 speaks) is deleted: a provisional query has no history
    to keep beyond the audit log. Returns the counts (also audited): new, seen_again, gone."""
    t = traced_findings
    known = {row.identity: row.id for row in connection.execute(select(t.c.identity, t.c.id).where(t.c.rule == rule))}
    new: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    found: set[str] = set()
    for case in cases:
        if case.identity in found:
            continue
        found.add(case.identity)
        values = _found_values(case)
        if case.identity in known:
            seen.append({"b_id": known[case.identity], **{f"b_{k}": v for k, v in values.items()}})
            continue
        new.append(
            {
                "identity": case.identity,
                "rule": rule,
                "period": case.finding.period,
                **values,
                "first_seen_on": today,
                "first_seen_period": case.finding.period,
                "last_seen_on": today,
                "last_seen_period": case.finding.period,
                "present": True,
                "status": "open",
            }
        )
    if new:
        connection.execute(insert(t), new)
    if seen:
        connection.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values(
                {name: bindparam(f"b_{name}") for name in FOUND_COLUMNS} | {"last_seen_on": today, "present": True}
            ),
            seen,
        )
    gone = [trace_id for identity, trace_id in known.items() if identity not in found]
    for start in range(0, len(gone), CHUNK):
        connection.execute(delete(t).where(t.c.id.in_(gone[start : start + CHUNK])))
    counts = {"new": len(new), "seen_again": len(seen), "gone": len(gone)}
    record(connection, actor, "trace_provisional", detail={"rule": rule, **counts})
    return counts
