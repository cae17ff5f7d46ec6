"""The council portal: a FastAPI app with server-rendered pages that work without JavaScript.

Run alone with `lscb portal`, or mounted in Airflow's API server by `portal.airflow_plugin` under
`/lscb`: every link is built from the request's `root_path` (`portal.links`), so the app works
under any prefix. Airflow gives plugin apps no authentication, so the portal has its own
(`portal.accounts`).

`create_app` only assembles: the portal context on `app.state`, the security headers, the
error pages, the routers (`portal.routes`: sign-in, council pages, analysts' review, children to
trace, national pages, the audit log, accounts) and the static files. Who may reach what is
`portal.dependencies`; forms are `portal.forms`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from portal.accounts import Accounts
from portal.api.app import ApiContext, create_api
from portal.client import is_https
from portal.context import Portal, portal_of
from portal.errors import CsrfFailed, LoginRequired, NotFound
from portal.links import prefix, redirect
from portal.pages import error_page, not_found_page, templates_for_app
from portal.routes import admin, audit, auth, councils, national, review, tracing
from portal.services import PortalService
from portal.settings import PortalConfig

HERE = Path(__file__).resolve().parent

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    portal = portal_of(app)
    if portal.settings.warm_up_validation:
        portal.service.start()
    try:
        yield
    finally:
        portal.service.close()


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    portal_app = request.app  # taken first: a mounted app (the API) puts itself in the scope
    response = await call_next(request)
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not request.url.path.startswith(prefix(request) + "/static/"):
        headers.setdefault("Cache-Control", "no-store")
    if is_https(request, portal_of(portal_app).settings):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


# ---- error pages: the same page for a missing resource and one outside the user's reach -------


async def not_found(request: Request, _exc: Exception) -> Response:
    return not_found_page(request)


async def method_not_allowed(request: Request, _exc: Exception) -> Response:
    return error_page(
        request,
        405,
        title="Not allowed",
        heading="That cannot be done here",
        text="Go back to the previous page and use its buttons.",
    )


async def server_error(request: Request, _exc: Exception) -> Response:
    logging.getLogger("portal").exception("unhandled error on %s %s", request.method, request.url.path)
    return error_page(
        request,
        500,
        title="Sorry, there is a problem",
        heading="Sorry, there is a problem",
        text="Something went wrong on our side. Try again later; if it keeps happening, "
        "tell your national data team the time it happened.",
    )


async def login_required(request: Request, _exc: Exception) -> Response:
    next_path = request.url.path[len(prefix(request)) :] if request.method == "GET" else None
    response = redirect(request, "/login", next=next_path)
    cookie = portal_of(request.app).settings.cookie_name
    if request.cookies.get(cookie):
        response.delete_cookie(cookie, path=prefix(request) or "/")
    return response


async def csrf_failed(request: Request, _exc: Exception) -> Response:
    return error_page(
        request,
        403,
        title="Form expired",
        heading="The form has expired",
        text="For your security the form could not be sent. Go back, reload the page and try again.",
    )


def create_app(
    service: PortalService | None = None,
    accounts: Accounts | None = None,
    settings: PortalConfig | None = None,
    api: ApiContext | None = None,
) -> FastAPI:
    """The portal over `service`, `accounts` and `settings` (tests), or, without them, over the
    project's settings, store and key, built at first use."""
    app = FastAPI(title="LSCB returns portal", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.portal = (
        Portal(settings, accounts, service) if service is not None and accounts is not None and settings else None
    )
    app.state.templates = templates_for_app()
    app.middleware("http")(security_headers)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, method_not_allowed)
    app.add_exception_handler(Exception, server_error)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(CsrfFailed, csrf_failed)
    # tracing before national: /national/children-to-trace is not a period for /national/{period}
    for area in (auth, councils, review, tracing, national, audit, admin):
        app.include_router(area.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.mount("/api/v1", create_api(api), name="api")  # the API of the standard (§8): JSON, OAuth 2.0
    return app


app = create_app()
