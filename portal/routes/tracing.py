"""Children to trace: the cross-council findings (X1-X6) a council is told about, with the forms
that move them on (acknowledge, resolve, reopen), and the analysts' national summary.

A council's page is scoped like every council page (`CouncilToRead`: its own users and analysts;
`CouncilToWrite` for the forms: its own users only). What it shows is `pipeline.tracing`'s view for
that council: its own local_child_id only, the other council named, never the other's id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal.accounts import Session
from portal.context import Portal
from portal.dependencies import Analyst, CouncilToRead, CouncilToWrite, PortalContext, SignedIn
from portal.errors import NotFound
from portal.forms import TraceFields, TraceForm
from portal.links import redirect, url
from portal.pages import error_page, page
from portal.services import ServiceError

router = APIRouter()

STATUS_FILTERS = ("open", "acknowledged", "resolved")
OUTCOME_MESSAGES = {
    "acknowledged": "The case is acknowledged: the other council can see that you are looking.",
    "resolved": "The case is resolved. The other council and the national team can see how.",
    "reopened": "The case is open again.",
}
DONE = {"acknowledge": "acknowledged", "resolve": "resolved", "reopen": "reopened"}


def today_utc() -> date:
    return datetime.now(UTC).date()


@router.get("/councils/{council_code}/children-to-trace", name="children_to_trace")
def council_cases(
    request: Request,
    *,
    portal: PortalContext,
    session: SignedIn,
    code: CouncilToRead,
    status: str | None = None,
    outcome: str | None = None,
) -> Response:
    from schemas.register import load_register

    own_council = session.user.role == "council"  # CouncilToRead: its own users, or an analyst
    cases = portal.service.children_to_trace(code)
    # X6 is for the council now responsible: anyone else sees how many, never the children
    pictures_withheld = 0 if own_council else sum(1 for c in cases if c.rule == "X6")
    cases = cases if own_council else [c for c in cases if c.rule != "X6"]
    shown = [c for c in cases if c.status == status] if status in STATUS_FILTERS else cases
    today = today_utc()
    return page(
        request,
        "children_to_trace.html",
        title=f"Children to trace: {load_register().get(code).name}",
        council=load_register().get(code),
        cases=shown,
        counts={s: sum(1 for c in cases if c.status == s) for s in STATUS_FILTERS},
        overdue=sum(1 for c in cases if c.overdue(today)),
        total=len(cases),
        status=status if status in STATUS_FILTERS else None,
        statuses=STATUS_FILTERS,
        pictures_withheld=pictures_withheld,
        can_write=own_council,
        outcome_message=OUTCOME_MESSAGES.get(outcome or ""),
        today=today,
    )


def _move(request: Request, portal: Portal, session: Session, code: str, *, action: str, form: TraceForm) -> Response:
    back = f"/councils/{code}/children-to-trace"
    if form.trace_id is None or form.trace_id not in {c.id for c in portal.service.children_to_trace(code)}:
        raise NotFound()  # another council's case is out of reach, and looks like one that does not exist
    try:
        portal.service.move_trace(
            code, form.trace_id, action, session.user.email, resolution=form.resolution, note=form.note
        )
    except ServiceError as problem:
        return error_page(
            request,
            409,
            title="Not saved",
            heading="The case was not changed",
            text=str(problem),
            back=url(request, back),
        )
    return redirect(request, back, outcome=DONE[action])


@router.post("/councils/{council_code}/children-to-trace/acknowledge", name="trace_acknowledge")
def acknowledge(
    request: Request, *, portal: PortalContext, session: SignedIn, code: CouncilToWrite, form: TraceFields
) -> Response:
    return _move(request, portal, session, code, action="acknowledge", form=form)


@router.post("/councils/{council_code}/children-to-trace/resolve", name="trace_resolve")
def resolve(
    request: Request, *, portal: PortalContext, session: SignedIn, code: CouncilToWrite, form: TraceFields
) -> Response:
    return _move(request, portal, session, code, action="resolve", form=form)


@router.post("/councils/{council_code}/children-to-trace/reopen", name="trace_reopen")
def reopen(
    request: Request, *, portal: PortalContext, session: SignedIn, code: CouncilToWrite, form: TraceFields
) -> Response:
    return _move(request, portal, session, code, action="reopen", form=form)


@router.get("/national/children-to-trace", name="national_children_to_trace")
def national_cases(request: Request, portal: PortalContext, _analyst: Analyst) -> Response:
    from transforms.measures import OPEN_TOO_LONG_DAYS

    summary = portal.service.tracing_summary(today_utc())
    return page(
        request,
        "national_tracing.html",
        title="Children to trace: national summary",
        summary=summary,
        limit=OPEN_TOO_LONG_DAYS,
        totals={  # every case once: the pairs (X1-X5) and England's X6
            key: sum(row[key] or 0 for row in summary.pairs)
            + sum(row[key] or 0 for row in summary.whole_picture if not row["region_code"])
            for key in ("open", "acknowledged", "no_longer_found", "resolved", f"over_{OPEN_TOO_LONG_DAYS}_days")
        },
    )
