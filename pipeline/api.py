"""The API's use cases (standard §8): OAuth 2.0 clients of a council, the tokens they are given,
every use of a token audited, and a submission answered once per idempotency key.

- `add_client` / `rotate_secret` / `revoke_client` / `list_clients`: what `lscb clients` does.
  A secret is returned once and kept only as an argon2id hash (the same hasher as the portal's
  passwords); rotating it or revoking the client ends every token it holds.
- `authenticate` checks a client's secret (the token endpoint's job; `portal.api.oauth` wraps it
  for Authlib); `save_token` keeps a token as its sha256 with its expiry (at most an hour);
  `token_in_use` finds a token's client and council, or None when unknown, expired or revoked.
- `record_use`: one audit row per request a token is used for.
- `answer_once`: the idempotency of `POST`/`PATCH` (same key and body: the same answer, nothing
  new stored; same key, another body: refused).

The council a client acts for is the client's, recorded here: nothing in a request body can
change it (the submission's About.council_code is checked against it like a file's claim).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from store import api as api_store
from store.audit import record
from store.engine import get_engine
from store.queries import StoreError, check_actor, normalise_council, require_ready
from store.seed import ensure_council

SCOPES = ("returns:submit", "findings:read")
MAX_TOKEN_LIFETIME = timedelta(hours=1)  # §8: tokens expire within an hour
_hasher = PasswordHasher()


@functools.cache
def _nobody(hasher: PasswordHasher) -> str:
    """Verified against when a client id is unknown, so an unknown id costs what a wrong secret does."""
    return hasher.hash(secrets.token_urlsafe(32))


class ApiError(StoreError):
    """A request the API refuses; str() is one plain line."""


@dataclass(frozen=True)
class ApiClient:
    client_id: str
    council_code: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "council_code": self.council_code,
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": self.created_at.isoformat(),
            "rotated_at": self.rotated_at.isoformat() if self.rotated_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True)
class TokenInUse:
    client_id: str
    council_code: str
    scopes: tuple[str, ...]
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _client(row: Any) -> ApiClient:
    return ApiClient(
        client_id=row["client_id"],
        council_code=row["council_code"],
        name=row["name"],
        scopes=tuple(row["scopes"].split()),
        created_at=row["created_at"],
        rotated_at=row["rotated_at"],
        revoked_at=row["revoked_at"],
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_scopes(scopes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ApiError(f"scopes must be among {', '.join(SCOPES)} (got {' '.join(scopes) or 'none'})")
    return tuple(dict.fromkeys(scopes))


def add_client(
    engine_or_url: Engine | str,
    council_code: str,
    name: str,
    *,
    actor: str,
    scopes: tuple[str, ...] | list[str] = SCOPES,
    hasher: PasswordHasher | None = None,
) -> tuple[ApiClient, str]:
    """A new client for `council_code`; returns it and its secret (shown once, never kept)."""
    code = normalise_council(council_code)
    actor = check_actor(actor, "actor")
    label = str(name or "").strip()
    if not label or len(label) > 100:
        raise ApiError("a client needs a name of 1 to 100 characters (e.g. mosaic-nightly)")
    wanted = _check_scopes(scopes)
    engine = get_engine(engine_or_url)
    require_ready(engine)
    client_id = f"{code.lower()}-{secrets.token_hex(8)}"
    secret = secrets.token_urlsafe(32)
    now = _now()
    try:
        with engine.begin() as connection:
            ensure_council(connection, code)
            api_store.insert_client(
                connection,
                client_id=client_id,
                council_code=code,
                name=label,
                secret_hash=(hasher or _hasher).hash(secret),
                scopes=" ".join(wanted),
                created_at=now,
                created_by=actor,
            )
            record(
                connection, actor, "api_client_added", council_code=code, detail={"client_id": client_id, "name": label}
            )
    except IntegrityError:
        raise ApiError(f"{code} already has a client named {label!r}") from None
    return get_client(engine, client_id), secret


def get_client(engine_or_url: Engine | str, client_id: str) -> ApiClient:
    with get_engine(engine_or_url).connect() as connection:
        row = api_store.find_client(connection, str(client_id))
    if row is None:
        raise ApiError(f"no API client {client_id!r}")
    return _client(row)


def list_clients(engine_or_url: Engine | str, council_code: str | None = None) -> list[ApiClient]:
    code = normalise_council(council_code) if council_code else None
    with get_engine(engine_or_url).connect() as connection:
        return [_client(r) for r in api_store.all_clients(connection, code)]


def rotate_secret(
    engine_or_url: Engine | str, client_id: str, *, actor: str, hasher: PasswordHasher | None = None
) -> str:
    """A new secret for the client (shown once); the old one and every token it got stop working."""
    actor = check_actor(actor, "actor")
    engine = get_engine(engine_or_url)
    client = get_client(engine, client_id)
    if not client.active:
        raise ApiError(f"client {client_id} is revoked; add a new one")
    secret = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        api_store.update_client(
            connection, client.client_id, secret_hash=(hasher or _hasher).hash(secret), rotated_at=_now()
        )
        api_store.delete_tokens(connection, client.client_id)
        record(
            connection, actor, "api_client_rotated", council_code=client.council_code, detail={"client_id": client_id}
        )
    return secret


def revoke_client(engine_or_url: Engine | str, client_id: str, *, actor: str) -> ApiClient:
    """The client can no longer get tokens, and the tokens it has stop working at once."""
    actor = check_actor(actor, "actor")
    engine = get_engine(engine_or_url)
    client = get_client(engine, client_id)
    with engine.begin() as connection:
        if client.active:
            api_store.update_client(connection, client.client_id, revoked_at=_now())
        api_store.delete_tokens(connection, client.client_id)
        record(
            connection, actor, "api_client_revoked", council_code=client.council_code, detail={"client_id": client_id}
        )
    return get_client(engine, client_id)


def authenticate(
    engine_or_url: Engine | str, client_id: str, secret: str, *, hasher: PasswordHasher | None = None
) -> ApiClient | None:
    """The active client whose secret this is, or None (unknown, revoked or wrong secret)."""
    verifier = hasher or _hasher
    with get_engine(engine_or_url).connect() as connection:
        row = api_store.find_client(connection, str(client_id)[:40])
    try:
        verifier.verify(row["secret_hash"] if row is not None else _nobody(verifier), secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or row["revoked_at"] is not None:
        return None
    return _client(row)


def save_token(engine_or_url: Engine | str, client: ApiClient, access_token: str, scope: str, expires_in: int) -> None:
    """Keep an issued token as its sha256, with its scopes and expiry (at most an hour)."""
    lifetime = min(timedelta(seconds=expires_in), MAX_TOKEN_LIFETIME)
    now = _now()
    engine = get_engine(engine_or_url)
    with engine.begin() as connection:
        api_store.delete_tokens(connection, client.client_id, expired_before=now)
        api_store.insert_token(
            connection,
            token_hash=token_hash(access_token),
            client_id=client.client_id,
            scope=scope,
            issued_at=now,
            expires_at=now + lifetime,
        )
        record(
            connection,
            f"api:{client.client_id}",
            "api_token_issued",
            council_code=client.council_code,
            detail={"client_id": client.client_id, "scope": scope, "expires_in": int(lifetime.total_seconds())},
        )


def token_in_use(engine_or_url: Engine | str, access_token: str, *, now: datetime | None = None) -> TokenInUse | None:
    """The token's client and council, or None when the token is unknown, expired or its client revoked."""
    with get_engine(engine_or_url).connect() as connection:
        row = api_store.find_token(connection, token_hash(access_token))
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    if row is None or row["revoked_at"] is not None or row["expires_at"] <= moment:
        return None
    return TokenInUse(row["client_id"], row["council_code"], tuple(row["scope"].split()), row["expires_at"])


