"""Links and redirects under the app's mount point: every URL the portal writes is built from the
request's `root_path` (empty when run alone, `/lscb` inside Airflow), so it works under any prefix."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse

from portal.accounts import User


def prefix(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def url(request: Request, path: str, **query: object) -> str:
    target = prefix(request) + path
    if query:
        target += "?" + urlencode({k: v for k, v in query.items() if v is not None})
    return target


def redirect(request: Request, path: str, **query: object) -> RedirectResponse:
    """A 303 (see other): after a form, the browser GETs the page it is sent to."""
    return RedirectResponse(url(request, path, **query), status_code=303)


def home_path(user: User) -> str:
    if user.role == "council":
        return f"/councils/{user.council_code}"
    if user.role == "analyst":
        return "/national"
    return "/admin/users"
