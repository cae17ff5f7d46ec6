"""The council portal: a FastAPI app with server-rendered pages that work without JavaScript.

Run alone with `lscb portal`, or mounted in Airflow's API server by `portal.airflow_plugin` under
`/lscb`: every link is built from the request's `root_path`, so the app works under any prefix.
Airflow gives plugin apps no authentication, so the portal has its own (see `portal.accounts`).

Access rules, enforced by `_council_scope` on every council-scoped route: a council user sees
only their own council; an analyst reads every council and writes nothing; an admin manages
accounts only. Anything outside a user's reach is a 404, exactly like something that does not
exist, so a URL never tells anyone whether another council's resource exists.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from portal.accounts import AccountError, Accounts, Session, User
from portal.services import PortalService, ServiceError, SubmissionView, status_label
from portal.settings import PortalConfig
from portal.uploads import UploadForbidden, UploadInvalid, UploadTooLarge, receive_upload
from schemas.calendar import Period

HERE = Path(__file__).resolve().parent
LOGIN_CSRF_COOKIE = "lscb_login_csrf"
MAX_FINDINGS_SHOWN = 200  # per rule on a page; the feedback workbook has all of them
PERIODS_SHOWN = 8

OUTCOME_MESSAGES = {
    "accepted": "Your return was received and accepted.",
    "rejected": "Your return was received, but it has errors. Fix them and upload the corrected file.",
    "duplicate": "This file is the same as a version you uploaded before, so nothing new was stored.",
    "explained": "Your explanation was saved.",
    "signed_off": "The return is signed off. Thank you.",
}


class NotFound(Exception):
    """Answered with the generic 404 page (also for resources the user may not see)."""


class LoginRequired(Exception):
    pass


class CsrfFailed(Exception):
    pass


@dataclass
class Portal:
    """What the app needs, built on first use so importing the module is cheap."""

    settings: PortalConfig
    accounts: Accounts
    service: PortalService


def _build_default(app: FastAPI) -> Portal:
    from lscb.settings import load_settings
    from portal.store_service import StoreService
    from store.engine import get_engine
    from store.migrate import ensure_current

    project = load_settings()
    settings = PortalConfig.from_settings(project)
    key = project.key()  # no key, no portal: uploads could not be pseudonymised
    engine = get_engine(project.database())
    ensure_current(engine)
    accounts = Accounts(
        engine,
        idle_timeout=settings.idle_timeout,
        absolute_timeout=settings.absolute_timeout,
        max_failures=settings.max_failures,
        lockout=settings.lockout,
    )
    service = StoreService(engine, settings.upload_dir, secret=key.secret, validators=settings.validators)
    return Portal(settings, accounts, service)


def create_app(
    service: PortalService | None = None,
    accounts: Accounts | None = None,
    settings: PortalConfig | None = None,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        service = portal().service
        if portal().settings.warm_up_validation:
            service.start()
        try:
            yield
        finally:
            service.close()

    app = FastAPI(title="LSCB returns portal", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["now_year"] = datetime.now(UTC).year
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.state.portal = (
        Portal(settings, accounts, service) if service is not None and accounts is not None and settings else None
    )

    def portal() -> Portal:
        if app.state.portal is None:
            app.state.portal = _build_default(app)
        return app.state.portal  # type: ignore[no-any-return]

    # ---- helpers ----------------------------------------------------------------------------

    def prefix(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def url(request: Request, path: str, **query: object) -> str:
        target = prefix(request) + path
        if query:
            target += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        return target

    def redirect(request: Request, path: str, **query: object) -> RedirectResponse:
        return RedirectResponse(url(request, path, **query), status_code=303)

    def is_https(request: Request) -> bool:
        configured = portal().settings.secure_cookies
        if configured is not None:
            return configured
        if portal().settings.trust_proxy and request.headers.get("x-forwarded-proto", "").lower() == "https":
            return True
        return request.url.scheme == "https"

    def client_ip(request: Request) -> str:
        if portal().settings.trust_proxy and request.headers.get("x-forwarded-for"):
            return request.headers["x-forwarded-for"].split(",")[0].strip()
        return request.client.host if request.client else "unknown"

    def serializer() -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(portal().settings.secret_key, salt="lscb-portal-session")

    def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=prefix(request) or "/",
            httponly=True,
            samesite="lax",
            secure=is_https(request),
        )

    def session_token(request: Request) -> str | None:
        raw = request.cookies.get(portal().settings.cookie_name)
        if not raw:
            return None
        try:
            token = serializer().loads(raw, max_age=int(portal().settings.absolute_timeout.total_seconds()))
        except BadSignature:
            return None
        return token if isinstance(token, str) else None

    def current_session(request: Request) -> Session | None:
        if getattr(request.state, "session_loaded", False):
            cached: Session | None = request.state.session
            return cached
        token = session_token(request)
        found = portal().accounts.load_session(token) if token else None
        request.state.session = found
        request.state.session_loaded = True
        return found

    def require(request: Request, *roles: str) -> Session:
        found = current_session(request)
        if found is None:
            raise LoginRequired()
        if roles and found.user.role not in roles:
            raise NotFound()
        return found

    async def check_csrf(request: Request, session: Session, submitted: str | None = None) -> dict[str, str]:
        """Verify the form's CSRF token against the session's; returns the (urlencoded) form."""
        fields: dict[str, str] = {}
        if submitted is None:
            form = await request.form(max_files=0, max_fields=20)
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            submitted = fields.get("csrf_token", "")
        if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf_token.encode()):
            raise CsrfFailed()
        return fields

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        found = current_session(request)
        context.setdefault("title", "LSCB returns")
        response = templates.TemplateResponse(
            request,
            name,
            {
                "prefix": prefix(request),
                "user": found.user if found else None,
                "csrf_token": found.csrf_token if found else "",
                **context,
            },
            status_code=status_code,
        )
        return response

    def home_path(user: User) -> str:
        if user.role == "council":
            return f"/councils/{user.council_code}"
        if user.role == "analyst":
            return "/national"
        return "/admin/users"

    def audit(action: str, actor: str, **kwargs: Any) -> None:
        portal().service.audit(action, actor, **kwargs)

    # ---- access control ---------------------------------------------------------------------

    def council_scope(session: Session, council_code: str, *, write: bool = False) -> str:
        """The council code if this user may read (or write) it; NotFound otherwise."""
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

        if load_register().find(code) is None or load_register().get(code).council_code != code:
            raise NotFound()
        return code

    def period_scope(council_code: str, period: str) -> Period:
        try:
            parsed = Period.parse(period)
        except ValueError:
            raise NotFound() from None
        from schemas.register import load_register

        if parsed.code != period or not load_register().get(council_code).in_operation_during(parsed):
            raise NotFound()
        return parsed

    def submission_scope(council_code: str, submission_id: int) -> SubmissionView:
        submission = portal().service.get_submission(submission_id)
        if submission is None or submission.council_code != council_code:
            raise NotFound()
        return submission

    # ---- error handling and headers ---------------------------------------------------------

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, _exc: NotFound) -> Response:
        return page(request, "error.html", 404, title="Page not found", heading="Page not found",
                    text="If you typed the web address, check it is correct.")

    @app.exception_handler(404)
    async def _starlette_404(request: Request, _exc: Exception) -> Response:
        return page(request, "error.html", 404, title="Page not found", heading="Page not found",
                    text="If you typed the web address, check it is correct.")

    @app.exception_handler(405)
    async def _method_not_allowed(request: Request, _exc: Exception) -> Response:
        return page(request, "error.html", 405, title="Not allowed", heading="That cannot be done here",
                    text="Go back to the previous page and use its buttons.")

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception) -> Response:
        import logging

        logging.getLogger("portal").exception("unhandled error on %s %s", request.method, request.url.path)
        return page(request, "error.html", 500, title="Sorry, there is a problem", heading="Sorry, there is a problem",
                    text="Something went wrong on our side. Try again later; if it keeps happening, "
                    "tell your national data team the time it happened.")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc: LoginRequired) -> Response:
        next_path = request.url.path[len(prefix(request)):] if request.method == "GET" else None
        response = redirect(request, "/login", next=next_path)
        if request.cookies.get(portal().settings.cookie_name):
            response.delete_cookie(portal().settings.cookie_name, path=prefix(request) or "/")
        return response

    @app.exception_handler(CsrfFailed)
    async def _csrf_failed(request: Request, _exc: CsrfFailed) -> Response:
        return page(request, "error.html", 403, title="Form expired", heading="The form has expired",
                    text="For your security the form could not be sent. Go back, reload the page and try again.")

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith(prefix(request) + "/static/"):
            headers.setdefault("Cache-Control", "no-store")
        if is_https(request):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    # ---- sign-in ----------------------------------------------------------------------------

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", name="home")
    def home(request: Request) -> Response:
        found = current_session(request)
        if found is None:
            return redirect(request, "/login")
        return redirect(request, home_path(found.user))

    def login_page(request: Request, status_code: int = 200, error: str | None = None, email: str = "",
                   next_path: str | None = None) -> HTMLResponse:
        token = secrets.token_urlsafe(32)
        response = page(request, "login.html", status_code, title="Sign in", error=error, email=email,
                        login_csrf=token, next_path=next_path or "")
        set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response

    @app.get("/login", name="login")
    def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
        found = current_session(request)
        if found is not None:
            return redirect(request, home_path(found.user))
        return login_page(request, next_path=next)

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        submitted = fields.get("csrf_token", "")
        if not cookie_token or not hmac.compare_digest(cookie_token.encode(), submitted.encode()):
            raise CsrfFailed()
        email = fields.get("email", "").strip()[:254]
        password = fields.get("password", "")[:1024]
        next_path = fields.get("next", "")
        if not email or not password:
            return login_page(request, 400, "Enter your email address and password.", email, next_path)
        ip = client_ip(request)
        result = await run_in_threadpool(portal().accounts.authenticate, email, password, ip)
        if result.outcome != "ok" or result.user is None:
            audit("login_failed", email.lower(), detail={"ip": ip, "reason": result.outcome})
            if result.outcome == "locked":
                minutes = int(portal().settings.lockout.total_seconds() // 60)
                return login_page(
                    request, 429,
                    f"Too many failed sign-in attempts. Wait {minutes} minutes and try again.", email, next_path,
                )
            return login_page(request, 401, "The email address or password is wrong.", email, next_path)
        user = result.user
        token, _csrf = portal().accounts.create_session(user)
        audit("login", user.email, council_code=user.council_code, detail={"ip": ip, "role": user.role})
        target = home_path(user)
        if next_path.startswith("/") and not next_path.startswith("//") and "\\" not in next_path:
            target = next_path
        response = redirect(request, target)
        set_cookie(request, response, portal().settings.cookie_name, serializer().dumps(token), max_age=None)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=prefix(request) or "/")
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        found = require(request)
        await check_csrf(request, found)
        token = session_token(request)
        if token:
            portal().accounts.end_session(token)
        audit("logout", found.user.email, council_code=found.user.council_code)
        response = redirect(request, "/login")
        response.delete_cookie(portal().settings.cookie_name, path=prefix(request) or "/")
        return response

    # ---- council pages ----------------------------------------------------------------------

    @app.get("/councils/{council_code}", name="council_home")
    def council_home(request: Request, council_code: str) -> Response:
        found = require(request)
        code = council_scope(found, council_code)
        from schemas.register import load_register

        council = load_register().get(code)
        today = datetime.now(UTC).date()
        periods: list[Period] = []
        candidate = Period.containing(today)
        while len(periods) < PERIODS_SHOWN and candidate.end >= council.start:
            if council.in_operation_during(candidate):
                periods.append(candidate)
            candidate = candidate.previous()
        rows = []
        # state and lateness are the national tracker's, as on the national page and in tracker.csv
        for tracked in portal().service.council_tracker(code, periods, today):
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

    def period_context(request: Request, session: Session, code: str, period: Period) -> dict[str, Any]:
        from schemas.register import load_register

        service = portal().service
        history = service.list_submissions(code, period.code)
        current = service.current_submission(code, period.code)
        tracked = service.council_tracker(code, [period], datetime.now(UTC).date())
        return {
            "council": load_register().get(code),
            "period": period,
            "history": history,
            "current": current,
            "tracked": tracked[0] if tracked else None,
            "max_upload_bytes": portal().settings.max_upload_bytes,
            "max_upload_mb": portal().settings.max_upload_bytes // (1024 * 1024),
            "can_write": session.user.role == "council",
            "today": datetime.now(UTC).date(),
        }

    @app.get("/councils/{council_code}/periods/{period}", name="period")
    def period_page(request: Request, council_code: str, period: str) -> Response:
        found = require(request)
        code = council_scope(found, council_code)
        parsed = period_scope(code, period)
        context = period_context(request, found, code, parsed)
        return page(request, "period.html", title=f"{parsed} return: {context['council'].name}", **context)

    @app.get("/councils/{council_code}/periods/{period}/template.xlsx", name="template")
    def template_download(request: Request, council_code: str, period: str) -> Response:
        found = require(request)
        code = council_scope(found, council_code)
        parsed = period_scope(code, period)
        work = portal().settings.work_dir / "tmp"
        work.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="template-", suffix=".xlsx", dir=work)
        os.close(handle)
        out = portal().service.write_template(code, parsed.code, Path(name))
        return FileResponse(
            out,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=f"lscb-return-{code}-{parsed.code}.xlsx",
            background=BackgroundTask(out.unlink, missing_ok=True),
        )

    @app.post("/councils/{council_code}/periods/{period}/upload", name="upload")
    async def upload(request: Request, council_code: str, period: str) -> Response:
        found = require(request)
        code = council_scope(found, council_code, write=True)
        parsed = period_scope(code, period)
        settings = portal().settings
        incoming = settings.upload_dir / code / parsed.code
        error: str | None = None
        status_code = 400
        try:
            received = await receive_upload(
                request,
                file_field="file",
                max_bytes=settings.max_upload_bytes,
                directory=incoming,
                before_file=lambda fields: _csrf_ok(fields.get("csrf_token", ""), found),
            )
        except UploadTooLarge:
            from schemas.standard import load_standard

            template = load_standard().refusal("REF-TOO-LARGE").message
            error = template.format(
                what="The file", detail=f"the limit for an upload is {settings.max_upload_bytes // (1024 * 1024)} MB"
            )
            status_code = 413
            audit("upload_refused", found.user.email, council_code=code, period=parsed.code,
                  detail={"reason": "too large"})
            response = page(request, "period.html", status_code, title="There is a problem", upload_error=error,
                            **period_context(request, found, code, parsed))
            response.headers["Connection"] = "close"  # the rest of the body is not read
            return response
        except UploadForbidden:
            raise CsrfFailed() from None
        except UploadInvalid as problem:
            error = str(problem)[:1].upper() + str(problem)[1:] + "."
        else:
            if not _csrf_ok(received.fields.get("csrf_token", ""), found):
                received.path.unlink(missing_ok=True)
                raise CsrfFailed()
            final = incoming / f"{received.checksum}.{received.extension}"
            if final.exists():
                received.path.unlink(missing_ok=True)
            else:
                received.path.replace(final)
            try:
                outcome = await run_in_threadpool(
                    portal().service.submit,
                    final,
                    code,
                    submitted_by=found.user.email,
                    claimed_period=parsed.code,
                    display_name=received.filename,
                )
            except ServiceError as problem:
                # nothing was stored (e.g. the check stopped part-way): say so, and let them retry
                return page(request, "period.html", 503, title="There is a problem", upload_error=str(problem),
                            **period_context(request, found, code, parsed))
            if outcome.status != "refused" and outcome.submission_id is not None:
                return redirect(request, f"/councils/{code}/submissions/{outcome.submission_id}",
                                outcome=outcome.status)
            # the reason names the council's file, never the name it is kept under
            error = outcome.message.replace(final.name, received.filename)
            status_code = 422
        return page(request, "period.html", status_code, title="There is a problem", upload_error=error,
                    **period_context(request, found, code, parsed))

    @app.get("/councils/{council_code}/submissions/{submission_id}", name="submission")
    def submission_page(
        request: Request, council_code: str, submission_id: int, outcome: str | None = None
    ) -> Response:
        found = require(request)
        code = council_scope(found, council_code)
        submission = submission_scope(code, submission_id)
        from schemas.lifecycle import version_state
        from schemas.register import load_register
        from schemas.standard import load_standard

        standard = load_standard()
        findings = portal().service.findings(submission.id)
        current = portal().service.current_submission(code, submission.period)
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
            can_write=found.user.role == "council" and is_current and submission.status != "rejected",
            can_sign_off=found.user.role == "council" and is_current and submission.can_sign_off,
            outcome_message=OUTCOME_MESSAGES.get(outcome or ""),
            outcome=outcome,
        )

    @app.get("/councils/{council_code}/submissions/{submission_id}/feedback.{fmt}", name="feedback")
    def feedback(request: Request, council_code: str, submission_id: int, fmt: str) -> Response:
        found = require(request)
        code = council_scope(found, council_code)
        submission = submission_scope(code, submission_id)
        if fmt not in ("xlsx", "html"):
            raise NotFound()
        out = portal().settings.work_dir / "feedback" / code / submission.period / f"{submission.id}.{fmt}"
        if not out.exists():
            try:
                portal().service.write_feedback(submission, fmt, out)  # type: ignore[arg-type]
            except ServiceError as problem:
                return page(request, "error.html", 503, title="Feedback not available",
                            heading="The feedback is not available", text=str(problem))
        if fmt == "html":
            response: Response = FileResponse(out, media_type="text/html; charset=utf-8")
            response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
            return response
        return FileResponse(
            out,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=f"lscb-feedback-{code}-{submission.period}-v{submission.version}.xlsx",
        )

    @app.post("/councils/{council_code}/periods/{period}/explanations", name="explain")
    async def explain(request: Request, council_code: str, period: str) -> Response:
        found = require(request)
        code = council_scope(found, council_code, write=True)
        parsed = period_scope(code, period)
        fields = await check_csrf(request, found)
        current = portal().service.current_submission(code, parsed.code)
        if current is None:
            raise NotFound()
        text = fields.get("text", "").strip()
        rule = fields.get("rule", "").strip()[:20]
        raw_row = fields.get("row", "").strip()
        row = int(raw_row) if raw_row.isdigit() else None
        if not text:
            return redirect(request, f"/councils/{code}/submissions/{current.id}", outcome="explain_empty")
        try:
            await run_in_threadpool(portal().service.explain, code, parsed.code, rule, row, text[:4000],
                                    found.user.email)
        except ServiceError as problem:
            return page(request, "error.html", 400, title="Explanation not saved",
                        heading="The explanation was not saved", text=str(problem),
                        back=url(request, f"/councils/{code}/submissions/{current.id}"))
        return redirect(request, f"/councils/{code}/submissions/{current.id}", outcome="explained")

    @app.post("/councils/{council_code}/periods/{period}/sign-off", name="sign_off")
    async def sign_off(request: Request, council_code: str, period: str) -> Response:
        found = require(request)
        code = council_scope(found, council_code, write=True)
        parsed = period_scope(code, period)
        await check_csrf(request, found)
        current = portal().service.current_submission(code, parsed.code)
        if current is None:
            raise NotFound()
        try:
            await run_in_threadpool(portal().service.sign_off, code, parsed.code, found.user.email)
        except ServiceError as problem:
            return page(request, "error.html", 409, title="Not signed off", heading="The return was not signed off",
                        text=str(problem), back=url(request, f"/councils/{code}/submissions/{current.id}"))
        return redirect(request, f"/councils/{code}/submissions/{current.id}", outcome="signed_off")

    # ---- analyst pages ----------------------------------------------------------------------

    @app.get("/national", name="national_latest")
    def national_latest(request: Request) -> Response:
        require(request, "analyst")
        return redirect(request, f"/national/{Period.latest_closed()}")

    @app.get("/national/outputs", name="outputs")
    def outputs(request: Request) -> Response:
        require(request, "analyst")
        root = portal().settings.outputs_dir
        files = []
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
                    stat = path.stat()
                    files.append(
                        {
                            "name": path.relative_to(root).as_posix(),
                            "size": stat.st_size,
                            "modified": datetime.fromtimestamp(stat.st_mtime, UTC),
                        }
                    )
                if len(files) >= 1000:
                    break
        return page(request, "outputs.html", title="Compiled outputs", files=files, quote=quote)

    @app.get("/national/outputs/{name:path}", name="output_file")
    def output_file(request: Request, name: str) -> Response:
        require(request, "analyst")
        root = portal().settings.outputs_dir.resolve()
        target = (root / name).resolve()
        if not target.is_relative_to(root) or not target.is_file() or (root / name).is_symlink():
            raise NotFound()
        response = FileResponse(target, filename=target.name, content_disposition_type="attachment")
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response

    @app.get("/national/{period}", name="national")
    def national(request: Request, period: str) -> Response:
        require(request, "analyst")
        try:
            parsed = Period.parse(period)
        except ValueError:
            raise NotFound() from None
        if parsed.code != period:
            raise NotFound()
        rows = portal().service.tracker(parsed, datetime.now(UTC).date())
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return page(
            request,
            "national.html",
            title=f"National tracker {parsed}",
            period=parsed,
            rows=rows,
            counts=counts,
            late=sum(1 for r in rows if r.late),
            previous=parsed.previous(),
            next=parsed.next(),
            today=datetime.now(UTC).date(),
        )

    # ---- admin pages ------------------------------------------------------------------------

    @app.get("/admin/users", name="users")
    def users_page(request: Request, done: str | None = None) -> Response:
        require(request, "admin")
        return page(request, "users.html", title="Accounts", users=portal().accounts.list_users(),
                    done={"added": "The account was added.", "disabled": "The account was disabled.",
                          "enabled": "The account was enabled."}.get(done or ""))

    @app.post("/admin/users", name="add_user")
    async def add_user(request: Request) -> Response:
        found = require(request, "admin")
        fields = await check_csrf(request, found)
        email = fields.get("email", "")
        role = fields.get("role", "")
        try:
            user = portal().accounts.add_user(email, role, fields.get("password", ""),
                                              fields.get("council_code", "").strip() or None)
        except AccountError as problem:
            return page(request, "users.html", 400, title="Accounts", users=portal().accounts.list_users(),
                        error=str(problem)[:1].upper() + str(problem)[1:] + ".", form=fields)
        audit("account_add", found.user.email, council_code=user.council_code,
              detail={"email": user.email, "role": user.role})
        return redirect(request, "/admin/users", done="added")

    @app.post("/admin/users/{user_id}/{action}", name="user_action")
    async def user_action(request: Request, user_id: int, action: str) -> Response:
        found = require(request, "admin")
        await check_csrf(request, found)
        target = portal().accounts.get(user_id)
        if target is None or action not in ("disable", "enable"):
            raise NotFound()
        portal().accounts.set_disabled(target.email, action == "disable")
        audit(f"account_{action}", found.user.email, council_code=target.council_code, detail={"email": target.email})
        return redirect(request, "/admin/users", done=f"{action}d")

    return app


def _csrf_ok(submitted: str, session: Session) -> bool:
    return bool(submitted) and hmac.compare_digest(submitted.encode(), session.csrf_token.encode())


def today_utc() -> date:
    return datetime.now(UTC).date()


app = create_app()
