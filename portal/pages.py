"""Server-rendered pages: every template gets the mount prefix, the signed-in user (for the
header) and the session's CSRF token (for the forms on the page)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from portal.context import portal_of
from portal.dependencies import current_session
from portal.links import prefix

TEMPLATES = Path(__file__).resolve().parent / "templates"


def templates_for_app() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["now_year"] = datetime.now(UTC).year
    return templates


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    found = current_session(request, portal_of(request.app))
    context.setdefault("title", "LSCB returns")
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
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


def error_page(
    request: Request, status_code: int, *, title: str, heading: str, text: str, back: str | None = None
) -> HTMLResponse:
    extra = {"back": back} if back is not None else {}
    return page(request, "error.html", status_code, title=title, heading=heading, text=text, **extra)


def not_found_page(request: Request) -> HTMLResponse:
    return error_page(
        request,
        404,
        title="Page not found",
        heading="Page not found",
        text="If you typed the web address, check it is correct.",
    )
