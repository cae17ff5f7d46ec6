"""After a return is accepted: the council explains its queries and signs it off; a national
analyst reviews the explanations (accepts, or rejects with a reason), raises queries of their own,
and reopens a signed-off return (`schemas.lifecycle` says the rules in words).

Each function is one transaction that writes its audit row with it. Who may call which is the
interfaces' business (the portal's scopes: a council explains and signs off its own returns,
an analyst reviews, raises and reopens); the store records who did it. Free text (explanations,
reasons, questions) is refused when it holds what reads as a UPN or NHS number, and never goes
into the audit log, which says only what was done to which query.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from schemas.identifiers import mentions_identifier
from schemas.lifecycle import REJECTED
from schemas.standard import Rule, Standard, available_versions, load_standard
from store.audit import record
from store.engine import get_engine
from store.models import Explanation, FindingRecord, Reopening, Submission, child_records, utcnow
from store.queries import (
    StoreError,
    check_actor,
    current_row,
    current_submission,
    normalise_council,
    normalise_period,
    orm_all,
    orm_first,
    require_ready,
    unexplained_queries,
)

MAX_TEXT = 4000  # an explanation, a rejection's or a reopening's reason, an analyst's question
_CELL = re.compile(r"^([A-Za-z]+)!\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def free_text(text: str | None, what: str) -> str:
    """Text a person wrote, trimmed: not empty, not too long, and no child's identifier in it."""
    cleaned = str(text or "").strip()
    if not cleaned:
        raise StoreError(f"{what} is empty")
    if len(cleaned) > MAX_TEXT:
        raise StoreError(f"{what} is longer than {MAX_TEXT} characters")
    if mentions_identifier(cleaned):
        raise StoreError(
            f"{what} seems to hold a UPN or NHS number: never write a child's identifiers; "
            "name the child by the council's local_child_id or the Excel row"
        )
    return cleaned


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

    A second explanation of the same finding replaces the first (the audit log keeps both) and
    waits for an analyst's review again; a rejected explanation's reason stays beside it until then.
    """
    code, period = normalise_council(council_code), normalise_period(period)
    by = check_actor(by, "the explainer (--by)")
    rule = str(rule).strip().upper()
    text = free_text(text, "the explanation text")
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
            select(Explanation.id, Explanation.review).where(
                Explanation.submission_id == current.id,
                Explanation.rule == rule,
                Explanation.row.is_not_distinct_from(row),
            )
        ).first()
        when = at or utcnow()
        values = {"text": text, "explained_by": by, "explained_at": when, "cell": cell, "review": "pending"}
        if existing is None:
            connection.execute(
                insert(Explanation),
                {"submission_id": current.id, "rule": rule, "row": row, **values},
            )
        else:
            connection.execute(update(Explanation).where(Explanation.id == existing.id).values(**values))
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
                "previous_review": existing.review if existing is not None else None,
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
        current = current_row(connection, code, period, lock=True)
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


# ---- an analyst's side: review explanations, raise queries, reopen ---------------------------


def accept_explanation(  # noqa: PLR0917 - the shape of explain: council, period, rule, row, by
    council_code: str,
    period: str,
    rule: str,
    row: int | None,
    by: str,
    *,
    engine_or_url: Engine | str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Accept the council's explanation of a query of its current version: who and when are
    recorded; the query stays explained. Refused for a rejected explanation (the council explains
    again first) and for one already accepted."""
    return _review(council_code, period, rule, row, by, None, engine_or_url=engine_or_url, at=at)


