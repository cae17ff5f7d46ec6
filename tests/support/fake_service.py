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
    AuditEntryView,
    AuditLogPage,
    ContactView,
    FeedbackFormat,
    FindingView,
    ServiceError,
    SignOffEvent,
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
    audit_log_rows: list[dict[str, Any]] = field(default_factory=list)
    sign_offs: list[SignOffEvent] = field(default_factory=list)
    notified: list[dict[str, Any]] = field(default_factory=list)
    contact_list: list[ContactView] = field(default_factory=list)
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
            self.finding_store[submission.id] = [replace(f, is_open=not f.is_error) for f in findings]
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
                findings[index] = replace(
                    finding,
                    explanation=text,
                    explained_by=by,
                    explained_at=datetime.now(UTC),
                    review="pending",
                    is_open=False,
                )
                break
        else:
            raise ServiceError(f"the current return has no query {rule} on row {row}")
        self._recount(current.id)
        self.audit("explain", by, council_code=council_code, period=period, submission_id=current.id)

    def _recount(self, submission_id: int) -> None:
        open_queries = sum(1 for f in self.finding_store[submission_id] if f.is_open)
        self.submissions[submission_id] = replace(self.submissions[submission_id], unexplained_queries=open_queries)

    def sign_off(self, council_code: str, period: str, by: str) -> None:
        current = self.current_submission(council_code, period)
        if current is None or not current.can_sign_off:
            raise ServiceError("the return cannot be signed off while it has errors or unexplained queries")
        now = datetime.now(UTC)
        self.submissions[current.id] = replace(
            current,
            status="signed_off",
            signed_off_by=by,
            signed_off_at=now,
            reopened_at=None,
            reopened_by=None,
            reopen_reason=None,
        )
        self.sign_offs.insert(0, SignOffEvent("signed_off", current.version, by, now))
        self.audit("sign_off", by, council_code=council_code, period=period, submission_id=current.id)

    def sign_off_history(self, council_code: str, period: str) -> list[SignOffEvent]:
        versions = {s.version for s in self.list_submissions(council_code, period)}
        return [e for e in self.sign_offs if e.version in versions]

    def _reviewable(self, council_code: str, period: str) -> SubmissionView:
        current = self.current_submission(council_code, period)
        if current is None or current.status == "rejected":
            raise ServiceError("there is no accepted return to review")
        return current

    def _review(  # noqa: PLR0917
        self, council_code: str, period: str, rule: str, row: int | None, by: str, reason: str | None
    ) -> None:
        current = self._reviewable(council_code, period)
        findings = self.finding_store[current.id]
        decision = "accepted" if reason is None else "rejected"
        for index, finding in enumerate(findings):
            if finding.rule == rule and finding.row == row and finding.explanation:
                if finding.review == decision:
                    raise ServiceError(f"the explanation was already {decision}")
                findings[index] = replace(
                    finding,
                    review=decision,
                    reviewed_by=by,
                    reviewed_at=datetime.now(UTC),
                    review_reason=reason,
                    is_open=reason is not None,
                )
                break
        else:
            raise ServiceError(f"{rule} on row {row} has no explanation to review")
        self._recount(current.id)
        self.audit(
            f"{'accept' if reason is None else 'reject'}_explanation",
            by,
            council_code=council_code,
            period=period,
            submission_id=current.id,
        )
        if reason is not None and current.status == "signed_off":
            self._reopen(current.id, by, reason)

    def accept_explanation(  # noqa: PLR0917
        self, council_code: str, period: str, rule: str, row: int | None, by: str
    ) -> None:
        self._review(council_code, period, rule, row, by, None)

    def reject_explanation(  # noqa: PLR0917
        self, council_code: str, period: str, rule: str, row: int | None, reason: str, by: str
    ) -> None:
        self._review(council_code, period, rule, row, by, reason)

    def raise_query(  # noqa: PLR0913
        self, council_code: str, period: str, message: str, by: str, *, cell: str | None, field: str | None
    ) -> None:
        current = self._reviewable(council_code, period)
        row = int("".join(c for c in cell if c.isdigit())) if cell else None
        sheet = cell.split("!")[0] if cell else None
        query = FindingView(
            "ANL-01",
            "Q",
            sheet,
            cell,
            field,
            None,
            f"The national data team asks: {message}",
            row,
            raised_by=by,
            raised_at=datetime.now(UTC),
            is_open=True,
        )
        self.finding_store[current.id].append(query)
        self.submissions[current.id] = replace(self.submissions[current.id], queries=current.queries + 1)
        self._recount(current.id)
        self.audit("raise_query", by, council_code=council_code, period=period, submission_id=current.id)
        if current.status == "signed_off":
            self._reopen(current.id, by, message)

    def reopen(self, council_code: str, period: str, reason: str, by: str) -> None:
        current = self._reviewable(council_code, period)
        if current.status != "signed_off":
            raise ServiceError("the return is not signed off: nothing to reopen")
        self._reopen(current.id, by, reason)

    def _reopen(self, submission_id: int, by: str, reason: str) -> None:
        current = self.submissions[submission_id]
        now = datetime.now(UTC)
        self.submissions[submission_id] = replace(
            current,
            status="accepted",
            signed_off_by=None,
            signed_off_at=None,
            reopened_by=by,
            reopened_at=now,
            reopen_reason=reason,
        )
        self.sign_offs.insert(0, SignOffEvent("reopened", current.version, by, now, "reopened", reason))
        self.audit("reopen", by, council_code=current.council_code, period=current.period, submission_id=submission_id)

    def audit_log(  # noqa: PLR0913
        self,
        *,
        council_code: str | None = None,
        period: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> AuditLogPage:
        rows = [
            r
            for r in reversed(self.audit_log_rows)
            if (council_code is None or r["council_code"] == council_code)
            and (period is None or r["period"] == period)
            and (actor is None or actor.lower() in r["actor"].lower())
            and (action is None or r["action"] == action)
        ]
        entries = [AuditEntryView(**r) for r in rows[offset : offset + limit]]
        return AuditLogPage(entries=entries, total=len(rows), limit=limit, offset=offset)

    def audit_actions(self) -> list[str]:
        return sorted({r["action"] for r in self.audit_log_rows})

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
        self.audit_log_rows.append(
            {
                "id": len(self.audit_log_rows) + 1,
                "at": datetime.now(UTC),
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

    def council_tracker(self, council_code: str, periods: list[Period], today: date | None = None) -> list[TrackerRow]:
        from schemas.register import load_register

        register = load_register()
        frame = self._tracked(list(periods), today)
        frame = frame[frame["council_code"].map(register.lineage_id) == register.lineage_id(council_code)]
        return tracker_rows(frame, lambda _code, p: self.current_submission(council_code, p.code))

    def contacts(self) -> list[ContactView]:
        return sorted(self.contact_list, key=lambda c: (c.council_code, c.email))

    def add_contact(self, council_code: str, email: str, name: str | None, by: str) -> None:
        if "@" not in email:
            raise ServiceError(f"{email!r} is not an e-mail address.")
        self.contact_list.append(ContactView(council_code, email.lower(), name))

    def remove_contact(self, council_code: str, email: str, by: str) -> None:
        self.contact_list[:] = [c for c in self.contact_list if (c.council_code, c.email) != (council_code, email)]

    def notify_upload(self, outcome: UploadOutcome, *, uploader: str, file_name: str, checksum: str) -> None:
        self.notified.append({"status": outcome.status, "uploader": uploader, "file_name": file_name})

    def write_feedback(
        self, submission: SubmissionView, fmt: FeedbackFormat, out: Path, *, birth_month_only: bool = False
    ) -> Path:
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

    def children_to_trace(self, council_code: str, *, whole_picture: bool = True) -> list[Any]:
        return [c for c in self.trace_views.get(council_code, []) if whole_picture or c.rule != "X6"]

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
