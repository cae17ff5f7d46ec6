"""Load test of the portal on loopback: many council users upload their return at once.

Each council gets its own account; each user, in its own HTTP session (cookies), signs in
through the form, opens the period page for its CSRF token, and uploads its return, as a
person would. Users arrive evenly over a window (e.g. all 153 councils within a minute), at
most `concurrency` of them are active at a time, and the whole run has a deadline (bounded run
time): users not finished by then count as not done. The upload's
response time is from sending the file to the answer (validation and storing included; the
portal answers once the return is stored).

Afterwards the database is checked: every council has exactly one stored version for the
period (none lost, none duplicated), with all its child rows. Used by `bench/portal_load.py`
(the national figures) and by a smaller integration test.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.portal import (
    PASSWORD,
    Server,
    csrf_token,
    default_database_url,
    prepare_database,
    processes_in_group,
)


@dataclass
class Upload:
    council_code: str
    status_code: int | None = None
    seconds: float | None = None  # the upload request alone
    outcome: str | None = None  # accepted / rejected / ... from the redirect, or the failure
    error: str | None = None


@dataclass
class LoadResult:
    councils: int
    children: int
    concurrency: int
    workers: int
    database: str
    wall_seconds: float
    uploads: list[Upload]
    stored: dict[str, int] = field(default_factory=dict)  # council -> versions stored for the period
    child_rows: dict[str, int] = field(default_factory=dict)  # council -> child rows of its versions
    expected_children: dict[str, int] = field(default_factory=dict)
    spread_seconds: float = 0.0  # users arrived evenly over this window
    left_running: list[int] = field(default_factory=list)  # server processes alive after it stopped

    @property
    def times(self) -> list[float]:
        return sorted(u.seconds for u in self.uploads if u.seconds is not None)

    def percentile(self, share: float) -> float:
        times = self.times
        if not times:
            return float("nan")
        return times[min(len(times) - 1, max(0, round(share * len(times) + 0.5) - 1))]

    @property
    def succeeded(self) -> list[Upload]:
        return [u for u in self.uploads if u.status_code == 303 and u.error is None]

    @property
    def lost(self) -> list[str]:
        return sorted(code for code in self.expected_children if self.stored.get(code, 0) == 0)

    @property
    def duplicated(self) -> list[str]:
        return sorted(code for code, versions in self.stored.items() if versions > 1)

    @property
    def wrong_rows(self) -> list[str]:
        return sorted(
            code
            for code, rows in self.expected_children.items()
            if self.stored.get(code) and self.child_rows.get(code) != rows
        )

    @property
    def exactly_once(self) -> bool:
        return (
            len(self.succeeded) == self.councils
            and not self.lost
            and not self.duplicated
            and not self.wrong_rows
            and len(self.stored) == self.councils
        )

    def summary(self) -> dict[str, Any]:
        times = self.times
        return {
            "councils": self.councils,
            "children_per_return": self.children,
            "concurrency": self.concurrency,
            "arrivals_over_s": self.spread_seconds,
            "web_processes": self.workers,
            "database": self.database,
            "wall_s": round(self.wall_seconds, 1),
            "uploads_ok": len(self.succeeded),
            "uploads_per_s": round(len(self.succeeded) / self.wall_seconds, 2) if self.wall_seconds else None,
            "p50_s": round(statistics.median(times), 2) if times else None,
            "p95_s": round(self.percentile(0.95), 2) if times else None,
            "max_s": round(times[-1], 2) if times else None,
            "stored_exactly_once": self.exactly_once,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "wrong_child_rows": self.wrong_rows,
            "processes_left_running": len(self.left_running),
            "failures": [
                f"{u.council_code}: {u.error or u.status_code}" for u in self.uploads if u not in self.succeeded
            ],
        }


async def _one_user(
    base_url: str,
    email: str,
    upload: Upload,
    *,
    path: Path,
    period: str,
    gate: asyncio.Semaphore,
    deadline: float,
    arrives_after: float,
) -> None:
    import httpx

    await asyncio.sleep(arrives_after)
    async with gate:
        if time.monotonic() > deadline:
            upload.error = "not started before the deadline"
            return
        timeout = httpx.Timeout(max(1.0, deadline - time.monotonic()))
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout, follow_redirects=False) as client:
            try:
                page = await client.get("/login")
                signed_in = await client.post(
                    "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(page.text)}
                )
                if signed_in.status_code != 303:
                    upload.error = f"sign-in answered {signed_in.status_code}"
                    return
                period_page = await client.get(f"/councils/{upload.council_code}/periods/{period}")
                token = csrf_token(period_page.text)
                content = path.read_bytes()
                started = time.perf_counter()
                answer = await client.post(
                    f"/councils/{upload.council_code}/periods/{period}/upload",
                    data={"csrf_token": token},
                    files={"file": (path.name, content, "application/octet-stream")},
                )
                upload.seconds = time.perf_counter() - started
                upload.status_code = answer.status_code
                location = answer.headers.get("location", "")
                upload.outcome = location.rsplit("outcome=", 1)[-1] if "outcome=" in location else None
                if answer.status_code != 303:
                    upload.error = f"upload answered {answer.status_code}"
            except (httpx.HTTPError, AssertionError) as problem:
                upload.error = f"{type(problem).__name__}: {problem}"


async def _drive(
    base_url: str,
    files: dict[str, Path],
    emails: dict[str, str],
    *,
    period: str,
    concurrency: int,
    deadline: float,
    spread: float,
) -> list[Upload]:
    gate = asyncio.Semaphore(concurrency)
    uploads = {code: Upload(code) for code in files}
    step = spread / len(files) if files else 0.0
    await asyncio.gather(
        *(
            _one_user(
                base_url,
                emails[code],
                uploads[code],
                path=files[code],
                period=period,
                gate=gate,
                deadline=deadline,
                arrives_after=number * step,
            )
            for number, code in enumerate(files)
        )
    )
    return [uploads[code] for code in files]


def _production_hasher() -> Any:
    """The portal's own argon2 parameters, hashing the (shared) test password once: every account
    then signs in at the real cost (one verification, no upgrade of a cheap hash), and setting up
    153 accounts does not take a minute."""
    from argon2 import PasswordHasher

    class HashOnce(PasswordHasher):
        _memo: dict[str, str] = {}  # one bench run, one password

        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            key = password if isinstance(password, str) else password.decode()
            if key not in self._memo:
                self._memo[key] = super().hash(password)
            return self._memo[key]

    return HashOnce()


def council_users(codes: list[str]) -> dict[str, tuple[str, str, str | None]]:
    return {code: (f"officer@{code.lower()}.example.gov.uk", "council", code) for code in codes}


def run_load(
    files: dict[str, Path],
    period: str,
    data_dir: Path,
    *,
    children: dict[str, int],
    concurrency: int = 8,
    workers: int = 1,
    validators: int | None = None,
    database_url: str | None = None,
    max_seconds: float = 600.0,
    spread: float = 0.0,
) -> LoadResult:
    """Upload `files` (council code -> its return) through a real portal server, then count what
    was stored. `children`: council -> the child rows its return holds. Users arrive evenly over
    `spread` seconds (0: all at once), at most `concurrency` of them active at a time."""
    from sqlalchemy import func, select

    from store.engine import get_engine
    from store.models import Submission, child_records

    url = database_url or default_database_url(data_dir)
    emails = prepare_database(data_dir, council_users(sorted(files)), database_url=url, hasher=_production_hasher())
    with Server(data_dir, workers=workers, database_url=url, validators=validators) as server:
        started = time.perf_counter()
        deadline = time.monotonic() + max_seconds
        uploads = asyncio.run(
            _drive(server.url, files, emails, period=period, concurrency=concurrency, deadline=deadline, spread=spread)
        )
        wall = time.perf_counter() - started
        group = server.process.pid
    time.sleep(0.5)
    left_running = processes_in_group(group)
    result = LoadResult(
        councils=len(files),
        children=max(children.values(), default=0),
        concurrency=concurrency,
        workers=workers,
        database=url.split(":", 1)[0],
        wall_seconds=wall,
        uploads=uploads,
        expected_children=dict(children),
        spread_seconds=spread,
        left_running=left_running,
    )
    engine = get_engine(url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(
                select(Submission.council_code, func.count())
                .where(Submission.period == period)
                .group_by(Submission.council_code)
            )
            result.stored = {code: int(count) for code, count in versions}
            rows = connection.execute(
                select(Submission.council_code, func.count())
                .select_from(child_records.join(Submission.__table__, child_records.c.submission_id == Submission.id))
                .where(Submission.period == period)
                .group_by(Submission.council_code)
            )
            result.child_rows = {code: int(count) for code, count in rows}
    finally:
        engine.dispose()
    return result
