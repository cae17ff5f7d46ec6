"""Receiving a return: the use case behind `lscb submit`, a portal upload and an inbox file.

Order of work, and why:
1. checksum the bytes; the same bytes already received for the council (and period) are a
   `duplicate`: nothing is created, the outcome points at the existing version;
2. validate (outside any transaction: it takes a while) with the council's previous accepted
   return for PRV-01;
   **attribution**: a file whose About names another council than the uploader's (ABT-05 on
   council_code: the portal session's council, `lscb submit --council`, the inbox file's name)
   is refused here (REF-COUNCIL), before anything of it is stored: the uploader gets one line,
   nothing of its children (findings, local_child_ids, records) reaches anyone's history, and the
   attempt is audited (`refused`, with both councils, the file's name and checksum);
3. pseudonymise the children in memory (the raw UPN/NHS columns are dropped here);
4. `store.write.write_version`: one transaction for the version, its findings, facts, child
   records and an audit row.

Late: `Period.is_late`, received after the end of the deadline day in Europe/London.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from sqlalchemy import Engine

from schemas.calendar import LONDON, Period
from schemas.identifiers import MASK, looks_like_identifier, normalise_identifier
from store.engine import get_engine
from store.models import Submission, stored_child_fields
from store.queries import StoreError, check_actor, normalise_council, normalise_period, previous_return, require_ready
from store.write import PLAIN_TYPES, NewVersion, clean_value, find_duplicate, record_event, write_version
from transforms.checksum import file_checksum
from transforms.findings import Finding

if TYPE_CHECKING:  # validation is imported when a return is validated, not when this module is
    from transforms.validate.model import PreviousReturn, ValidationResult

REF_COUNCIL = "REF-COUNCIL"  # the standard's refusal for a file naming another council

OutcomeStatus = Literal["accepted", "rejected", "refused", "duplicate"]


@dataclass
class SubmitOutcome:
    status: OutcomeStatus
    council_code: str
    period: str | None
    message: str  # one line for the uploader
    submission_id: int | None = None
    version: int | None = None
    late: bool | None = None
    errors: int = 0
    queries: int = 0
    findings: list[Finding] = field(default_factory=list)
    existing_status: str | None = None  # duplicate: the status of the version already received
    refusal: str | None = None  # refused: the standard's refusal id (REF-...)

    @property
    def exit_code(self) -> int:
        """0 accepted (or signed off), 1 rejected, 2 refused; a duplicate exits as its original."""
        status = self.existing_status if self.status == "duplicate" else self.status
        return {"accepted": 0, "signed_off": 0, "rejected": 1}.get(status or "", 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "council_code": self.council_code,
            "period": self.period,
            "submission_id": self.submission_id,
            "version": self.version,
            "late": self.late,
            "errors": self.errors,
            "queries": self.queries,
            "existing_status": self.existing_status,
            "refusal": self.refusal,
            "message": self.message,
            "findings": [{**f.to_json(), "row": f.row} for f in self.findings],
        }


def file_format(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return {".xlsx": "xlsx", ".zip": "csv"}.get(suffix, suffix.lstrip(".") or "unknown")


def _aware(received_at: datetime | None) -> datetime:
    if received_at is None:
        return datetime.now(UTC)
    if received_at.tzinfo is None:
        raise StoreError("received_at must be timezone-aware (e.g. 2025-08-01T09:00:00+01:00)")
    return received_at.astimezone(UTC)


# ---- a file ---------------------------------------------------------------------------------------


def submit_file(
    path: str | Path,
    council_code: str,
    *,
    secret: bytes,
    engine_or_url: Engine | str,
    submitted_by: str,
    received_at: datetime | None = None,
    claimed_period: str | None = None,
    display_name: str | None = None,
) -> SubmitOutcome:
    """Validate and store one uploaded return for `council_code` (the uploader's own council).

    `secret` is the pseudonymisation key. Raises `StoreError` for a bad request (unknown council,
    no tables); a refused file is an outcome (`refused`), not an exception.
    """
    code = normalise_council(council_code)
    period_claim = normalise_period(claimed_period) if claimed_period else None
    submitted_by = check_actor(submitted_by, "submitted_by")
    received = _aware(received_at)
    source = Path(path)
    name = Path(display_name).name if display_name else source.name
    engine = get_engine(engine_or_url)
    require_ready(engine)
    if not source.is_file():
        raise StoreError(f"{name}: no such file")

    checksum, size = file_checksum(source)
    existing = find_duplicate(engine, code, period_claim, checksum)
    if existing is not None:
        return _duplicate_outcome(existing)

    from transforms.ingest import Refused
    from transforms.ingest.refusals import refuse

    today = received.astimezone(LONDON).date()
    try:
        if not Path(name).suffix:
            # what a file is comes from its bytes, but one sent without an extension cannot be
            # opened by the council's own programs from its feedback either: say so plainly
            raise refuse("REF-EXTENSION", name)
        result = validate_upload(
            source,
            display_name=name,
            claimed_council=code,
            claimed_period=period_claim,
            today=today,
            previous_for=lambda period: _previous(engine, code, period),
        )
    except Refused as refused:
        reason = refused.reason if refused.source_name else f"{name}: {refused}"
        record_event(
            engine,
            submitted_by,
            "refused",
            council_code=code,
            period=period_claim,
            detail={"refusal": refused.refusal, "source_name": name, "checksum": checksum, "size_bytes": size},
        )
        return SubmitOutcome(
            status="refused", council_code=code, period=period_claim, message=reason, refusal=refused.refusal
        )
    result.source_name = name
    return store_validated(
        result,
        code,
        secret=secret,
        engine_or_url=engine,
        submitted_by=submitted_by,
        received_at=received,
        claimed_period=period_claim,
        file_format=file_format(name),
        size_bytes=size,
    )


# ---- a JSON document (the API, standard §8) ---------------------------------------------------------


def submit_json(
    body: bytes,
    council_code: str,
    *,
    period: str,
    secret: bytes,
    engine_or_url: Engine | str,
    submitted_by: str,
    received_at: datetime | None = None,
    source_name: str = "api.json",
    delta: bool = False,
) -> SubmitOutcome:
    """A return sent as JSON, for `council_code` (the API client's own council) and `period` (the
    URL's): the same as `submit_file` (duplicate by checksum, the same validation with the
    previous accepted return, pseudonymisation, one write), findings located by JSON Pointer.

    `delta=True` (PATCH, §8): `body` changes the return as it stood after the council's last JSON
    submission for the period (`transforms.delta`); the whole result is validated and stored as
    the next version. A body refused as JSON (REF-JSON, ...), or a delta with nothing to apply
    to, is an outcome that stores nothing."""
    from transforms.ingest import Refused
    from transforms.ingest.json_return import locate_by_pointer, parse, read_document
    from transforms.validate import validate_return

    code = normalise_council(council_code)
    period_code = normalise_period(period)
    submitted_by = check_actor(submitted_by, "submitted_by")
    received = _aware(received_at)
    engine = get_engine(engine_or_url)
    require_ready(engine)
    carried: dict[int, Any] = {}
    try:
        document = parse(body, source_name)
        if delta:
            read_document(document, source_name=source_name, delta=True)  # shape and types of the delta itself
            document, carried = _apply_delta(engine, code, period_code, document, source_name)
        keys = _child_keys(document, carried, secret)
        checksum = _content_checksum(document, keys)
        existing = find_duplicate(engine, code, period_code, checksum)
        if existing is not None:
            return _duplicate_outcome(existing)
        sent = read_document(document, source_name=source_name, checksum=checksum, size_bytes=len(body))
        result = validate_return(
            sent.ret,
            claimed_council=code,
            claimed_period=period_code,
            previous=_previous(engine, code, period_code),
            today=received.astimezone(LONDON).date(),
        )
    except Refused as refused:
        record_event(
            engine,
            submitted_by,
            "refused",
            council_code=code,
            period=period_code,
            detail={"refusal": refused.refusal, "source_name": source_name, "size_bytes": len(body), "delta": delta},
        )
        return SubmitOutcome(
            status="refused", council_code=code, period=period_code, message=refused.reason, refusal=refused.refusal
        )
    findings = locate_by_pointer(result.findings, sent.pointers)
    if carried:
        from transforms.delta import carry_over

        # a carried child's findings count like any other's: a delta cannot hide an old error
        findings = carry_over(findings, carried, document)
    result.findings = findings
    result.source_name = source_name
    outcome = store_validated(
        result,
        code,
        secret=secret,
        engine_or_url=engine,
        submitted_by=submitted_by,
        received_at=received,
        claimed_period=period_code,
        file_format="json",
        size_bytes=len(body),
        carried_keys={index + 2: _stored_keys(c.keys) for index, c in carried.items()},
    )
    if outcome.submission_id is not None and outcome.status in ("accepted", "rejected"):
        _keep_state(
            engine,
            code,
            period_code,
            document=document,
            carried=carried,
            keys=keys,
            findings=findings,
            submission_id=outcome.submission_id,
        )
    return outcome


def _apply_delta(
    engine: Engine, council_code: str, period: str, delta: dict[str, Any], source_name: str
) -> tuple[dict[str, Any], dict[int, Any]]:
    from store.api import find_state
    from transforms.delta import apply_delta
    from transforms.ingest.refusals import refuse

    with engine.connect() as connection:
        state = find_state(connection, council_code, period)
    if state is None:
        raise refuse(
            "REF-JSON",
            source_name,
            pointer="/ (the document)",
            detail=f"there is no return for {period} to apply a delta to; send the whole return first (POST)",
        )
    return apply_delta(dict(state["document"]), delta)


def _child_keys(document: dict[str, Any], carried: dict[int, Any], secret: bytes) -> list[dict[str, Any]]:
    """Each child's keys and birth month: a carried child's as kept, a sent child's made now."""
    from transforms.pseudonymise import key_for

    keys: list[dict[str, Any]] = []
    for index, child in enumerate(document.get("children", [])):
        if index in carried:
            keys.append(dict(carried[index].keys))
            continue
        upn, nhs = child.get("upn"), child.get("nhs_number")
        keys.append(
            {
                "upn_key": key_for("UPN", upn, secret) if isinstance(upn, str) and upn.strip() else None,
                "nhs_key": key_for("NHS", nhs, secret) if isinstance(nhs, str) and nhs.strip() else None,
                "birth_month": _birth_month(child.get("date_of_birth")),
            }
        )
    return keys


def _content_checksum(document: dict[str, Any], keys: list[dict[str, Any]]) -> str:
    """A JSON return is known by its content (identifiers by their keys), however it was sent:
    the same whole return again, in full or as a delta, is a duplicate and stores nothing."""
    import hashlib
    import json

    from transforms.delta import IDENTITY_FIELDS

    children = [
        {**{k: v for k, v in child.items() if k not in IDENTITY_FIELDS}, "_keys": keys[i]}
        for i, child in enumerate(document.get("children", []))
    ]
    canonical = json.dumps({**document, "children": children}, sort_keys=True, default=str)
    return hashlib.sha256(b"json-return:" + canonical.encode()).hexdigest()


def _keep_state(
    engine: Engine,
    council_code: str,
    period: str,
    *,
    document: dict[str, Any],
    carried: dict[int, Any],
    keys: list[dict[str, Any]],
    findings: list[Finding],
    submission_id: int,
) -> None:
    """What the next delta applies to: the return as it now stands, without raw identifiers."""
    from store.api import save_state
    from transforms.delta import state_of

    state = state_of(document, keys, findings, carried)
    with engine.begin() as connection:
        save_state(
            connection, council_code, period, submission_id=submission_id, document=state, updated_at=datetime.now(UTC)
        )


def _stored_keys(keys: dict[str, Any]) -> dict[str, Any]:
    month = keys.get("birth_month")
    return {**keys, "birth_month": date.fromisoformat(month) if month else None}


def _birth_month(value: object) -> str | None:
    """The birth month as stored (ISO, first of the month), from ISO or DD/MM/YYYY text."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = date.fromisoformat(text[:10])
    except ValueError:
        try:
            parsed = datetime.strptime(text.split()[0], "%d/%m/%Y").date()
        except ValueError:
            return None
    return parsed.replace(day=1).isoformat()


def _previous(engine: Engine, council_code: str, period: str) -> PreviousReturn | None:
    with engine.connect() as connection:
        return previous_return(connection, council_code, period)


def validate_upload(
    source: Path,
    *,
    display_name: str,
    claimed_council: str,
    claimed_period: str | None,
    today: date,
    previous_for: Callable[[str], PreviousReturn | None],
) -> ValidationResult:
    """Read the file once with safe ingest (raises `Refused`) and validate it, with the previous
    accepted return for the period claimed or, failing that, the period its About sheet gives."""
    from transforms.ingest import read_return
    from transforms.validate import validate_return

    ret = read_return(source, display_name=display_name)
    period = _parse_period(claimed_period) or _parse_period(_about_period(ret))
    result: ValidationResult = validate_return(
        ret,
        claimed_council=claimed_council,
        claimed_period=claimed_period,
        previous=previous_for(period.code) if period else None,
        today=today,
    )
    return result


def _about_period(ret: Any) -> str | None:
    try:
        value = ret.keyvalue("About").values.get("period")
    except (KeyError, AssertionError, AttributeError):
        return None
    return None if value is None else str(value)


def _parse_period(value: str | None) -> Period | None:
    if not value:
        return None
    try:
        return Period.parse(value)
    except ValueError:
        return None


def _duplicate_outcome(existing: Submission) -> SubmitOutcome:
    return SubmitOutcome(
        status="duplicate",
        council_code=existing.council_code,
        period=existing.period,
        submission_id=existing.id,
        version=existing.version,
        late=existing.late,
        errors=existing.errors,
        queries=existing.queries,
        existing_status=existing.status,
        message=(
            f"{existing.source_name}: these exact bytes were already received as version {existing.version} "
            f"for {existing.council_code} {existing.period} ({existing.status}); nothing new was stored"
        ),
    )


# ---- a validated return ------------------------------------------------------------------------------


def store_validated(
    result: ValidationResult,
    council_code: str,
    *,
    secret: bytes,
    engine_or_url: Engine | str,
    submitted_by: str,
    received_at: datetime | None = None,
    claimed_period: str | None = None,
    file_format: str = "xlsx",
    size_bytes: int = 0,
    carried_keys: dict[int, dict[str, Any]] | None = None,
) -> SubmitOutcome:
    """Store a `ValidationResult` as the next version of the council's period (one transaction).

    A return whose About names another council is refused instead (`misattributed`).

    `carried_keys`: children of an API delta carried over unchanged (by the typed frame's index),
    whose keys and birth month are kept from when they came in (`transforms.delta`)."""
    code = normalise_council(council_code)
    submitted_by = check_actor(submitted_by, "submitted_by")
    received = _aware(received_at)
    engine = get_engine(engine_or_url)
    require_ready(engine)

    other = misattributed(result)
    if other is not None:
        return _refuse_misattributed(
            engine, result, code=code, other=other, submitted_by=submitted_by, claimed_period=claimed_period,
            size_bytes=size_bytes,
        )  # fmt: skip

    period = _parse_period(claimed_period) or _parse_period(result.period)
    if period is None:
        # Nowhere to file it: the period in About could not be read and none was claimed.
        record_event(
            engine,
            submitted_by,
            "unfiled",
            council_code=code,
            detail={"source_name": result.source_name, "checksum": result.checksum, "errors": result.errors},
        )
        return SubmitOutcome(
            status="rejected",
            council_code=code,
            period=None,
            errors=result.errors,
            queries=result.queries,
            findings=list(result.findings),
            message=(
                f"{result.source_name}: rejected and not stored: the period in About could not be read "
                f"({result.errors} error(s)); fix About.period and upload again"
            ),
        )

    accepted = result.status == "accepted" and result.typed is not None
    facts: dict[str, dict[str, Any]] = {}
    children: list[dict[str, Any]] = []
    if accepted:
        assert result.typed is not None
        facts = {
            "About": dict(result.typed.about),
            "Strategy": dict(result.typed.strategy),
            "Activity": dict(result.typed.activity),
        }
        children = child_rows(result.typed.children, secret, code, period.code)
        for row in children if carried_keys else ():
            row.update(carried_keys.get(row["row"], {}))  # type: ignore[union-attr]
    late = period.is_late(received)
    status = "accepted" if accepted else "rejected"
    stored = write_version(
        engine,
        NewVersion(
            council_code=code,
            period=period,
            status=status,
            late=late,
            received_at=received,
            submitted_by=submitted_by,
            checksum=result.checksum,
            source_name=result.source_name,
            file_format=file_format,
            size_bytes=size_bytes,
            standard_version=result.standard_version,
            errors=result.errors,
            queries=result.queries,
            findings=[finding_row(f) for f in result.findings],
            facts=facts,
            children=children,
        ),
    )
    if stored.duplicate is not None:
        return _duplicate_outcome(stored.duplicate)
    when = "late" if late else "on time"
    queries = f"{result.queries} quer{'y' if result.queries == 1 else 'ies'}"
    if accepted:
        message = (
            f"{result.source_name}: accepted as version {stored.version} for {code} {period.code} ({when}); "
            f"{queries} to fix or explain"
        )
    else:
        message = (
            f"{result.source_name}: rejected as version {stored.version} for {code} {period.code} ({when}): "
            f"{result.errors} error(s), {queries}; fix the errors and upload again"
        )
    return SubmitOutcome(
        status=status,  # type: ignore[arg-type]
        council_code=code,
        period=period.code,
        submission_id=stored.submission_id,
        version=stored.version,
        late=late,
        errors=result.errors,
        queries=result.queries,
        findings=list(result.findings),
        message=message,
    )


def misattributed(result: ValidationResult) -> str | None:
    """The council a return's About names when it is not the uploader's, else None.

    ABT-05 on council_code is the one place that decides "another council" (with the register's
    code history: a predecessor's or successor's code is the same council); an About council
    that cannot be read is not a claim on another council (the return is rejected as usual)."""
    if any(f.rule == "ABT-05" and f.field == "council_code" for f in result.findings):
        return result.council_code or "another council"
    return None


def _refuse_misattributed(
    engine: Engine,
    result: ValidationResult,
    *,
    code: str,
    other: str,
    submitted_by: str,
    claimed_period: str | None,
    size_bytes: int,
) -> SubmitOutcome:
    from schemas.register import load_register
    from schemas.standard import load_standard

    register = load_register()

    def named(council: str) -> str:
        found = register.find(council)
        return f"{found.name} ({found.council_code})" if found is not None else council[:20]

    period = _parse_period(claimed_period) or _parse_period(result.period)
    record_event(
        engine,
        submitted_by,
        "refused",
        council_code=code,
        period=period.code if period else None,
        detail={
            "refusal": REF_COUNCIL,
            "about_council_code": other[:20],
            "source_name": result.source_name,
            "checksum": result.checksum,
            "size_bytes": size_bytes,
        },
    )
    text = load_standard().refusal(REF_COUNCIL).message.format(about=named(other), claimed=named(code))
    return SubmitOutcome(
        status="refused",
        council_code=code,
        period=period.code if period else None,
        message=f"{result.source_name}: {text}",
        refusal=REF_COUNCIL,
    )


def finding_row(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity,
        "sheet": f.sheet,
        "cell": f.cell,
        "field": f.field,
        "local_child_id": f.local_child_id,
        "message": f.message,
        "row": f.row,
    }


def child_rows(children: pd.DataFrame, secret: bytes, council_code: str, period: str) -> list[dict[str, Any]]:
    """Pseudonymised child records ready to store (the raw identifiers are gone from here on)."""
    from transforms.pseudonymise import pseudonymise_children

    known = frozenset(
        normalise_identifier(str(value))
        for field_ in ("upn", "nhs_number")
        if field_ in children.columns
        for value in children[field_].dropna()
    )
    safe = pseudonymise_children(children, secret)
    # a UPN or NHS number typed as a child's id (CHD-25) is not stored as it was typed
    for name in ("local_child_id", "moved_from_child_id"):
        if name in safe.columns:
            safe[name] = [
                MASK if value is not None and looks_like_identifier(str(value), known) else value
                for value in safe[name].tolist()
            ]
    names = [f for f in (*stored_child_fields(), "upn_key", "nhs_key", "birth_month") if f in safe.columns]
    missing = dict.fromkeys(f for f in stored_child_fields() if f not in safe.columns)
    columns = []
    for name in names:
        values = safe[name].tolist()
        # most values are already plain (str, int, date, None): clean only the others
        columns.append(
            [v if type(v) in PLAIN_TYPES else clean_value(v) for v in values]  # exact types: datetime is cleaned
        )
    rows: list[dict[str, Any]] = []
    for position, excel_row in enumerate(safe.index.tolist()):
        row = {"council_code": council_code, "period": period, "row": int(excel_row), **missing}
        row.update(zip(names, (column[position] for column in columns), strict=True))
        rows.append(row)
    return rows
