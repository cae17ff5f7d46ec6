"""After a return is accepted: explaining its queries, and signing it off."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from store.audit import record
from store.engine import get_engine
from store.models import Explanation, FindingRecord, Submission, utcnow
from store.queries import (
    StoreError,
    check_actor,
    current_row,
    current_submission,
    normalise_council,
    normalise_period,
    orm_all,
    require_ready,
    unexplained_queries,
)


def explain(  # noqa: PLR0917 - the documented call is explain(council, period, rule, row, text, by)
    council_code: str,
    period: str,
    rule: str,
    row: int | None,
    text: str,
    by: str,
    *,
    engine_or_url: Engine | str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Explain a query finding of the current version, named by its rule and Excel row.

    A second explanation of the same finding replaces the first (the audit log keeps both).
    """
    code, period = normalise_council(council_code), normalise_period(period)
    by = check_actor(by, "the explainer (--by)")
    rule = str(rule).strip().upper()
    text = str(text or "").strip()
    if not text:
        raise StoreError("the explanation text is empty")
    engine = get_engine(engine_or_url)
    require_ready(engine)
    with engine.begin() as connection:
        current = current_row(connection, code, period)
        if current is None:
            raise StoreError(f"{code} has no accepted return for {period} to explain")
        if current.status == "signed_off":
            raise StoreError(f"version {current.version} of {code} {period} is already signed off")
        findings: list[FindingRecord] = orm_all(
            connection,
            select(FindingRecord).where(
                FindingRecord.submission_id == current.id,
                FindingRecord.rule == rule,
                FindingRecord.row.is_not_distinct_from(row),
            ),
        )
        where = f"row {row}" if row is not None else "the whole return"
        if not findings:
            open_queries = ", ".join(describe_query(q.rule, q.row) for q in unexplained_queries(connection, current.id))
            raise StoreError(
                f"version {current.version} of {code} {period} has no finding {rule} at {where}"
                + (f"; unexplained queries: {open_queries}" if open_queries else "")
            )
        if all(f.severity == "E" for f in findings):
            raise StoreError(f"{rule} at {where} is an error, not a query: errors are fixed, not explained")
        cell = findings[0].cell
        existing = connection.execute(
            select(Explanation.id).where(
                Explanation.submission_id == current.id,
                Explanation.rule == rule,
                Explanation.row.is_not_distinct_from(row),
            )
        ).scalar()
        when = at or utcnow()
        values = {"text": text, "explained_by": by, "explained_at": when, "cell": cell}
        if existing is None:
            connection.execute(
                insert(Explanation),
                {"submission_id": current.id, "rule": rule, "row": row, **values},
            )
        else:
            connection.execute(update(Explanation).where(Explanation.id == existing).values(**values))
        record(
            connection,
            by,
            "explain",
            council_code=code,
            period=period,
            submission_id=current.id,
            detail={
                "version": current.version,
                "rule": rule,
                "row": row,
                "cell": cell,
                "replaced": existing is not None,
            },
        )
    summary = current_submission(code, period, engine_or_url=engine)
    assert summary is not None
    return summary


def describe_query(rule: str, row: int | None) -> str:
    return f"{rule} row {row}" if row is not None else f"{rule} (whole return)"


def sign_off(
    council_code: str,
    period: str,
    by: str,
    *,
    engine_or_url: Engine | str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Sign off the current version: refused while it has errors or any unexplained query."""
    code, period = normalise_council(council_code), normalise_period(period)
    by = check_actor(by, "the signing role (--by)")
    engine = get_engine(engine_or_url)
    require_ready(engine)
    with engine.begin() as connection:
        current = current_row(connection, code, period)
        if current is None:
            raise StoreError(f"{code} has no accepted return for {period}: nothing to sign off")
        if current.status == "signed_off":
            raise StoreError(
                f"version {current.version} of {code} {period} is already signed off by {current.signed_off_by}"
            )
        if current.errors:
            raise StoreError(f"version {current.version} has {current.errors} error(s): it cannot be signed off")
        open_queries = unexplained_queries(connection, current.id)
        if open_queries:
            listed = ", ".join(describe_query(q.rule, q.row) for q in open_queries[:10])
            more = f" and {len(open_queries) - 10} more" if len(open_queries) > 10 else ""
            raise StoreError(
                f"version {current.version} of {code} {period} has {len(open_queries)} unexplained "
                f"quer{'y' if len(open_queries) == 1 else 'ies'} ({listed}{more}): explain them before signing off"
            )
        when = at or utcnow()
        changed = connection.execute(
            update(Submission)
            .where(Submission.id == current.id, Submission.status == "accepted")
            .values(status="signed_off", signed_off_by=by, signed_off_at=when)
        ).rowcount
        if changed != 1:
            raise StoreError(f"version {current.version} of {code} {period} changed while signing off; try again")
        record(
            connection,
            by,
            "sign_off",
            council_code=code,
            period=period,
            submission_id=current.id,
            detail={"version": current.version, "queries": current.queries},
        )
    summary = current_submission(code, period, engine_or_url=engine)
    assert summary is not None
    return summary
