"""Signing in and out, the start page and the health check."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.client import client_address
from portal.context import Portal
from portal.cookies import LOGIN_CSRF_COOKIE, delete_cookie, session_token, set_cookie, set_session_cookie
from portal.dependencies import OptionalSession, PortalContext, SignedIn
from portal.forms import CsrfChecked, LoginFields
from portal.links import home_path, redirect
from portal.pages import page

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/", name="home")
def home(request: Request, session: OptionalSession) -> Response:
    if session is None:
        return redirect(request, "/login")
    return redirect(request, home_path(session.user))


def login_page(
    request: Request,
    portal: Portal,
    status_code: int = 200,
    *,
    error: str | None = None,
    email: str = "",
    next_path: str | None = None,
) -> HTMLResponse:
    """The sign-in form with a fresh token, also set in a cookie (there is no session yet)."""
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        status_code,
        title="Sign in",
        error=error,
        email=email,
        login_csrf=token,
        next_path=next_path or "",
    )
    set_cookie(request, response, portal.settings, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/login", name="login")
def login_form(
    request: Request,
    portal: PortalContext,
    session: OptionalSession,
    next: str | None = None,  # noqa: A002
) -> Response:
    if session is not None:
        return redirect(request, home_path(session.user))
    return login_page(request, portal, next_path=next)


@router.post("/login")
def login(request: Request, portal: PortalContext, form: LoginFields) -> Response:
    email, password, next_path = form.email, form.password, form.next
    if not email or not password:
        return login_page(
            request, portal, 400, error="Enter your email address and password.", email=email, next_path=next_path
        )
    client = client_address(request, portal.settings)
    ip = client.address
    result = portal.accounts.authenticate(email, password, ip)
    if result.outcome != "ok" or result.user is None:
        # the audit log says which address was believed and what it was read from
        portal.service.audit(
            "login_failed", email.lower()[:254], detail={**client.audit_detail(), "reason": result.outcome}
        )
        if result.outcome == "locked":
            wait = result.wait_seconds
            return login_page(
                request,
                portal,
                429,
                error=f"Too many failed sign-in attempts. Wait {wait} second{'s' if wait != 1 else ''} and try again.",
                email=email,
                next_path=next_path,
            )
        return login_page(
            request, portal, 401, error="The email address or password is wrong.", email=email, next_path=next_path
        )
    user = result.user
    token, _csrf = portal.accounts.create_session(user)
    portal.service.audit(
        "login", user.email, council_code=user.council_code, detail={**client.audit_detail(), "role": user.role}
    )
    target = home_path(user)
    if next_path.startswith("/") and not next_path.startswith("//") and "\\" not in next_path:
        target = next_path
    response = redirect(request, target)
    set_session_cookie(request, response, portal.settings, token)
    delete_cookie(request, response, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, portal: PortalContext, session: SignedIn, _form: CsrfChecked) -> Response:
    token = session_token(request, portal.settings)
    if token:
        portal.accounts.end_session(token)
    portal.service.audit("logout", session.user.email, council_code=session.user.council_code)
    response = redirect(request, "/login")
    delete_cookie(request, response, portal.settings.cookie_name)
    return response
