"""`PortalService` over the real pipeline: `store` for submissions, findings,
explanations, sign-off and the audit log; `reports.template` and `reports.feedback` for files.

An upload goes through `store.submit_file`, exactly as `lscb submit` does, so it is a
stored submission at once and the quarterly DAG's national compile includes it. The uploaded bytes
are then kept sealed (`pipeline.raw_files`: the files key, mode 0600) under
`<data dir>/uploads/<council>/<period>/<checksum>.<xlsx|zip>.sealed`, which is what the feedback
workbook is rebuilt from; a refused upload is not kept at all. Retention deletes them
(`pipeline.raw_files.purge_raw_files`).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

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

if TYPE_CHECKING:
    from lscb.airflow_api import AssetAnnouncer
    from pipeline.chase import Mailer
    from pipeline.tracing import TraceView, TracingSummary
    from transforms.sealing import FileSealer


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _view(summary: dict[str, Any]) -> SubmissionView:
    return SubmissionView(
        id=int(summary["submission_id"]),
        council_code=summary["council_code"],
        period=summary["period"],
        version=int(summary["version"]),
        status=summary["status"],
        late=bool(summary["late"]),
        errors=int(summary["errors"]),
        queries=int(summary["queries"]),
        received_at=_parse_time(summary["received_at"]),
        submitted_by=summary["submitted_by"],
        source_name=summary["source_name"],
        checksum=summary["checksum"],
        format=summary["format"],
        signed_off_by=summary.get("signed_off_by"),
        signed_off_at=_parse_time(summary["signed_off_at"]) if summary.get("signed_off_at") else None,
        unexplained_queries=int(summary.get("unexplained_queries") or 0),
        reopened_by=summary.get("reopened_by"),
        reopened_at=_parse_time(summary["reopened_at"]) if summary.get("reopened_at") else None,
        reopen_reason=summary.get("reopen_reason"),
    )


def _store_upload(
    path: Path,
    council_code: str,
    *,
    submitted_by: str,
    claimed_period: str,
    display_name: str,
    engine_or_url: Engine | str,
    secret: bytes,
) -> UploadOutcome:
    from pipeline.receive import submit_file
    from store import StoreError

    try:
        outcome = submit_file(
            path,
            council_code,
            secret=secret,
            engine_or_url=engine_or_url,
            submitted_by=submitted_by,
            claimed_period=claimed_period,
            display_name=display_name,
        )
    except StoreError as error:
        raise ServiceError(str(error)) from None
    return UploadOutcome(
        status=outcome.status,
        message=outcome.message,
        submission_id=outcome.submission_id,
        council_code=outcome.council_code,
        period=outcome.period,
        version=outcome.version,
        late=bool(outcome.late),
        errors=outcome.errors,
        queries=outcome.queries,
    )


def _warm_validator() -> None:
    """A validator process's start: die with the web process (never an orphan holding memory,
    even when the web process is killed), and build the validator (GX context and suite) now."""
    _die_with_parent()
    from transforms.validate import warm_up

    warm_up()


def _die_with_parent() -> None:
    import ctypes
    import os
    import signal

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        return  # not Linux: shutdown() still stops the pool when the server stops normally
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _ready() -> bool:
    return True


def _warm_up_here() -> None:
    """The validator built in this process; a failure only means the first upload pays."""
    try:
        from transforms.validate import warm_up

        warm_up()
    except Exception:  # noqa: BLE001 - never take the server down for a warm-up
        logging.getLogger(__name__).exception("validation warm-up failed; the first upload will build it")


class StoreService:
    """The portal's service over the store.

    `validators`: how many separate processes check and store uploads (0: the web process does
    it in a thread). Checking a return is CPU work under the GIL; in threads, a busy web process
    keeps accepting uploads and runs them side by side on one core while other cores idle. A
    pool of processes (about one per core) spreads the work, and the web process stays free to
    answer pages. Each validator process builds the validator once when it starts.
    """

    def __init__(
        self,
        engine: Engine,
        upload_dir: Path,
        *,
        secret: bytes,
        validators: int = 0,
        mailer: Mailer | None = None,
        portal_url: str = "",
        announcer: AssetAnnouncer | None = None,
        sealer: FileSealer | None = None,
    ) -> None:
        from transforms.sealing import FileSealer

        self.engine = engine
        self.upload_dir = upload_dir
        self.validators = max(0, validators)
        self._secret = secret
        # the files key (LSCB_FILES_KEY), else one derived from the pseudonymisation key
        self._sealer = sealer or FileSealer.derived(secret, "the pseudonymisation key")
        self.initializer: Callable[[], None] = _warm_validator  # what each validator process runs first
        self.mailer = mailer  # None: uploads are not mailed about (tests, a portal without mail)
        self.portal_url = portal_url
        self.announcer = announcer  # None: Airflow is not told of uploads (its daily run finds them)
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # ---- validator processes

    def _executor(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.validators,
                    # spawn, not fork: the web process has threads (event loop, thread pool)
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=self.initializer,
                )
            return self._pool

    def start(self) -> None:
        """Build the validator now, not at the first upload: start the validator processes (each
        builds its own), or, without them, build it in a background thread of this process."""
        if self.validators:
            pool = self._executor()
            for _ in range(self.validators):
                pool.submit(_ready)
        else:
            threading.Thread(target=_warm_up_here, name="lscb-validation-warm-up", daemon=True).start()

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def submit(
        self, path: Path, council_code: str, *, submitted_by: str, claimed_period: str, display_name: str
    ) -> UploadOutcome:
        """Check and store the upload at `path` (plaintext, just received), then keep it sealed
        for the feedback (or, refused or failed, not at all): the plaintext is gone either way."""
        try:
            outcome = self._check_and_store(
                path, council_code, submitted_by=submitted_by, claimed_period=claimed_period, display_name=display_name
            )
            if outcome.status != "refused" and outcome.period:
                from pipeline.raw_files import seal_file, sealed_name
                from pipeline.receive import file_format
                from transforms.checksum import file_checksum

                fmt = file_format(display_name)
                kept = self._upload_file(council_code, outcome.period, file_checksum(path)[0], fmt)
                if kept.exists():  # the same bytes kept already (a duplicate)
                    path.unlink(missing_ok=True)
                else:
                    seal_file(path, kept.with_name(sealed_name(kept.name)), self._sealer)
            return outcome
        finally:
            path.unlink(missing_ok=True)

    def _check_and_store(
        self, path: Path, council_code: str, *, submitted_by: str, claimed_period: str, display_name: str
    ) -> UploadOutcome:
        if not self.validators:
            return _store_upload(
                path,
                council_code,
                submitted_by=submitted_by,
                claimed_period=claimed_period,
                display_name=display_name,
                engine_or_url=self.engine,
                secret=self._secret,
            )
        url = self.engine.url.render_as_string(hide_password=False)
        try:
            future = self._executor().submit(
                _store_upload,
                path,
                council_code,
                submitted_by=submitted_by,
                claimed_period=claimed_period,
                display_name=display_name,
                engine_or_url=url,
                secret=self._secret,
            )
            return future.result()
        except BrokenProcessPool:
            # a validator process died (e.g. killed for memory): its transaction rolled back, so
            # nothing was stored; start a fresh pool and ask the council to send the file again
            self.close()
            raise ServiceError(
                "The check of your file stopped before it finished, and nothing was stored. Please upload it again."
            ) from None

    def notify_upload(self, outcome: UploadOutcome, *, uploader: str, file_name: str, checksum: str) -> None:
        if self.announcer is not None and outcome.status in ("accepted", "rejected"):
            from lscb.airflow_api import UPLOADS_ASSET

            # the quarterly DAG is scheduled on this asset: the provisional compile follows in minutes
            event = {"council_code": outcome.council_code, "period": outcome.period, "version": outcome.version}
            self.announcer.announce(UPLOADS_ASSET, event)
        if self.mailer is None or not outcome.council_code:
            return
        from pipeline.chase import notify_upload

        try:
            notify_upload(
                self.engine, self.mailer, council_code=outcome.council_code or "", status=outcome.status,
                reference=str(outcome.submission_id) if outcome.submission_id is not None else checksum,
                portal_url=self.portal_url, period=outcome.period, version=outcome.version,
                errors=outcome.errors, queries=outcome.queries, late=outcome.late, file_name=file_name,
                reason=outcome.message if outcome.status == "refused" else "",
                submission_id=outcome.submission_id, uploader=uploader,
            )  # fmt: skip
        except Exception:  # noqa: BLE001 - the upload is stored; a mail problem is logged, never shown
            logging.getLogger(__name__).exception("could not send the upload e-mail")

    def list_submissions(self, council_code: str, period: str) -> list[SubmissionView]:
        from store import list_submissions

        return [_view(s) for s in reversed(list_submissions(council_code, period, engine_or_url=self.engine))]

    def current_submission(self, council_code: str, period: str) -> SubmissionView | None:
        from store import current_submission

        found = current_submission(council_code, period, engine_or_url=self.engine)
        if found is not None:
            return _view(found)
        versions = self.list_submissions(council_code, period)  # only rejected ones, if any
        return versions[0] if versions else None

    def get_submission(self, submission_id: int) -> SubmissionView | None:
        from store.queries import submission_summary

        found = submission_summary(submission_id, engine_or_url=self.engine)
        return _view(found) if found is not None else None

    def findings(self, submission_id: int) -> list[FindingView]:
        from store.queries import findings_with_explanations

        return [FindingView(**row) for row in findings_with_explanations(submission_id, engine_or_url=self.engine)]

    def explain(  # noqa: PLR0917
        self, council_code: str, period: str, rule: str, row: int | None, text: str, by: str
    ) -> None:
        from store import StoreError, explain

        try:
            explain(council_code, period, rule, row, text, by, engine_or_url=self.engine)
        except StoreError as error:
            raise ServiceError(_sentence(str(error))) from None

    def sign_off(self, council_code: str, period: str, by: str) -> None:
        from store import StoreError, sign_off

        try:
            sign_off(council_code, period, by, engine_or_url=self.engine)
        except StoreError as error:
            raise ServiceError(_sentence(str(error))) from None

    def sign_off_history(self, council_code: str, period: str) -> list[SignOffEvent]:
        from store import sign_off_history

        events = sign_off_history(council_code, period, engine_or_url=self.engine)
        return [SignOffEvent(**{**e, "at": _parse_time(e["at"])}) for e in events]

    def accept_explanation(  # noqa: PLR0917
        self, council_code: str, period: str, rule: str, row: int | None, by: str
    ) -> None:
        from store import StoreError, accept_explanation

        try:
            accept_explanation(council_code, period, rule, row, by, engine_or_url=self.engine)
        except StoreError as error:
            raise ServiceError(_sentence(str(error))) from None

    def reject_explanation(  # noqa: PLR0917
        self, council_code: str, period: str, rule: str, row: int | None, reason: str, by: str
    ) -> None:
        from store import StoreError, reject_explanation

        try:
            reject_explanation(council_code, period, rule, row, reason, by, engine_or_url=self.engine)
        except StoreError as error:
            raise ServiceError(_sentence(str(error))) from None

    def raise_query(  # noqa: PLR0913
        self, council_code: str, period: str, message: str, by: str, *, cell: str | None, field: str | None
    ) -> None:
        from store import StoreError, raise_query

        try:
            raise_query(council_code, period, message, by, cell=cell, field=field, engine_or_url=self.engine)
        except StoreError as error:
            raise ServiceError(_sentence(str(error))) from None

    def reopen(self, council_code: str, period: str, reason: str, by: str) -> None:
        from store import StoreError, reopen

        try:
            reopen(council_code, period, reason, by, engine_or_url=self.engine)
        except StoreError as error:
            raise ServiceError(_sentence(str(error))) from None

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
        from store.audit import audit_entries

        filters = {"council_code": council_code, "period": period, "actor": actor, "action": action}
        found = audit_entries(self.engine, **filters, limit=limit, offset=offset)
        entries = [AuditEntryView(**vars(row)) for row in found.rows]
        return AuditLogPage(entries=entries, total=found.total, limit=found.limit, offset=found.offset)

    def audit_actions(self) -> list[str]:
        from store.audit import audit_actions

        return audit_actions(self.engine)

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
        from store.audit import record

        with self.engine.begin() as connection:
            record(
                connection,
                actor,
                action[:40],
                council_code=council_code,
                period=period,
                submission_id=submission_id,
                detail=detail,
            )

    def tracker(self, period: Period, today: date | None = None) -> list[TrackerRow]:
        from pipeline.tracker import period_tracker

        frame = period_tracker(self.engine, period, today=today)
        return tracker_rows(frame, lambda code, p: self.current_submission(code, p.code))

    def council_tracker(self, council_code: str, periods: list[Period], today: date | None = None) -> list[TrackerRow]:
        from pipeline.tracker import council_tracker

        frame = council_tracker(self.engine, council_code, periods, today=today)
        # across a recode the row may carry the council's other code: link the page's council
        return tracker_rows(frame, lambda _code, p: self.current_submission(council_code, p.code))

    def contacts(self) -> list[ContactView]:
        from store.chasing import contacts

        return [ContactView(c.council_code, c.email, c.name) for c in contacts(self.engine)]

    def add_contact(self, council_code: str, email: str, name: str | None, by: str) -> None:
        from store import StoreError
        from store.chasing import add_contact

        try:
            add_contact(self.engine, council_code, email, name=name, by=by)
        except StoreError as error:
            raise ServiceError(_sentence(str(error))) from None

    def remove_contact(self, council_code: str, email: str, by: str) -> None:
        from store import StoreError
        from store.chasing import remove_contact

        try:
            remove_contact(self.engine, council_code, email, by=by)
        except StoreError as error:
            raise ServiceError(_sentence(str(error))) from None

    def children_to_trace(self, council_code: str, *, whole_picture: bool = True) -> list[TraceView]:
        from pipeline.tracing import children_to_trace

        return children_to_trace(self.engine, council_code, whole_picture=whole_picture)

    def move_trace(
        self, council_code: str, trace_id: int, action: str, by: str, *, resolution: str = "", note: str = ""
    ) -> None:
        from pipeline import tracing
        from store import StoreError

        try:
            if action == "acknowledge":
                tracing.acknowledge(self.engine, trace_id, council_code, by=by, note=note)
            elif action == "resolve":
                tracing.resolve(self.engine, trace_id, council_code, resolution, by=by, note=note)
            elif action == "reopen":
                tracing.reopen(self.engine, trace_id, council_code, by=by, note=note)
            else:
                raise ServiceError(f"Unknown action {action!r}.")
        except StoreError as error:
            raise ServiceError(_sentence(str(error))) from None

    def tracing_summary(self, today: date) -> TracingSummary:
        from pipeline.tracing import tracing_summary

        return tracing_summary(self.engine, today)

    def write_template(self, council_code: str, period: str, out: Path) -> Path:
        from reports.template import write_template

        return write_template(council_code, period, out)

    def _upload_file(self, council_code: str, period: str, checksum: str, fmt: str) -> Path:
        """Where a stored version's upload is kept, sealed (`.sealed` added) or, from before
        sealing, as it came."""
        extension = "zip" if fmt == "csv" else fmt
        folder = self.upload_dir / council_code.strip().upper() / period
        plain = folder / f"{checksum}.{extension}"
        sealed = plain.with_name(plain.name + ".sealed")
        return sealed if sealed.exists() or not plain.exists() else plain

    def upload_path(self, submission: SubmissionView) -> Path:
        return self._upload_file(submission.council_code, submission.period, submission.checksum, submission.format)

    def write_feedback(
        self, submission: SubmissionView, fmt: FeedbackFormat, out: Path, *, birth_month_only: bool = False
    ) -> Path:
        """The feedback for a stored version: its upload read again, with the stored findings;
        `birth_month_only` for an analyst (dates of birth to the month, standard §6)."""
        from reports.feedback import write_feedback
        from transforms.findings import Finding
        from transforms.ingest import Refused, read_return  # type: ignore[attr-defined]
        from transforms.validate.model import ValidationResult

        source = self.upload_path(submission)
        if not source.is_file():
            raise ServiceError(
                "This version was not uploaded through the portal, so its file is not kept here; "
                "ask your national data team for the feedback."
            )
        from pipeline.raw_files import opened_file
        from transforms.sealing import SealError

        try:
            with opened_file(source, self._sealer) as plain:  # a private copy, deleted after reading
                ret = read_return(plain, display_name=submission.source_name)
        except Refused as refused:  # cannot happen for a stored version, but never a traceback
            raise ServiceError(str(refused)) from None
        except SealError as problem:
            raise ServiceError(f"The kept upload cannot be opened ({problem}).") from None
        findings = [
            Finding(
                rule=f.rule,
                severity="E" if f.severity == "E" else "Q",
                sheet=f.sheet,
                cell=f.cell,
                field=f.field,
                local_child_id=f.local_child_id,
                message=f.message,
                row=f.row,
            )
            for f in self.findings(submission.id)
        ]
        result = ValidationResult(
            source_name=submission.source_name,
            checksum=submission.checksum,
            standard_version=ret.standard_version,
            council_code=submission.council_code,
            period=submission.period,
            findings=findings,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.stem}.partial{out.suffix}")
        write_feedback(ret, result, partial, birth_month_only=birth_month_only)
        partial.replace(out)
        return out


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text
