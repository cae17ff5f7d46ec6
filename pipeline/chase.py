"""Chasing councils: reminders before and after each deadline, a note to the uploader after each
upload, and (with the children to trace) word of new cross-council findings.

In the 2012 national request 141 of 154 councils never answered; the system writes to them
itself. Every message goes to a council's contacts (`store.chasing`), is recorded under a key
that says what it is about, and is never sent twice (a rerun of any day sends nothing new).
Messages hold council names, periods, dates, counts and links only: never a child identifier or
a local_child_id.

Sending is the caller's: a `Mailer` (SMTP from the settings, or Airflow's SMTP connection).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import Engine

from reports.email import RenderedEmail, render_email, to_message
from schemas.calendar import REMINDER_DAYS, Period
from schemas.register import Register, load_register
from store.chasing import claim_message, contacts, mark_message
from store.engine import get_engine

_log = logging.getLogger(__name__)
NOT_ACCEPTED = ("not_received", "rejected")


class Mailer(Protocol):
    sender: str

    def send(self, message: EmailMessage) -> None:
        """Send one message (raise on failure: the message is recorded as failed and sent again
        on the next run)."""
        ...


@dataclass
class ChaseOutcome:
    """What a run sent: small and free of personal data (a task result)."""

    kind: str
    period: str | None
    sent: list[str] = field(default_factory=list)  # council codes
    already_sent: list[str] = field(default_factory=list)
    no_contact: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "period": self.period,
            "sent": len(self.sent),
            "already_sent": len(self.already_sent),
            "no_contact": sorted(self.no_contact),
            "failed": sorted(self.failed),
        }


def reminder_due(today: date) -> tuple[Period, int] | None:
    """The period to chase today and how many days today is from its deadline (-14, -3 or +1),
    or None: reminders go out 14 and 3 days before the deadline and the day after it."""
    period = Period.latest_closed(today)
    offset = (today - period.deadline).days
    return (period, offset) if offset in REMINDER_DAYS else None


def send_reminders(
    engine: Engine | str,
    today: date,
    mailer: Mailer,
    *,
    portal_url: str,
    register: Register | None = None,
) -> ChaseOutcome:
    """Remind every council the register expects that has no accepted return for the period due
    (tracker state not received, or received with errors), when today is a reminder day."""
    from pipeline.tracker import period_tracker

    due = reminder_due(today)
    if due is None:
        return ChaseOutcome("reminder", None)
    period, offset = due
    register = register or load_register()
    engine = get_engine(engine)
    outcome = ChaseOutcome("reminder", period.code)
    tracked = period_tracker(engine, period, today=today, register=register)
    for row in tracked.to_dict("records"):
        if row["state"] not in NOT_ACCEPTED:
            continue
        council = register.get(row["council_code"])
        rendered = render_email(
            "reminder",
            {
                "council_name": council.name,
                "period": period.code,
                "period_dates": f"{_day(period.start)} to {_day(period.end)}",
                "deadline": _day(period.deadline),
                "days_to_deadline": -offset,
                "state": row["state"],
                "portal_link": f"{portal_url.rstrip('/')}/councils/{council.council_code}/periods/{period.code}",
            },
        )
        _deliver(
            engine, mailer, outcome, council.council_code, rendered,
            key=f"reminder:{offset:+d}:{period.code}:{council.council_code}", period=period.code,
            detail={"days_to_deadline": -offset, "state": row["state"]},
        )  # fmt: skip
    return outcome


def notify_upload(
    engine: Engine | str,
    mailer: Mailer,
    *,
    council_code: str,
    status: str,
    reference: str,
    portal_url: str,
    period: str | None = None,
    version: int | None = None,
    errors: int = 0,
    queries: int = 0,
    late: bool = False,
    file_name: str = "",
    reason: str = "",
    submission_id: int | None = None,
    uploader: str | None = None,
) -> ChaseOutcome:
    """Tell the uploader (a portal user's address) and the council's contacts what became of an
    upload: accepted or rejected with counts of errors and queries, or refused. A duplicate (the
    same bytes again) stores nothing new and is told nothing new: the page or the CLI says so, and
    a file delivered to the inbox twice is not two letters. `reference` keys the message (the
    submission id, or the file's checksum when refused)."""
    if status == "duplicate":
        return ChaseOutcome("upload", period)
    engine = get_engine(engine)
    council = load_register().get(council_code)
    link = f"{portal_url.rstrip('/')}/councils/{council.council_code}"
    if submission_id is not None:
        link += f"/submissions/{submission_id}"
    elif period:
        link += f"/periods/{period}"
    rendered = render_email(
        "upload",
        {
            "council_name": council.name,
            "status": status,
            "period": period or "",
            "version": version,
            "errors": errors,
            "queries": queries,
            "late": bool(late),
            "file_name": file_name,
            "reason": reason,
            "portal_link": link,
        },
    )
    outcome = ChaseOutcome("upload", period)
    extra = [uploader] if uploader and "@" in uploader else []
    _deliver(
        engine, mailer, outcome, council.council_code, rendered, key=f"upload:{status}:{reference}",
        period=period, extra=extra, detail={"status": status, "version": version, "errors": errors, "queries": queries},
    )  # fmt: skip
    return outcome


def notify_new_findings(
    engine: Engine | str,
    today: date,
    mailer: Mailer,
    *,
    portal_url: str,
    register: Register | None = None,
) -> ChaseOutcome:
    """Tell every council a cross-council finding first seen today concerns (both councils where
    the standard says both are told: `transforms.link.TOLD`): how many, of which kinds, shared with
    which councils, and a link to its Children to trace page. Never an id or a detail of a child."""
    import hashlib

    from schemas.standard import load_standard
    from store.tracing import all_traced_findings
    from transforms.link import TOLD

    register = register or load_register()
    standard = load_standard()
    engine = get_engine(engine)
    with engine.connect() as connection:
        new = [case for case in all_traced_findings(connection) if case.first_seen_on == today and case.present]
    by_council: dict[str, list[tuple[str, str, str]]] = {}  # council -> (rule, other council, identity)
    for case in new:
        for side in TOLD.get(case.rule, ()):
            pair = (case.from_council_code, case.to_council_code)
            mine, other = pair if side == "from" else pair[::-1]
            by_council.setdefault(mine, []).append((case.rule, other, case.identity))
    outcome = ChaseOutcome("finding", None)
    for code, cases in sorted(by_council.items()):
        council = register.find(code)
        if council is None:
            continue
        rules = sorted({rule for rule, _, _ in cases})
        others = sorted({_name(register, other) for _, other, _ in cases})
        rendered = render_email(
            "finding",
            {
                "council_name": council.name,
                "period": max(case.period for case in new if code in (case.from_council_code, case.to_council_code)),
                "count": len(cases),
                "rules": [
                    {
                        "count": sum(r == rule for r, _, _ in cases),
                        "description": standard.rule(rule).description.split(":")[0],
                    }
                    for rule in rules
                ],  # fmt: skip
                "others": ", ".join(others),
                "portal_link": f"{portal_url.rstrip('/')}/councils/{council.council_code}/children-to-trace",
            },
        )
        which = hashlib.sha256("|".join(sorted(i for _, _, i in cases)).encode()).hexdigest()[:16]
        key = f"finding:{today}:{council.council_code}:{which}"
        _deliver(
            engine, mailer, outcome, council.council_code, rendered, key=key, period=None,
            detail={"findings": len(cases), "rules": rules},
        )  # fmt: skip
    return outcome


def _name(register: Register, code: str) -> str:
    council = register.find(code)
    return council.name if council else code


def notify_national_team(
    engine: Engine | str,
    mailer: Mailer,
    *,
    address: str,
    reference: str,
    what: str,
    reason: str,
    dag_id: str,
    run_id: str,
    task_id: str = "",
    log_url: str = "",
) -> ChaseOutcome:
    """Tell the national team that a run failed or is overdue (once per `reference`)."""
    from datetime import UTC, datetime

    rendered = render_email(
        "failure",
        {"what": what, "reason": reason, "dag_id": dag_id, "run_id": run_id, "task_id": task_id,
         "log_url": log_url, "when": datetime.now(UTC).strftime("%-d %B %Y %H:%M UTC")},
    )  # fmt: skip
    outcome = ChaseOutcome("failure", None)
    engine = get_engine(engine)
    recipients = [address.strip().lower()]
    if not claim_message(
        engine, dedupe_key=reference, kind="failure", council_code=None, period=None,
        recipients=recipients, subject=rendered.subject, detail={"dag_id": dag_id, "run_id": run_id},
    ):  # fmt: skip
        outcome.already_sent.append("national")
        return outcome
    try:
        mailer.send(to_message(rendered, sender=mailer.sender, recipients=recipients, reference=reference))
    except Exception as error:  # noqa: BLE001 - recorded; the caller logs it
        mark_message(engine, reference, sent=False, error=f"{type(error).__name__}: {str(error)[:500]}")
        outcome.failed.append("national")
        return outcome
    mark_message(engine, reference, sent=True)
    outcome.sent.append("national")
    return outcome


def _deliver(
    engine: Engine,
    mailer: Mailer,
    outcome: ChaseOutcome,
    council_code: str,
    rendered: RenderedEmail,
    *,
    key: str,
    period: str | None,
    detail: dict[str, Any],
    extra: Iterable[str] = (),
) -> None:
    recipients = sorted({c.email for c in contacts(engine, council_code)} | {e.strip().lower() for e in extra})
    if not recipients:
        outcome.no_contact.append(council_code)
        return
    if not claim_message(
        engine, dedupe_key=key, kind=outcome.kind, council_code=council_code, period=period,
        recipients=recipients, subject=rendered.subject, detail=detail,
    ):  # fmt: skip
        outcome.already_sent.append(council_code)
        return
    try:
        mailer.send(to_message(rendered, sender=mailer.sender, recipients=recipients, reference=key))
    except Exception as error:  # noqa: BLE001 - recorded, and sent again by the next run
        _log.warning("message %s to %s not sent: %s", key, council_code, type(error).__name__)
        mark_message(engine, key, sent=False, error=f"{type(error).__name__}: {str(error)[:500]}")
        outcome.failed.append(council_code)
        return
    mark_message(engine, key, sent=True)
    outcome.sent.append(council_code)


def _day(value: date) -> str:
    return value.strftime("%-d %B %Y")
