"""A council's pages: its returns by quarter, a quarter's return (template, upload, versions), a
version's results and feedback, explanations and sign-off. Every route is scoped to the council
in its path (`portal.dependencies`): reading for the council's users and analysts, writing for
the council's users only."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from portal.accounts import Session
from portal.context import Portal
from portal.dependencies import (
    CouncilToRead,
    CouncilToWrite,
    PeriodToRead,
    PeriodToWrite,
    PortalContext,
    SignedIn,
    SubmissionToRead,
)
from portal.errors import CsrfFailed, NotFound
from portal.forms import CsrfChecked, ExplanationFields, csrf_ok_for
from portal.links import redirect, url
from portal.pages import error_page, page
from portal.services import FeedbackFormat, ServiceError, status_label
from portal.uploads import UploadForbidden, UploadInvalid, UploadTooLarge, receive_upload
from schemas.calendar import Period

router = APIRouter()

MAX_FINDINGS_SHOWN = 200  # per rule on a page; the feedback workbook has all of them
PERIODS_SHOWN = 8

OUTCOME_MESSAGES = {
    "accepted": "Your return was received and accepted.",
    "rejected": "Your return was received, but it has errors. Fix them and upload the corrected file.",
    "duplicate": "This file is the same as a version you uploaded before, so nothing new was stored.",
    "explained": "Your explanation was saved.",
    "signed_off": "The return is signed off. Thank you.",
    "explanation_accepted": "The explanation is accepted.",
    "explanation_rejected": "The explanation is rejected: the query is open until the council explains it again.",
    "query_raised": "The query is raised: the council must fix or explain it before signing off.",
    "reopened": "The return is reopened: the council must sign it off again.",
}


def today_utc() -> date:
    return datetime.now(UTC).date()


@router.get("/councils/{council_code}", name="council_home")
def council_home(request: Request, portal: PortalContext, code: CouncilToRead) -> Response:
    from schemas.register import load_register

    council = load_register().get(code)
    today = today_utc()
    periods: list[Period] = []
    candidate = Period.containing(today)
    while len(periods) < PERIODS_SHOWN and candidate.end >= council.start:
        if council.in_operation_during(candidate):
            periods.append(candidate)
        candidate = candidate.previous()
    rows = []
    # state and lateness are the national tracker's, as on the national page and in tracker.csv
    for tracked in portal.service.council_tracker(code, periods, today):
        period = Period.parse(tracked.period)
        rows.append(
            {
                "period": period,
                "current": tracked.submission,
                "status": tracked.status,
                "late": tracked.late,
                "open": today <= period.end,
            }
        )
    return page(request, "council.html", title=f"{council.name}: returns", council=council, rows=rows, today=today)


def period_context(portal: Portal, session: Session, code: str, period: Period) -> dict[str, Any]:
    from schemas.register import load_register

    service = portal.service
    today = today_utc()
    tracked = service.council_tracker(code, [period], today)
    return {
        "council": load_register().get(code),
        "period": period,
        "history": service.list_submissions(code, period.code),
        "current": service.current_submission(code, period.code),
        "tracked": tracked[0] if tracked else None,
        "max_upload_bytes": portal.settings.max_upload_bytes,
        "max_upload_mb": portal.settings.max_upload_bytes // (1024 * 1024),
        "can_write": session.user.role == "council",
        "today": today,
    }


@router.get("/councils/{council_code}/periods/{period}", name="period")
def period_page(
    request: Request, portal: PortalContext, session: SignedIn, code: CouncilToRead, parsed: PeriodToRead
) -> Response:
    context = period_context(portal, session, code, parsed)
    return page(request, "period.html", title=f"{parsed} return: {context['council'].name}", **context)


@router.get("/councils/{council_code}/periods/{period}/template.xlsx", name="template")
def template_download(portal: PortalContext, code: CouncilToRead, parsed: PeriodToRead) -> Response:
    work = portal.settings.work_dir / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="template-", suffix=".xlsx", dir=work)
    os.close(handle)
    out = portal.service.write_template(code, parsed.code, Path(name))
    return FileResponse(
        out,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=f"lscb-return-{code}-{parsed.code}.xlsx",
        background=BackgroundTask(out.unlink, missing_ok=True),
    )


@router.post("/councils/{council_code}/periods/{period}/upload", name="upload")
async def upload(
    request: Request, portal: PortalContext, session: SignedIn, code: CouncilToWrite, parsed: PeriodToWrite
) -> Response:
    """The form is streamed (`receive_upload`), never read whole: its CSRF token, sent before the
    file, is checked before a byte of the file is written."""
    settings = portal.settings
    incoming = settings.upload_dir / code / parsed.code
    error: str | None = None
    status_code = 400

    def problem_page(status: int, message: str | None) -> Response:
        return page(
            request,
            "period.html",
            status,
            title="There is a problem",
            upload_error=message,
            **period_context(portal, session, code, parsed),
        )

    try:
        received = await receive_upload(
            request,
            file_field="file",
            max_bytes=settings.max_upload_bytes,
            directory=incoming,
            before_file=csrf_ok_for(session),
        )
    except UploadTooLarge:
        from schemas.standard import load_standard

        template = load_standard().refusal("REF-TOO-LARGE").message
        error = template.format(
            what="The file", detail=f"the limit for an upload is {settings.max_upload_bytes // (1024 * 1024)} MB"
        )
        await run_in_threadpool(
            portal.service.audit,
            "upload_refused",
            session.user.email,
            council_code=code,
            period=parsed.code,
            detail={"reason": "too large"},
        )
        response = await run_in_threadpool(problem_page, 413, error)
        response.headers["Connection"] = "close"  # the rest of the body is not read
        return response
    except UploadForbidden:
        raise CsrfFailed() from None
    except UploadInvalid as invalid:
        error = str(invalid)[:1].upper() + str(invalid)[1:] + "."
    else:
        if not csrf_ok_for(session)(received.fields):
            received.path.unlink(missing_ok=True)
            raise CsrfFailed()
        # the plaintext as received (0600, a name of its own per request): the service keeps it
        # sealed once stored, or not at all when refused; never left behind in plain text
        final = received.path
        try:
            outcome = await run_in_threadpool(
                portal.service.submit,
                final,
                code,
                submitted_by=session.user.email,
                claimed_period=parsed.code,
                display_name=received.filename,
            )
        except ServiceError as failed:
            # nothing was stored (e.g. the check stopped part-way): say so, and let them retry
            return await run_in_threadpool(problem_page, 503, str(failed))
        finally:
            final.unlink(missing_ok=True)
        # the reason names the council's file, never the name it is kept under
        outcome = replace(outcome, message=outcome.message.replace(final.name, received.filename))
        tell = BackgroundTask(
            portal.service.notify_upload, outcome, uploader=session.user.email, file_name=received.filename,
            checksum=received.checksum,
        )  # fmt: skip
        answer: Response
        if outcome.status != "refused" and outcome.submission_id is not None:
            answer = redirect(request, f"/councils/{code}/submissions/{outcome.submission_id}", outcome=outcome.status)
        else:
            answer = await run_in_threadpool(problem_page, 422, outcome.message)
        answer.background = tell  # after the answer is sent: a slow mail server never holds up the page
        return answer
    return await run_in_threadpool(problem_page, status_code, error)


@router.get("/councils/{council_code}/submissions/{submission_id}", name="submission")
def submission_page(
    request: Request,
    *,
    portal: PortalContext,
    session: SignedIn,
    code: CouncilToRead,
    submission: SubmissionToRead,
    outcome: str | None = None,
) -> Response:
    from schemas.lifecycle import version_state
    from schemas.register import load_register
    from schemas.standard import load_standard

    standard = load_standard()
    findings = portal.service.findings(submission.id)
    if session.user.role != "council":  # an analyst: any full date in a message to its month (§6)
        from reports.feedback import month_only

        findings = [replace(f, message=month_only(f.message)) for f in findings]
    current = portal.service.current_submission(code, submission.period)
    groups: dict[tuple[str, str], list[Any]] = {}
    for finding in sorted(findings, key=lambda f: (f.severity, f.rule, f.row or 0, f.cell or "")):
        groups.setdefault((finding.severity, finding.rule), []).append(finding)

    def describe(rule_id: str) -> str:
        try:
            return standard.rule(rule_id).description
        except KeyError:
            return ""

    grouped = [
        {
            "severity": severity,
            "rule": rule,
            "description": describe(rule),
            "findings": items[:MAX_FINDINGS_SHOWN],
            "hidden": max(0, len(items) - MAX_FINDINGS_SHOWN),
            "count": len(items),
        }
        for (severity, rule), items in groups.items()
    ]
    is_current = current is not None and current.id == submission.id
    reviewable = is_current and submission.status != "rejected"
    return page(
        request,
        "submission.html",
        title=f"Version {submission.version}, {submission.period}",
        council=load_register().get(code),
        period=Period.parse(submission.period),
        submission=submission,
        # the state the return would be in with this version counting (the tracker's words)
        version_status=status_label(version_state(submission.status, submission.unexplained_queries)),
        errors=[g for g in grouped if g["severity"] == "E"],
        queries=[g for g in grouped if g["severity"] != "E"],
        is_current=is_current,
        can_write=session.user.role == "council" and reviewable,
        can_sign_off=session.user.role == "council" and is_current and submission.can_sign_off,
        # an analyst reviews the current version: explanations, queries of their own, reopening
        can_review=session.user.role == "analyst" and reviewable,
        sign_offs=portal.service.sign_off_history(code, submission.period),
        outcome_message=OUTCOME_MESSAGES.get(outcome or ""),
        outcome=outcome,
    )


@router.get("/councils/{council_code}/submissions/{submission_id}/feedback.{fmt}", name="feedback")
def feedback(
    request: Request,
    *,
    portal: PortalContext,
    session: SignedIn,
    code: CouncilToRead,
    submission: SubmissionToRead,
    fmt: str,
) -> Response:
    """Built for each request from the kept upload and deleted once sent (a cached copy would be
    child-level data left in plain text on disk). The council's own users see their data as they
    sent it; anyone else (an analyst) gets dates of birth to the month only (standard §6)."""
    if fmt not in ("xlsx", "html"):
        raise NotFound()
    work = portal.settings.work_dir / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="feedback-", suffix=f".{fmt}", dir=work)
    os.close(handle)
    out = Path(name)
    try:
        kind: FeedbackFormat = "xlsx" if fmt == "xlsx" else "html"
        portal.service.write_feedback(submission, kind, out, birth_month_only=session.user.role != "council")
    except ServiceError as problem:
        out.unlink(missing_ok=True)
        return error_page(
            request, 503, title="Feedback not available", heading="The feedback is not available", text=str(problem)
        )
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    cleanup = BackgroundTask(out.unlink, missing_ok=True)
    if fmt == "html":
        response: Response = FileResponse(out, media_type="text/html; charset=utf-8", background=cleanup)
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
        return response
    return FileResponse(
        out,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename=f"lscb-feedback-{code}-{submission.period}-v{submission.version}.xlsx",
        background=cleanup,
    )


@router.post("/councils/{council_code}/periods/{period}/explanations", name="explain")
def explain(
    request: Request,
    *,
    portal: PortalContext,
    session: SignedIn,
    code: CouncilToWrite,
    parsed: PeriodToWrite,
    form: ExplanationFields,
) -> Response:
    current = portal.service.current_submission(code, parsed.code)
    if current is None:
        raise NotFound()
    back = f"/councils/{code}/submissions/{current.id}"
    if not form.text:
        return redirect(request, back, outcome="explain_empty")
    try:
        portal.service.explain(code, parsed.code, form.rule, form.row, form.text, session.user.email)
    except ServiceError as problem:
        return error_page(
            request,
            400,
            title="Explanation not saved",
            heading="The explanation was not saved",
            text=str(problem),
            back=url(request, back),
        )
    return redirect(request, back, outcome="explained")


@router.post("/councils/{council_code}/periods/{period}/sign-off", name="sign_off")
def sign_off(
    request: Request,
    *,
    portal: PortalContext,
    session: SignedIn,
    code: CouncilToWrite,
    parsed: PeriodToWrite,
    _form: CsrfChecked,
) -> Response:
    current = portal.service.current_submission(code, parsed.code)
    if current is None:
        raise NotFound()
    back = f"/councils/{code}/submissions/{current.id}"
    try:
        portal.service.sign_off(code, parsed.code, session.user.email)
    except ServiceError as problem:
        return error_page(
            request,
            409,
            title="Not signed off",
            heading="The return was not signed off",
            text=str(problem),
            back=url(request, back),
        )
    return redirect(request, back, outcome="signed_off")