def record_use(
    engine_or_url: Engine | str,
    token: TokenInUse,
    method: str,
    route: str,
    status_code: int,
    *,
    period: str | None = None,
    submission_id: int | None = None,
) -> None:
    """One audit row per request a token was used for (ids and route only, never a body)."""
    with get_engine(engine_or_url).begin() as connection:
        record(
            connection,
            f"api:{token.client_id}",
            "api_request",
            council_code=token.council_code,
            period=period,
            submission_id=submission_id,
            detail={"client_id": token.client_id, "method": method, "route": route[:200], "status": status_code},
        )


# ---- idempotency ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def answer_once(
    engine_or_url: Engine | str,
    token: TokenInUse,
    *,
    key: str,
    method: str,
    period: str,
    body: bytes,
    answer: Callable[[], Answer],
) -> Answer:
    """`answer()` once per (client, Idempotency-Key): the same key and body again gets the first
    answer and stores nothing; the same key with another body, or another period or method, is
    refused (422); a key whose first request is still being answered gets 409 (retry later)."""
    key = str(key).strip()
    if not key or len(key) > 200:
        raise ApiError("Idempotency-Key must be 1 to 200 characters")
    digest = body_hash(body)
    engine = get_engine(engine_or_url)
    try:
        with engine.begin() as connection:
            api_store.insert_request(
                connection,
                client_id=token.client_id,
                idempotency_key=key,
                method=method,
                period=period,
                body_hash=digest,
                created_at=_now(),
            )
    except IntegrityError:
        with engine.connect() as connection:
            seen = api_store.find_request(connection, token.client_id, key)
        if seen is None:  # forgotten meanwhile (the first attempt failed on our side)
            return answer_once(engine, token, key=key, method=method, period=period, body=body, answer=answer)
        if seen["body_hash"] != digest or seen["method"] != method or seen["period"] != period:
            return Answer(
                422,
                {
                    "error": "idempotency_key_reused",
                    "message": "this Idempotency-Key was used with another request; use a new key for new content",
                },
            )
        if seen["status_code"] is None:
            return Answer(
                409, {"error": "in_progress", "message": "the first request with this Idempotency-Key is still running"}
            )
        return Answer(int(seen["status_code"]), dict(seen["answer"]), replayed=True)
    try:
        result = answer()
    except BaseException:
        with engine.begin() as connection:
            api_store.forget_request(connection, token.client_id, key)
        raise
    with engine.begin() as connection:
        api_store.finish_request(connection, token.client_id, key, result.status_code, result.body)
    return result


