"""An analyst's review of a council's current return, from its version page: accept or reject
the council's explanations, raise a query, reopen a signed-off return. Analysts only
(`CouncilToReview`: anyone else gets the same 404 as a page that is not there); each form is
CSRF-checked and calls the store through the portal's service, as `lscb review` does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from portal.dependencies import Analyst, CouncilToReview, PeriodToReview, PortalContext
from portal.errors import NotFound
from portal.forms import QueryFields, ReopenFields, ReviewFields
from portal.links import redirect, url
from portal.pages import error_page
from portal.services import ServiceError, SubmissionView

router = APIRouter()


def _current(portal: PortalContext, code: str, period: str) -> SubmissionView:
    current = portal.service.current_submission(code, period)
    if current is None or current.status == "rejected":
        raise NotFound()
    return current


def _refused(request: Request, back: str, heading: str, problem: ServiceError) -> Response:
    return error_page(request, 409, title=heading, heading=heading, text=str(problem), back=url(request, back))


@router.post("/councils/{council_code}/periods/{period}/review/explanation", name="review_explanation")
def review_explanation(
    request: Request,
    *,
    portal: PortalContext,
    session: Analyst,
    code: CouncilToReview,
    parsed: PeriodToReview,
    form: ReviewFields,
) -> Response:
    current = _current(portal, code, parsed.code)
    back = f"/councils/{code}/submissions/{current.id}"
    reviewer = session.user.email
    if form.decision not in ("accept", "reject"):
        return error_page(
            request,
            400,
            title="Choose a decision",
            heading="Choose a decision",
            text="Accept or reject the explanation.",
            back=url(request, back),
        )
    if form.decision == "reject" and not form.reason:
        return redirect(request, back, outcome="review_empty")
    try:
        if form.decision == "accept":
            portal.service.accept_explanation(code, parsed.code, form.rule, form.row, reviewer)
        else:
            portal.service.reject_explanation(code, parsed.code, form.rule, form.row, form.reason, reviewer)
    except ServiceError as problem:
        return _refused(request, back, "The review was not saved", problem)
    outcome = "explanation_accepted" if form.decision == "accept" else "explanation_rejected"
    return redirect(request, back, outcome=outcome)


@router.post("/councils/{council_code}/periods/{period}/review/queries", name="raise_query")
def raise_query(
    request: Request,
    *,
    portal: PortalContext,
    session: Analyst,
    code: CouncilToReview,
    parsed: PeriodToReview,
    form: QueryFields,
) -> Response:
    current = _current(portal, code, parsed.code)
    back = f"/councils/{code}/submissions/{current.id}"
    if not form.message:
        return redirect(request, back, outcome="review_empty")
    try:
        portal.service.raise_query(
            code, parsed.code, form.message, session.user.email, cell=form.cell or None, field=form.field or None
        )
    except ServiceError as problem:
        return _refused(request, back, "The query was not raised", problem)
    return redirect(request, back, outcome="query_raised")


@router.post("/councils/{council_code}/periods/{period}/review/reopen", name="reopen")
def reopen(
    request: Request,
    *,
    portal: PortalContext,
    session: Analyst,
    code: CouncilToReview,
    parsed: PeriodToReview,
    form: ReopenFields,
) -> Response:
    current = _current(portal, code, parsed.code)
    back = f"/councils/{code}/submissions/{current.id}"
    if not form.reason:
        return redirect(request, back, outcome="review_empty")
    try:
        portal.service.reopen(code, parsed.code, form.reason, session.user.email)
    except ServiceError as problem:
        return _refused(request, back, "The return was not reopened", problem)
    return redirect(request, back, outcome="reopened")
