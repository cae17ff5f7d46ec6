"""What the portal needs from the rest of the pipeline, behind one small interface.

`PortalService` is the interface the pages call. `StoreService` implements it with the real
pipeline (`transforms.store`, `reports.template`, `reports.feedback`); `FakeService` keeps
everything in memory for tests of the portal's own behaviour (auth, CSRF, access control). The
pages never import the pipeline directly, so what they show is exactly what the store says.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from schemas.calendar import Period

UploadStatus = Literal["accepted", "rejected", "refused", "duplicate"]
TrackerStatus = Literal[
    "not received", "received with errors", "accepted with open queries", "accepted", "signed off"
]
FeedbackFormat = Literal["xlsx", "html"]


class ServiceError(Exception):
    """A request the pipeline refused (e.g. sign-off with open queries); str() is one plain line."""


@dataclass(frozen=True)
class FindingView:
    rule: str
    severity: str  # "E" or "Q"
    sheet: str | None
    cell: str | None
    field: str | None
    local_child_id: str | None
    message: str
    row: int | None
    explanation: str | None = None
    explained_by: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "E"


@dataclass(frozen=True)
class SubmissionView:
    id: int
    council_code: str
    period: str
    version: int
    status: str  # rejected | accepted | signed_off
    late: bool
    errors: int
    queries: int
    received_at: datetime
    submitted_by: str
    source_name: str
    checksum: str
    format: str
    signed_off_by: str | None = None
    signed_off_at: datetime | None = None
    unexplained_queries: int = 0

    @property
    def tracker_status(self) -> TrackerStatus:
        if self.status == "signed_off":
            return "signed off"
        if self.status == "rejected" or self.errors:
            return "received with errors"
        if self.unexplained_queries:
            return "accepted with open queries"
        return "accepted"

    @property
    def can_sign_off(self) -> bool:
        return self.status == "accepted" and not self.errors and not self.unexplained_queries


@dataclass(frozen=True)
class UploadOutcome:
    status: UploadStatus
    message: str  # one line, plain English (the CLI's line)
    submission_id: int | None = None
    council_code: str | None = None
    period: str | None = None
    version: int | None = None
    late: bool = False
    errors: int = 0
    queries: int = 0


@dataclass(frozen=True)
class TrackerRow:
    council_code: str
    council_name: str
    region_name: str
    period: str
    deadline: date
    status: TrackerStatus
    late: bool
    submission: SubmissionView | None

    @property
    def missing(self) -> bool:
        return self.submission is None


class PortalService(Protocol):
    def start(self) -> None:
        """Get ready for uploads when the server starts (e.g. build the validator)."""
        ...

    def close(self) -> None:
        """Release what `start` or uploads took (processes, pools) when the server stops."""
        ...

    def submit(
        self, path: Path, council_code: str, *, submitted_by: str, claimed_period: str, display_name: str
    ) -> UploadOutcome: ...

    def list_submissions(self, council_code: str, period: str) -> list[SubmissionView]:
        """Every version for the council and period, newest first."""
        ...

    def current_submission(self, council_code: str, period: str) -> SubmissionView | None:
        """The version that counts: the latest accepted or signed-off one, else the latest one."""
        ...

    def get_submission(self, submission_id: int) -> SubmissionView | None: ...

    def findings(self, submission_id: int) -> list[FindingView]: ...

    def explain(  # noqa: PLR0917 - the store's documented call shape
        self, council_code: str, period: str, rule: str, row: int | None, text: str, by: str
    ) -> None: ...

    def sign_off(self, council_code: str, period: str, by: str) -> None: ...

    def audit(
        self,
        action: str,
        actor: str,
        *,
        council_code: str | None = None,
        period: str | None = None,
        submission_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None: ...

    def write_template(self, council_code: str, period: str, out: Path) -> Path: ...

    def write_feedback(self, submission: SubmissionView, fmt: FeedbackFormat, out: Path) -> Path: ...


def tracker(service: PortalService, period: Period, today: date | None = None) -> list[TrackerRow]:
    """One row per council expected for the period (from the register), in code order."""
    from schemas.register import load_register

    today = today or datetime.now(UTC).date()
    rows = []
    for council in load_register().expected(period):
        current = service.current_submission(council.council_code, period.code)
        late = current.late if current is not None else today > period.deadline
        rows.append(
            TrackerRow(
                council_code=council.council_code,
                council_name=council.name,
                region_name=council.region_name,
                period=period.code,
                deadline=period.deadline,
                status=current.tracker_status if current else "not received",
                late=late,
                submission=current,
            )
        )
    return rows


# ---- the in-memory fake -------------------------------------------------------------------------

FakeValidator = Callable[[Path, str, str], tuple[str, list[FindingView]]]


def _refuse_unreadable(path: Path, council_code: str, period: str) -> tuple[str, list[FindingView]]:
    """The fake's default "validation": refuse what is not a zip container, accept the rest clean."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != b"PK\x03\x04":
        return "refused", []
    return "accepted", []


