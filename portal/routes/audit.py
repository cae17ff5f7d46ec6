"""The audit log for analysts and administrators: every state change, newest first, filtered by
council, period, actor and action, a page at a time. Council users get the same 404 as a page
that is not there. What a row shows is `store.audit.shown_detail`: nothing child-level."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from portal.dependencies import AuditReader, PortalContext
from portal.links import url
from portal.pages import page

router = APIRouter()

PAGE_SIZE = 50
MAX_PAGES = 10_000  # a page number past this is the last one we would ever offer


def _page_number(value: str) -> int:
    raw = value.strip()
    return min(max(int(raw), 1), MAX_PAGES) if raw.isascii() and raw.isdigit() else 1


@router.get("/audit", name="audit")
def audit_log(  # noqa: PLR0913 - the filters are the page's query string
    request: Request,
    *,
    portal: PortalContext,
    session: AuditReader,
    council: str = "",
    period: str = "",
    actor: str = "",
    action: str = "",
    page_number: Annotated[str, Query(alias="page")] = "1",
) -> Response:
    filters = {
        "council": council.strip().upper()[:9],
        "period": period.strip().upper()[:7],
        "actor": actor.strip()[:200],
        "action": action.strip()[:40],
    }
    number = _page_number(page_number)
    found = portal.service.audit_log(
        council_code=filters["council"] or None,
        period=filters["period"] or None,
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    pages = max(1, -(-found.total // PAGE_SIZE))
    kept = {k: v for k, v in filters.items() if v}

    def page_link(n: int) -> str:
        return url(request, "/audit", **kept, page=n)

    return page(
        request,
        "audit.html",
        title="Audit log",
        entries=found.entries,
        total=found.total,
        filters=filters,
        actions=portal.service.audit_actions(),
        number=number,
        pages=pages,
        previous_link=page_link(number - 1) if number > 1 else None,
        next_link=page_link(number + 1) if number < pages else None,
        links_to_returns=session.user.role == "analyst",  # an admin reaches no council's pages
    )
