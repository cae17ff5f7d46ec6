"""The FastAPI dependencies every route is built from: the portal context, the session, roles
and scopes.

Access rules, enforced here for every council-scoped route: a council user reaches only their own
council; an analyst reads every council and writes nothing for a council (no upload, explanation
or sign-off) but reviews: accepts or rejects explanations, raises queries, reopens returns
(`CouncilToReview`); an admin manages accounts only. Analysts and admins read the audit log.
Anything outside a user's reach is `NotFound`, exactly like something that does not exist, so a
URL never tells anyone whether another council's resource exists.

Scopes build on each other (`PeriodToRead` needs `CouncilToRead`, which needs the session), and
FastAPI runs each once per request, in the order a route declares them: a route checks who is
asking before it reads anything, and reads its form (`portal.forms`) after the scope checks.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from portal.accounts import Session
from portal.context import Portal, portal_of
from portal.cookies import session_token
from portal.errors import LoginRequired, NotFound
from portal.services import SubmissionView
from schemas.calendar import Period


def portal_context(request: Request) -> Portal:
    return portal_of(request.app)


PortalContext = Annotated[Portal, Depends(portal_context)]


# ---- the session ---------------------------------------------------------------------------


def current_session(request: Request, portal: Portal) -> Session | None:
    """The request's live session, loaded once per request (the error pages ask for it too)."""
    if getattr(request.state, "session_loaded", False):
        cached: Session | None = request.state.session
        return cached
    token = session_token(request, portal.settings)
    found = portal.accounts.load_session(token) if token else None
    request.state.session = found
    request.state.session_loaded = True
    return found


def optional_session(request: Request, portal: PortalContext) -> Session | None:
    return current_session(request, portal)


OptionalSession = Annotated[Session | None, Depends(optional_session)]


def required_session(session: OptionalSession) -> Session:
    if session is None:
        raise LoginRequired()
    return session


SignedIn = Annotated[Session, Depends(required_session)]


def analyst_session(session: SignedIn) -> Session:
    if session.user.role != "analyst":
        raise NotFound()
    return session


def admin_session(session: SignedIn) -> Session:
    if session.user.role != "admin":
        raise NotFound()
    return session


def audit_reader_session(session: SignedIn) -> Session:
    if session.user.role not in ("analyst", "admin"):
        raise NotFound()
    return session


Analyst = Annotated[Session, Depends(analyst_session)]
Admin = Annotated[Session, Depends(admin_session)]
AuditReader = Annotated[Session, Depends(audit_reader_session)]


# ---- council, period and submission scopes --------------------------------------------------


def council_in_reach(session: Session, council_code: str, *, write: bool) -> str:
    """The council's GSS code if this user may read (or write) it; NotFound otherwise."""
    user = session.user
    code = council_code.strip().upper()
    if user.role == "council":
        if user.council_code != code:
            raise NotFound()
    elif user.role == "analyst":
        if write:
            raise NotFound()
    else:
        raise NotFound()
    from schemas.register import load_register

    council = load_register().find(code)
    if council is None or council.council_code != code:
        raise NotFound()
    return code


def council_to_read(council_code: str, session: SignedIn) -> str:
    return council_in_reach(session, council_code, write=False)


def council_to_write(council_code: str, session: SignedIn) -> str:
    return council_in_reach(session, council_code, write=True)


def council_to_review(council_code: str, session: Analyst) -> str:
    """An analyst's review of a council's return: analysts only (a council user gets NotFound)."""
    return council_in_reach(session, council_code, write=False)


CouncilToRead = Annotated[str, Depends(council_to_read)]
CouncilToWrite = Annotated[str, Depends(council_to_write)]
CouncilToReview = Annotated[str, Depends(council_to_review)]


def period_of(council_code: str, period: str) -> Period:
    """The period named exactly by its code, if the council was in operation in it."""
    try:
        parsed = Period.parse(period)
    except ValueError:
        raise NotFound() from None
    from schemas.register import load_register

    if parsed.code != period or not load_register().get(council_code).in_operation_during(parsed):
        raise NotFound()
    return parsed


def period_to_read(code: CouncilToRead, period: str) -> Period:
    return period_of(code, period)


def period_to_write(code: CouncilToWrite, period: str) -> Period:
    return period_of(code, period)


def period_to_review(code: CouncilToReview, period: str) -> Period:
    return period_of(code, period)


PeriodToRead = Annotated[Period, Depends(period_to_read)]
PeriodToWrite = Annotated[Period, Depends(period_to_write)]
PeriodToReview = Annotated[Period, Depends(period_to_review)]


MAX_ROW_ID = 2**63 - 1  # the largest id a database row can have (SQLite and PostgreSQL BIGINT)


def submission_to_read(code: CouncilToRead, submission_id: int, portal: PortalContext) -> SubmissionView:
    """A stored version of the council's, by id (another council's id is NotFound)."""
    if not 0 < submission_id <= MAX_ROW_ID:  # no such row: asked of the database it would overflow
        raise NotFound()
    submission = portal.service.get_submission(submission_id)
    if submission is None or submission.council_code != code:
        raise NotFound()
    return submission


SubmissionToRead = Annotated[SubmissionView, Depends(submission_to_read)]