@dataclass
class FakeService:
    """In-memory stand-in for the pipeline; `validator` decides each upload's findings."""

    validator: FakeValidator = _refuse_unreadable
    submissions: dict[int, SubmissionView] = field(default_factory=dict)
    finding_store: dict[int, list[FindingView]] = field(default_factory=dict)
    audit_log: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def submit(
        self, path: Path, council_code: str, *, submitted_by: str, claimed_period: str, display_name: str
    ) -> UploadOutcome:
        import hashlib

        checksum = hashlib.sha256(path.read_bytes()).hexdigest()
        status, findings = self.validator(path, council_code, claimed_period)
        if status == "refused":
            return UploadOutcome("refused", f"{display_name}: This is not an Excel workbook (.xlsx) or a CSV bundle.")
        with self._lock:
            versions = self.list_submissions(council_code, claimed_period)
            for existing in versions:
                if existing.checksum == checksum:
                    return UploadOutcome(
                        "duplicate",
                        f"{display_name} is the same file as version {existing.version}; nothing new was stored.",
                        existing.id,
                        council_code,
                        claimed_period,
                        existing.version,
                    )
            errors = sum(1 for f in findings if f.is_error)
            queries = len(findings) - errors
            now = datetime.now(UTC)
            submission = SubmissionView(
                id=next(self._ids),
                council_code=council_code,
                period=claimed_period,
                version=len(versions) + 1,
                status="rejected" if errors else "accepted",
                late=now.date() > Period.parse(claimed_period).deadline,
                errors=errors,
                queries=queries,
                received_at=now,
                submitted_by=submitted_by,
                source_name=display_name,
                checksum=checksum,
                format="csv" if display_name.lower().endswith(".zip") else "xlsx",
                unexplained_queries=queries,
            )
            self.submissions[submission.id] = submission
            self.finding_store[submission.id] = list(findings)
        self.audit(
            "submit", submitted_by, council_code=council_code, period=claimed_period, submission_id=submission.id
        )
        return UploadOutcome(
            submission.status,  # type: ignore[arg-type]
            f"{display_name}: version {submission.version} {submission.status}: {errors} errors, {queries} queries",
            submission.id,
            council_code,
            claimed_period,
            submission.version,
            submission.late,
            errors,
            queries,
        )

    def list_submissions(self, council_code: str, period: str) -> list[SubmissionView]:
        found = [s for s in self.submissions.values() if s.council_code == council_code and s.period == period]
        return sorted(found, key=lambda s: s.version, reverse=True)

    def current_submission(self, council_code: str, period: str) -> SubmissionView | None:
        versions = self.list_submissions(council_code, period)
        for candidate in versions:
            if candidate.status in ("accepted", "signed_off"):
                return candidate
        return versions[0] if versions else None

    def get_submission(self, submission_id: int) -> SubmissionView | None:
        return self.submissions.get(submission_id)

    def findings(self, submission_id: int) -> list[FindingView]:
        return list(self.finding_store.get(submission_id, []))

    def explain(  # noqa: PLR0917
        self, council_code: str, period: str, rule: str, row: int | None, text: str, by: str
    ) -> None:
        current = self.current_submission(council_code, period)
        if current is None or current.status == "rejected":
            raise ServiceError("there is no accepted return to explain")
        findings = self.finding_store[current.id]
        for index, finding in enumerate(findings):
            if finding.rule == rule and finding.row == row and not finding.is_error:
                findings[index] = replace(finding, explanation=text, explained_by=by)
                break
        else:
            raise ServiceError(f"the current return has no query {rule} on row {row}")
        open_queries = sum(1 for f in findings if not f.is_error and not f.explanation)
        self.submissions[current.id] = replace(current, unexplained_queries=open_queries)
        self.audit("explain", by, council_code=council_code, period=period, submission_id=current.id)

    def sign_off(self, council_code: str, period: str, by: str) -> None:
        current = self.current_submission(council_code, period)
        if current is None or not current.can_sign_off:
            raise ServiceError("the return cannot be signed off while it has errors or unexplained queries")
        self.submissions[current.id] = replace(
            current, status="signed_off", signed_off_by=by, signed_off_at=datetime.now(UTC)
        )
        self.audit("sign_off", by, council_code=council_code, period=period, submission_id=current.id)

    def audit(
        self,
        action: str,
        actor: str,
        *,
        council_code: str | None = None,
        period: str | None = None,
        submission_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.audit_log.append(
            {
                "action": action,
                "actor": actor,
                "council_code": council_code,
                "period": period,
                "submission_id": submission_id,
                "detail": detail or {},
            }
        )

    def write_template(self, council_code: str, period: str, out: Path) -> Path:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"PK\x03\x04 fake template for " + f"{council_code} {period}".encode())
        return out

    def write_feedback(self, submission: SubmissionView, fmt: FeedbackFormat, out: Path) -> Path:
        out.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{f.rule} {f.cell or ''} {f.message}" for f in self.findings(submission.id)]
        text = "\n".join(lines)
        if fmt == "html":
            import html

            out.write_text(f"<!doctype html><title>Feedback</title><pre>{html.escape(text)}</pre>", encoding="utf-8")
        else:
            out.write_bytes(b"PK\x03\x04" + text.encode())
        return out
