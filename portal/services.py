"""What the portal needs from the rest of the pipeline, behind one small interface.

`PortalService` is the interface the pages call. `StoreService` implements it with the real
pipeline (`pipeline`, `store`, `reports.template`, `reports.feedback`); the tests' in-memory
double (`tests/support/fake_service.py`) implements it for tests of the portal's own behaviour
(auth, CSRF, access control). The pages never import the pipeline directly, so what they show
is exactly what the store says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from schemas.calendar import Period

if TYPE_CHECKING:  # the pipeline is imported when a page needs it (importing the portal stays cheap)
    from pipeline.tracing import TraceView, TracingSummary

UploadStatus = Literal["accepted", "rejected", "refused", "duplicate"]
TrackerStatus = Literal["not received", "received with errors", "accepted with open queries", "accepted", "signed off"]
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
    explained_at: datetime | None = None
    review: str | None = None  # an analyst's review of the explanation: pending | accepted | rejected
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_reason: str | None = None  # why it was rejected (kept beside a new explanation until reviewed)
    raised_by: str | None = None  # an analyst's query (not validation's)
    raised_at: datetime | None = None
    is_open: bool = False  # a query still to explain (the store's `query_is_open`)

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
    # an analyst reopened it after a sign-off, and it is not signed off again yet
    reopened_by: str | None = None
    reopened_at: datetime | None = None
    reopen_reason: str | None = None

    @property
    def can_sign_off(self) -> bool:
        return self.status == "accepted" and not self.errors and not self.unexplained_queries


@dataclass(frozen=True)
class ContactView:
    council_code: str
    email: str
    name: str | None


@dataclass(frozen=True)
class SignOffEvent:
    """A sign-off of a council's return, or an analyst's reopening of it."""

    event: Literal["signed_off", "reopened"]
    version: int
    by: str
    at: datetime
    cause: str | None = None  # a reopening's (schemas.lifecycle.REOPEN_CAUSES)
    reason: str | None = None

    @property
    def label(self) -> str:
        from schemas.lifecycle import REOPEN_LABELS

        return "Signed off" if self.event == "signed_off" else REOPEN_LABELS.get(self.cause or "", "reopened")


@dataclass(frozen=True)
class AuditEntryView:
    id: int
    at: datetime
    actor: str
    action: str
    council_code: str | None
    period: str | None
    submission_id: int | None
    detail: dict[str, Any]  # nothing child-level (store.audit.shown_detail)


@dataclass(frozen=True)
class AuditLogPage:
    entries: list[AuditEntryView]
    total: int
    limit: int
    offset: int


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

    def notify_upload(self, outcome: UploadOutcome, *, uploader: str, file_name: str, checksum: str) -> None:
        """Tell the uploader and the council's contacts what became of an upload (after the
        answer is sent: a slow mail server never holds up the page)."""
        ...

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

    def sign_off_history(self, council_code: str, period: str) -> list[SignOffEvent]:
        """Every sign-off and reopening of the council's return for the period, newest first."""
        ...

    # ---- an analyst's review of the current version

    def accept_explanation(  # noqa: PLR0917 - the store's call shape
        self, council_code: str, period: str, rule: str, row: int | None, by: str
    ) -> None: ...

    def reject_explanation(  # noqa: PLR0917 - the store's call shape
        self, council_code: str, period: str, rule: str, row: int | None, reason: str, by: str
    ) -> None: ...

    def raise_query(  # noqa: PLR0913
        self, council_code: str, period: str, message: str, by: str, *, cell: str | None, field: str | None
    ) -> None: ...

    def reopen(self, council_code: str, period: str, reason: str, by: str) -> None: ...

    # ---- the audit log (analysts and administrators)

    def audit_log(  # noqa: PLR0913 - each filter is optional and named
        self,
        *,
        council_code: str | None = None,
        period: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> AuditLogPage:
        """The audit log newest first, filtered (`store.audit.audit_entries`)."""
        ...

    def audit_actions(self) -> list[str]: ...

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

    def contacts(self) -> list[ContactView]:
        """Every council's active e-mail contacts, by council."""
        ...

    def add_contact(self, council_code: str, email: str, name: str | None, by: str) -> None: ...

    def remove_contact(self, council_code: str, email: str, by: str) -> None: ...

    def write_template(self, council_code: str, period: str, out: Path) -> Path: ...

    def write_feedback(
        self, submission: SubmissionView, fmt: FeedbackFormat, out: Path, *, birth_month_only: bool = False
    ) -> Path:
        """The feedback file; `birth_month_only` for anyone but the council (standard §6)."""
        ...

    def tracker(self, period: Period, today: date | None = None) -> list[TrackerRow]:
        """One row per council the register expects for the period, in code order: the national
        tracker (`pipeline.tracker.period_tracker`), the same function as `tracker.csv`."""
        ...

    def council_tracker(self, council_code: str, periods: list[Period], today: date | None = None) -> list[TrackerRow]:
        """The same tracker's rows for one council, one per period in which the register expects
        it, in the order of `periods`; each links to the council's current version."""
        ...

    def children_to_trace(self, council_code: str, *, whole_picture: bool = True) -> list[TraceView]:
        """The cross-council findings the council is told about, as it sees them (its own
        local_child_id only): `pipeline.tracing.children_to_trace`. `whole_picture=False` leaves
        out X6, which only the council's own users may see."""
        ...

    def move_trace(
        self, council_code: str, trace_id: int, action: str, by: str, *, resolution: str = "", note: str = ""
    ) -> None:
        """acknowledge, resolve (with a resolution) or reopen one of the council's cases;
        ServiceError when it is not the council's or its status does not allow it."""
        ...

    def tracing_summary(self, today: date) -> TracingSummary:
        """Analysts: open and resolved counts and ages per council and per pair of councils."""
        ...


def status_label(state: str) -> TrackerStatus:
    """How the pages name a tracker state (`schemas.lifecycle.TRACKER_STATES`)."""
    from schemas.lifecycle import TRACKER_LABELS

    return TRACKER_LABELS[state].lower()  # type: ignore[return-value]


def tracker_rows(frame: Any, submission_for: Callable[[str, Period], SubmissionView | None]) -> list[TrackerRow]:
    """The tracker's rows (`transforms.measures.tracker`) as the portal shows them, each with the
    version to link to (`submission_for(council_code, period)`)."""
    import pandas as pd

    from schemas.register import load_register

    register = load_register()
    rows = []
    for record in frame.to_dict("records"):
        council = register.get(record["council_code"])
        period = Period.parse(str(record["period"]))
        late = record["late"]
        rows.append(
            TrackerRow(
                council_code=council.council_code,
                council_name=council.name,
                region_name=council.region_name,
                period=period.code,
                deadline=period.deadline,
                status=status_label(record["state"]),
                late=False if late is None or pd.isna(late) else bool(late),  # None: not yet due
                submission=submission_for(council.council_code, period) if record["state"] != "not_received" else None,
            )
        )
    return rows
