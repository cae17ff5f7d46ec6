"""The portal's cookies: the session cookie (the session's random token, signed) and the sign-in
form's CSRF cookie. Both HttpOnly, SameSite=Lax, scoped to the mount point, Secure over https."""

from __future__ import annotations

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.client import is_https
from portal.links import prefix
from portal.settings import PortalConfig

LOGIN_CSRF_COOKIE = "lscb_login_csrf"


def _signer(settings: PortalConfig) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="lscb-portal-session")


def set_cookie(
    request: Request, response: Response, settings: PortalConfig, name: str, value: str, *, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=prefix(request) or "/",
        httponly=True,
        samesite="lax",
        secure=is_https(request, settings),
    )


def delete_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path=prefix(request) or "/")


def set_session_cookie(request: Request, response: Response, settings: PortalConfig, token: str) -> None:
    """The session's token, signed; a browser-session cookie (the server ends the session)."""
    set_cookie(request, response, settings, settings.cookie_name, _signer(settings).dumps(token), max_age=None)


def session_token(request: Request, settings: PortalConfig) -> str | None:
    """The token in the session cookie, if the cookie is ours and not past the absolute limit."""
    raw = request.cookies.get(settings.cookie_name)
    if not raw:
        return None
    try:
        token = _signer(settings).loads(raw, max_age=int(settings.absolute_timeout.total_seconds()))
    except BadSignature:
        return None
    return token if isinstance(token, str) else None