def reject_explanation(  # noqa: PLR0917 - the shape of explain: council, period, rule, row, reason, by
    council_code: str,
    period: str,
    rule: str,
    row: int | None,
    reason: str,
    by: str,
    *,
    engine_or_url: Engine | str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Reject the council's explanation of a query, with the reason the council is shown: the
    query is open again (sign-off, the tracker, the pages) until the council explains it again.
    A signed-off return is reopened. An accepted explanation can still be rejected."""
    reason = free_text(reason, "the reason for rejecting")
    return _review(council_code, period, rule, row, by, reason, engine_or_url=engine_or_url, at=at)


def _review(  # noqa: PLR0917
    council_code: str,
    period: str,
    rule: str,
    row: int | None,
    by: str,
    reason: str | None,
    *,
    engine_or_url: Engine | str,
    at: datetime | None,
) -> dict[str, Any]:
    code, period = normalise_council(council_code), normalise_period(period)
    by = check_actor(by, "the reviewer (--by)")
    rule = str(rule).strip().upper()
    decision = "accepted" if reason is None else REJECTED
    engine = get_engine(engine_or_url)
    require_ready(engine)
    where = describe_query(rule, row)
    with engine.begin() as connection:
        current = current_row(connection, code, period, lock=True)
        if current is None:
            raise StoreError(f"{code} has no accepted return for {period}: no explanation to review")
        explanation: Explanation | None = orm_first(
            connection,
            select(Explanation).where(
                Explanation.submission_id == current.id,
                Explanation.rule == rule,
                Explanation.row.is_not_distinct_from(row),
            ),
        )
        if explanation is None:
            raise StoreError(f"{where} of version {current.version} of {code} {period} has no explanation to review")
        if explanation.review == decision:
            raise StoreError(
                f"the explanation of {where} was already {decision} by {explanation.reviewed_by}"
                + ("; the council has not explained it again yet" if decision == REJECTED else "")
            )
        if decision == "accepted" and explanation.review == REJECTED:
            raise StoreError(f"the explanation of {where} was rejected: the council must explain it again first")
        when = at or utcnow()
        changed = connection.execute(
            update(Explanation)
            .where(Explanation.id == explanation.id, Explanation.explained_at == explanation.explained_at)
            .values(review=decision, reviewed_by=by, reviewed_at=when, review_reason=reason)
        ).rowcount
        if changed != 1:
            raise StoreError(f"the explanation of {where} changed while it was reviewed; look at it again")
        reopened = decision == REJECTED and current.status == "signed_off"
        record(
            connection,
            by,
            "accept_explanation" if decision == "accepted" else "reject_explanation",
            council_code=code,
            period=period,
            submission_id=current.id,
            detail={
                "version": current.version,
                "rule": rule,
                "row": row,
                "cell": explanation.cell,
                "reopened": reopened,
            },
        )
        if reopened:
            assert reason is not None
            _reopen(connection, current, by, reason, cause="explanation_rejected", when=when)
    return _summary_after(code, period, engine, reopened=reopened)


def analyst_rule(standard: Standard | None = None) -> Rule:
    """The standard's rule for queries analysts raise (its one rule of scope `analyst`)."""
    (found,) = (standard or load_standard()).rules_for("analyst")
    return found


def raise_query(  # noqa: PLR0913 - a query names where it points: cell and field, both optional
    council_code: str,
    period: str,
    message: str,
    by: str,
    *,
    cell: str | None = None,
    field: str | None = None,
    engine_or_url: Engine | str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Raise an analyst's query (the standard's rule of scope `analyst`, e.g. ANL-01) on the
    council's current version: on a cell (`Children!F12`; a Children row must be one of the
    version's children), on a field, or on the whole return (neither). It is a query finding of
    the version, to be explained before sign-off; a signed-off version is reopened, with the
    question as the reason. One analyst query per Excel row of a version (the whole return is one
    row), as explanations name a query by rule and row: ask a follow-up by rejecting its
    explanation."""
    code, period = normalise_council(council_code), normalise_period(period)
    by = check_actor(by, "the analyst (--by)")
    message = free_text(message, "the query's message")
    engine = get_engine(engine_or_url)
    require_ready(engine)
    with engine.begin() as connection:
        current = current_row(connection, code, period, lock=True)
        if current is None:
            raise StoreError(f"{code} has no accepted return for {period} to raise a query on")
        version = current.standard_version if current.standard_version in available_versions() else None
        standard = load_standard(version) if version else load_standard()
        rule = analyst_rule(standard)
        sheet, cell_ref, field_name, row = _query_location(standard, cell, field)
        local_child_id = None
        if sheet == "Children" and row is not None:
            local_child_id = connection.execute(
                select(child_records.c.local_child_id).where(
                    child_records.c.submission_id == current.id, child_records.c.row == row
                )
            ).scalar()
            if local_child_id is None:
                raise StoreError(f"Children row {row} is not a child of version {current.version} of {code} {period}")
        clash: FindingRecord | None = orm_first(
            connection,
            select(FindingRecord).where(
                FindingRecord.submission_id == current.id,
                FindingRecord.rule == rule.id,
                FindingRecord.row.is_not_distinct_from(row),
            ),
        )
        if clash is not None:
            at_what = f"row {row} ({clash.cell or clash.sheet})" if row is not None else "the whole return"
            raise StoreError(
                f"version {current.version} of {code} {period} already has an analyst query at {at_what}: "
                "ask a follow-up by rejecting its explanation with your question"
            )
        when = at or utcnow()
        connection.execute(
            insert(FindingRecord),
            {
                "submission_id": current.id,
                "rule": rule.id,
                "severity": rule.severity,
                "sheet": sheet,
                "cell": cell_ref,
                "field": field_name,
                "local_child_id": local_child_id,
                "message": rule.message.format(message=message),
                "row": row,
                "raised_by": by,
                "raised_at": when,
            },
        )
        # the version's query count includes it (the pages, `lscb submissions`, the feedback's name)
        connection.execute(update(Submission).where(Submission.id == current.id).values(queries=Submission.queries + 1))
        reopened = current.status == "signed_off"
        record(
            connection,
            by,
            "raise_query",
            council_code=code,
            period=period,
            submission_id=current.id,
            detail={
                "version": current.version,
                "rule": rule.id,
                "row": row,
                "cell": cell_ref,
                "field": field_name,
                "reopened": reopened,
            },
        )
        if reopened:
            _reopen(connection, current, by, message, cause="query_raised", when=when)
    return _summary_after(code, period, engine, reopened=reopened)


def _query_location(
    standard: Standard, cell: str | None, field: str | None
) -> tuple[str | None, str | None, str | None, int | None]:
    """(sheet, cell, field, Excel row) of an analyst's query, from a cell reference and/or a field."""
    cell = str(cell or "").strip() or None
    field = str(field or "").strip() or None
    sheet: str | None = None
    cell_ref: str | None = None
    row: int | None = None
    if cell is not None:
        match = _CELL.match(cell)
        names = {name.lower(): name for name in standard.sheet_names}
        if match is None or match[1].lower() not in names:
            raise StoreError(
                f"{cell!r} is not a cell of the return: name the sheet and the cell, e.g. Children!F12 "
                f"(sheets: {', '.join(standard.sheet_names)})"
            )
        sheet, row = names[match[1].lower()], int(match[3])
        if row < 2:
            raise StoreError(f"{cell} is in the header row: name the cell of a value (row 2 or below)")
        if standard.sheet(sheet).layout == "keyvalue" and row > standard.limits.max_keyvalue_rows + 1:
            raise StoreError(f"{cell} is below the last row a {sheet} sheet can have")
        cell_ref = f"{sheet}!{match[2].upper()}{row}"
    if field is not None:
        field = field.lower()
        candidates = [s.name for s in standard.sheets if field in s.field_names]
        if sheet is not None and sheet not in candidates:
            raise StoreError(f"{sheet} has no field {field!r}")
        if sheet is None:
            if not candidates:
                raise StoreError(f"{field!r} is not a field of the standard")
            if len(candidates) > 1:
                raise StoreError(f"{field} is on the {' and '.join(candidates)} sheets: name the cell too")
            sheet = candidates[0]
    return sheet, cell_ref, field, row


def reopen(
    council_code: str,
    period: str,
    reason: str,
    by: str,
    *,
    engine_or_url: Engine | str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Reopen the council's signed-off current version, with the reason the council is shown:
    it is accepted again (still the current version) and must be signed off again. The sign-off
    it undoes is kept (`sign_off_history`, and the audit log)."""
    code, period = normalise_council(council_code), normalise_period(period)
    by = check_actor(by, "the analyst (--by)")
    reason = free_text(reason, "the reason for reopening")
    engine = get_engine(engine_or_url)
    require_ready(engine)
    with engine.begin() as connection:
        current = current_row(connection, code, period, lock=True)
        if current is None:
            raise StoreError(f"{code} has no accepted return for {period}: nothing to reopen")
        if current.status != "signed_off":
            raise StoreError(f"version {current.version} of {code} {period} is not signed off: nothing to reopen")
        _reopen(connection, current, by, reason, cause="reopened", when=at or utcnow())
    return _summary_after(code, period, engine, reopened=True)


def _reopen(connection: Connection, current: Submission, by: str, reason: str, *, cause: str, when: datetime) -> None:
    """Take a signed-off version back to accepted, keeping the sign-off it undoes, in the caller's
    transaction (with its audit row)."""
    changed = connection.execute(
        update(Submission)
        .where(Submission.id == current.id, Submission.status == "signed_off")
        .values(status="accepted", signed_off_by=None, signed_off_at=None)
    ).rowcount
    if changed != 1:
        raise StoreError(f"version {current.version} of {current.council_code} {current.period} changed; try again")
    connection.execute(
        insert(Reopening),
        {
            "submission_id": current.id,
            "cause": cause,
            "reason": reason,
            "reopened_by": by,
            "reopened_at": when,
            "signed_off_by": current.signed_off_by or "",
            "signed_off_at": current.signed_off_at or when,
        },
    )
    record(
        connection,
        by,
        "reopen",
        council_code=current.council_code,
        period=current.period,
        submission_id=current.id,
        detail={"version": current.version, "cause": cause},
    )


def _summary_after(code: str, period: str, engine: Engine, *, reopened: bool) -> dict[str, Any]:
    summary = current_submission(code, period, engine_or_url=engine)
    assert summary is not None
    return {**summary, "reopened": reopened}


def sign_off_history(council_code: str, period: str, *, engine_or_url: Engine | str) -> list[dict[str, Any]]:
    """Every sign-off and reopening of the council's versions for the period, newest first: each
    `{"event": "signed_off" | "reopened", "version", "by", "at" (ISO), "cause", "reason"}` (cause
    and reason for reopenings only)."""
    code, period = normalise_council(council_code), normalise_period(period)
    events: list[dict[str, Any]] = []
    with get_engine(engine_or_url).connect() as connection:
        versions: list[Submission] = orm_all(
            connection, select(Submission).where(Submission.council_code == code, Submission.period == period)
        )
        by_id = {v.id: v for v in versions}
        reopenings: list[Reopening] = orm_all(
            connection, select(Reopening).where(Reopening.submission_id.in_(list(by_id))).order_by(Reopening.id)
        )
    for reopening in reopenings:
        version = by_id[reopening.submission_id].version
        events.append(_event("signed_off", version, reopening.signed_off_by, reopening.signed_off_at))
        events.append(
            _event(
                "reopened",
                version,
                reopening.reopened_by,
                reopening.reopened_at,
                cause=reopening.cause,
                reason=reopening.reason,
            )
        )
    for submission in versions:
        if submission.status == "signed_off" and submission.signed_off_at is not None:
            signed_by = submission.signed_off_by or ""
            events.append(_event("signed_off", submission.version, signed_by, submission.signed_off_at))
    order = {"signed_off": 0, "reopened": 1}  # at the same instant, the sign-off came first
    events.sort(key=lambda e: (e["_at"], order[e["event"]]), reverse=True)
    for event in events:
        del event["_at"]
    return events


def _event(
    event: str, version: int, by: str, at: datetime, *, cause: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    iso = at.isoformat().replace("+00:00", "Z")
    return {"event": event, "version": version, "by": by, "at": iso, "cause": cause, "reason": reason, "_at": at}