# ---- what a submission answers, and what GET answers --------------------------------------------------


def finding_json(finding: Any) -> dict[str, Any]:
    """A finding as the API gives it: located by JSON Pointer (§8), with the child's local id."""
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "pointer": finding.cell,
        "field": finding.field,
        "local_child_id": finding.local_child_id,
        "message": finding.message,
    }


def outcome_answer(outcome: Any) -> Answer:
    """A `SubmitOutcome` as the API's answer: 201 for a stored version (accepted or rejected),
    200 for a duplicate of one already stored, 422 for a refused body (nothing stored)."""
    status_code = {"accepted": 201, "rejected": 201, "duplicate": 200}.get(outcome.status, 422)
    body = {
        "status": outcome.status,
        "council_code": outcome.council_code,
        "period": outcome.period,
        "version": outcome.version,
        "submission_id": outcome.submission_id,
        "late": outcome.late,
        "errors": outcome.errors,
        "queries": outcome.queries,
        "existing_status": outcome.existing_status,
        "refusal": outcome.refusal,
        "message": outcome.message,
        "findings": [finding_json(f) for f in outcome.findings],
    }
    return Answer(status_code, body)


def version_answer(
    engine_or_url: Engine | str, council_code: str, period: str, version: int | None = None
) -> dict[str, Any] | None:
    """A version of the council's return for the period (default: the current one, else the
    latest) with its status and findings; None when the council has no such version."""
    from store.queries import list_submissions, submission_findings

    engine = get_engine(engine_or_url)
    versions = list_submissions(council_code, period, engine_or_url=engine)
    if not versions:
        return None
    if version is None:
        chosen = next((v for v in versions if v["current"]), versions[-1])
    else:
        found = [v for v in versions if v["version"] == version]
        if not found:
            return None
        chosen = found[0]
    findings = submission_findings(council_code, period, chosen["version"], engine_or_url=engine)
    keys = ("council_code", "period", "version", "status", "current", "late", "errors", "queries", "received_at")
    return {
        **{k: chosen[k] for k in keys},
        "submission_id": chosen["submission_id"],
        "format": chosen["format"],
        "versions": [v["version"] for v in versions],
        "findings": [finding_json(f) for f in findings],
    }
