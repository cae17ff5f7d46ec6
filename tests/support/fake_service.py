"""An in-memory stand-in for the portal's pipeline (`portal.services.PortalService`), for tests of
the portal's own behaviour: sign-in, CSRF, access control, upload limits. Its tracker runs the
national tracker function (`transforms.measures.tracker`) over what it holds."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from portal.services import (
    FeedbackFormat,
    FindingView,
    ServiceError,
    SubmissionView,
    TrackerRow,
    UploadOutcome,
    tracker_rows,
)
from schemas.calendar import Period

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
    trace_views: dict[str, list[Any]] = field(default_factory=dict)  # council code -> pipeline.tracing.TraceView
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

    def _tracked(self, periods: list[Period], today: date | None) -> Any:
        """`transforms.measures.tracker` over what the fake holds for `periods`."""
        import pandas as pd

        from transforms.measures import NationalData, tracker

        empty = NationalData.empty()
        codes = {p.code for p in periods}
        subs = pd.DataFrame(
            [
                {
                    "council_code": s.council_code,
                    "period": s.period,
                    "version": s.version,
                    "status": s.status,
                    "received_at": s.received_at,
                    "errors": s.errors,
                    "queries": s.queries,
                    "open_queries": s.unexplained_queries,
                }
                for s in self.submissions.values()
                if s.period in codes
            ],
            columns=empty.submissions.columns,
        )
        return tracker(periods, empty.with_submissions(subs), today=today)

    def tracker(self, period: Period, today: date | None = None) -> list[TrackerRow]:
        frame = self._tracked([period], today)
        return tracker_rows(frame, lambda code, p: self.current_submission(code, p.code))

    def council_tracker(
        self, council_code: str, periods: list[Period], today: date | None = None
    ) -> list[TrackerRow]:
        from schemas.register import load_register

        register = load_register()
        frame = self._tracked(list(periods), today)
        frame = frame[frame["council_code"].map(register.lineage_id) == register.lineage_id(council_code)]
        return tracker_rows(frame, lambda _code, p: self.current_submission(council_code, p.code))

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

    # ---- children to trace: cases held as each council sees them (council code -> views)

    def children_to_trace(self, council_code: str) -> list[Any]:
        return list(self.trace_views.get(council_code, []))

    def move_trace(
        self, council_code: str, trace_id: int, action: str, by: str, *, resolution: str = "", note: str = ""
    ) -> None:
        from transforms.link import TRACE_ACTIONS

        views = self.trace_views.get(council_code, [])
        for index, case in enumerate(views):
            if case.id == trace_id:
                allowed, to_status = TRACE_ACTIONS[action]
                if case.status not in allowed:
                    raise ServiceError(f"Case {trace_id} is {case.status}: it cannot be {to_status} now.")
                views[index] = replace(case, status=to_status, resolution=resolution or None, note=note or None)
                self.audit(f"trace_{action}", by, council_code=council_code, detail={"trace_id": trace_id})
                return
        raise ServiceError(f"{council_code} has no child to trace numbered {trace_id}.")

    def tracing_summary(self, today: date) -> Any:
        from pipeline.tracing import TracingSummary

        return TracingSummary(today=today, councils=[], pairs=[])
