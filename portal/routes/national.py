"""The analysts' pages: the national tracker of a period, and the compile's output files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from portal.context import Portal
from portal.dependencies import Analyst, PortalContext
from portal.errors import NotFound
from portal.links import redirect
from portal.pages import page
from schemas.calendar import Period

router = APIRouter()

MAX_OUTPUTS_LISTED = 1000


@router.get("/national", name="national_latest")
def national_latest(request: Request, _analyst: Analyst) -> Response:
    return redirect(request, f"/national/{Period.latest_closed()}")


def _roots(portal: Portal) -> list[tuple[str, Path]]:
    """(prefix, folder): the quarterly compile's outputs, and the annual publications under
    `annual/`, each where the settings say the compile and the annual build write them."""
    return [("", portal.settings.outputs_dir), ("annual/", portal.settings.annual_dir)]


def _published(root: Path, path: Path) -> bool:
    """A file the compile or the annual build published: not in a dot folder (`.staging` holds
    outputs no audit has passed yet) and not a link."""
    relative = path.relative_to(root)
    return path.is_file() and not path.is_symlink() and not any(part.startswith(".") for part in relative.parts)


@router.get("/national/outputs", name="outputs")
def outputs(request: Request, portal: PortalContext, _analyst: Analyst) -> Response:
    files: list[dict[str, object]] = []
    for prefix, root in _roots(portal):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if len(files) >= MAX_OUTPUTS_LISTED:
                break
            if _published(root, path):
                stat = path.stat()
                files.append(
                    {
                        "name": prefix + path.relative_to(root).as_posix(),
                        "size": stat.st_size,
                        "modified": datetime.fromtimestamp(stat.st_mtime, UTC),
                    }
                )
    return page(request, "outputs.html", title="Compiled outputs", files=files, quote=quote)


@router.get("/national/outputs/{name:path}", name="output_file")
def output_file(portal: PortalContext, _analyst: Analyst, name: str) -> Response:
    prefix, root = ("annual/", portal.settings.annual_dir) if name.startswith("annual/") else _roots(portal)[0]
    root = root.resolve()
    relative = name.removeprefix(prefix)
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or (root / relative).is_symlink() or not _published(root, target):
        raise NotFound()
    response = FileResponse(target, filename=target.name, content_disposition_type="attachment")
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@router.get("/national/{period}", name="national")
def national(request: Request, portal: PortalContext, _analyst: Analyst, period: str) -> Response:
    try:
        parsed = Period.parse(period)
    except ValueError:
        raise NotFound() from None
    if parsed.code != period:
        raise NotFound()
    today = datetime.now(UTC).date()
    rows = portal.service.tracker(parsed, today)
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
        today=today,
    )
