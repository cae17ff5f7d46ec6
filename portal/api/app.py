"""The API's routes (standard §8), a FastAPI app of its own mounted by the portal at `/api/v1`
(its OpenAPI document is `/api/v1/openapi.json`, its JSON Schema `/api/v1/schema`).

- `POST /token`: OAuth 2.0 client credentials (Authlib, `portal.api.oauth`).
- `POST /returns/{period}`: a full return as JSON, with `Idempotency-Key`: the same use case
  as a file (`pipeline.receive.submit_json`), answered with status, version and findings
  located by JSON Pointer. Scope `returns:submit`.
- `PATCH /returns/{period}`: a delta (§8), the same way (`submit_json(delta=True)`).
- `GET /returns/{period}[?version=N]`: a version's status and findings. Scope `findings:read`.

The council is always the token's client's: no route takes a council, and nothing in a body can
change it. Every request with a token is audited (`pipeline.api.record_use`) and counted
against the client's rate (`portal.api.limits`): beyond it, 429 with `Retry-After`. A body
larger than the limit is refused (413) while it is read, before any of it is parsed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

from argon2 import PasswordHasher
from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from pipeline import api as use_cases
from portal.api.limits import RateLimiter
from portal.api.oauth import TokenServer, bearer_request, resource_protector, token_request


def _standard_limit() -> int:
    from schemas.standard import load_standard

    return load_standard().limits.max_upload_bytes


@dataclass
class ApiConfig:
    token_seconds: int = 3600
    rate_per_minute: int = 120
    burst: int = 30
    max_body_bytes: int = field(default_factory=_standard_limit)
    # behind a TLS-terminating proxy: believe X-Forwarded-Proto (OAuth 2.0 needs https, RFC 6749 §3.1)
    trust_proxy: int = 0  # trusted proxy hops (LSCB_PORTAL_TRUST_PROXY); any: X-Forwarded-Proto believed

    def __post_init__(self) -> None:
        self.token_seconds = max(60, min(self.token_seconds, int(use_cases.MAX_TOKEN_LIFETIME.total_seconds())))


@dataclass
class ApiContext:
    engine: Engine
    secret: bytes  # the pseudonymisation key
    config: ApiConfig = field(default_factory=ApiConfig)
    hasher: PasswordHasher | None = None  # tests pass cheaper argon2 parameters

    def __post_init__(self) -> None:
        self.tokens = TokenServer(self.engine, self.config.token_seconds, self.hasher)
        self.protector = resource_protector(self.engine)
        self.limiter = RateLimiter(self.config.rate_per_minute, self.config.burst)


_building = threading.Lock()


def build_default() -> ApiContext:
    from lscb.settings import load_settings
    from store.engine import get_engine
    from store.migrate import ensure_current

    project = load_settings()
    engine = get_engine(project.database())
    ensure_current(engine)
    config = ApiConfig(
        token_seconds=project.api_token_minutes * 60,
        rate_per_minute=project.api_rate_per_minute,
        burst=project.api_burst,
        trust_proxy=project.portal_trust_proxy,
    )
    return ApiContext(engine, project.key().secret, config)


def api_of(app: FastAPI) -> ApiContext:
    found: ApiContext | None = app.state.api
    if found is None:
        with _building:
            found = app.state.api
            if found is None:
                found = app.state.api = build_default()
    return found


class Refusal(Exception):
    def __init__(self, status_code: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error = error
        self.headers = headers or {}


async def _refusal(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refusal)
    return JSONResponse({"error": exc.error, "message": str(exc)}, status_code=exc.status_code, headers=exc.headers)


router = APIRouter()


def _url(request: Request) -> str:
    """The request's URL as the client sent it (Authlib refuses plain http but on loopback)."""
    url = request.url
    if api_of(request.app).config.trust_proxy and request.headers.get("x-forwarded-proto", "").lower() == "https":
        url = url.replace(scheme="https")
    return str(url)


async def _authorised(request: Request, scope: str) -> use_cases.TokenInUse:
    """The token's client, when the token is live and has `scope`, and the client is within its
    rate; otherwise a `Refusal` (401 / 403 / 429)."""
    context = api_of(request.app)
    try:
        oauth = bearer_request(request.method, _url(request), request.headers)
        token = await run_in_threadpool(context.protector.validate_request, [scope], oauth)
    except OAuth2Error as error:
        headers = dict(error.get_headers())
        raise Refusal(error.status_code, error.error, error.get_error_description() or error.error, headers) from None
    found: use_cases.TokenInUse = token.found
    wait = context.limiter.take(found.client_id)
    if wait is not None:
        await run_in_threadpool(use_cases.record_use, context.engine, found, request.method, request.url.path, 429)
        raise Refusal(429, "rate_limited", f"too many requests; retry after {wait} s", {"Retry-After": str(wait)})
    return found


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Refusal(413, "too_large", f"the body is larger than {limit:,} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal(413, "too_large", f"the body is larger than {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/token", summary="OAuth 2.0 client credentials: a bearer token (at most an hour)")
async def token(request: Request) -> Any:
    context = api_of(request.app)
    # secrets are slow to check on purpose (argon2); guessing them is slowed further by a rate per address
    wait = context.limiter.take("token:" + (request.client.host if request.client else "unknown"))
    if wait is not None:
        raise Refusal(429, "rate_limited", f"too many token requests; retry after {wait} s", {"Retry-After": str(wait)})
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        oauth = token_request(request.method, _url(request), request.headers, form)
    except OAuth2Error as error:  # plain http: refused before any secret is looked at
        return JSONResponse(dict(error.get_body()), status_code=error.status_code)
    return await run_in_threadpool(context.tokens.create_token_response, oauth)


@router.get("/schema", summary="The JSON Schema of a return (standard 1.0): the API's contract")
async def schema(version: str = "1.0") -> JSONResponse:
    from schemas.json_schema import json_schema

    try:
        return JSONResponse(json_schema(version), media_type="application/schema+json")
    except KeyError:
        raise Refusal(404, "not_found", f"no standard version {version!r}") from None


async def _submission(request: Request, period: str, idempotency_key: str, *, delta: bool) -> JSONResponse:
    """POST and PATCH alike: the client's own council, the key's one answer, the same use case."""
    from pipeline.receive import submit_json
    from store.queries import StoreError, normalise_period

    context = api_of(request.app)
    found = await _authorised(request, "returns:submit")
    try:
        period_code = normalise_period(period)
    except StoreError as error:
        raise Refusal(404, "not_found", str(error)) from None
    body = await _body(request, context.config.max_body_bytes)
    method = "PATCH" if delta else "POST"

    def submit() -> use_cases.Answer:
        outcome = submit_json(
            body,
            found.council_code,
            period=period_code,
            secret=context.secret,
            engine_or_url=context.engine,
            submitted_by=f"api:{found.client_id}",
            delta=delta,
        )
        return use_cases.outcome_answer(outcome)

    def once() -> use_cases.Answer:
        answer = use_cases.answer_once(
            context.engine, found, key=idempotency_key, method=method, period=period_code, body=body, answer=submit
        )
        use_cases.record_use(
            context.engine,
            found,
            method,
            request.url.path,
            answer.status_code,
            period=period_code,
            submission_id=answer.body.get("submission_id"),
        )
        return answer

    try:
        answer = await run_in_threadpool(once)
    except use_cases.ApiError as error:
        raise Refusal(400, "bad_request", str(error)) from None
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


@router.post(
    "/returns/{period}",
    status_code=201,
    summary="Submit a full return for the period (a new version, as a file would be)",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "/api/v1/schema"}}}}
    },
)
async def submit_return(request: Request, period: str, idempotency_key: IdempotencyKey) -> JSONResponse:
    return await _submission(request, period, idempotency_key, delta=False)


@router.patch(
    "/returns/{period}",
    status_code=201,
    summary="Send the changes since your last JSON submission for the period (a delta, §8): children "
    'upserted by local_child_id, removed with "purge": true, about/strategy/activity replaced when present; '
    "the whole result is validated and stored as the next version",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "/api/v1/schema"}}}}
    },
)
async def change_return(request: Request, period: str, idempotency_key: IdempotencyKey) -> JSONResponse:
    return await _submission(request, period, idempotency_key, delta=True)


@router.get("/returns/{period}", summary="A version's status and findings (default: the current one, else the latest)")
async def get_return(request: Request, period: str, version: Annotated[int | None, Query(ge=1)] = None) -> JSONResponse:
    from store.queries import StoreError, normalise_period

    context = api_of(request.app)
    found = await _authorised(request, "findings:read")
    try:
        period_code = normalise_period(period)
    except StoreError as error:
        raise Refusal(404, "not_found", str(error)) from None

    def read() -> dict[str, Any] | None:
        answer = use_cases.version_answer(context.engine, found.council_code, period_code, version)
        use_cases.record_use(context.engine, found, "GET", request.url.path, 200 if answer else 404, period=period_code)
        return answer

    answer = await run_in_threadpool(read)
    if answer is None:
        raise Refusal(404, "not_found", f"no such version of your return for {period_code}")
    return JSONResponse(answer)


def create_api(context: ApiContext | None = None) -> FastAPI:
    """The API over `context` (tests), or over the project's settings, built at first use."""
    api = FastAPI(
        title="LSCB returns API (standard §8)",
        version="1.0",
        description=(
            "Councils' case systems send their quarterly return as JSON (OAuth 2.0 client credentials; "
            "scopes returns:submit and findings:read). The JSON Schema of a return is at /api/v1/schema."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    api.state.api = context
    api.add_exception_handler(Refusal, _refusal)
    api.include_router(router)
    return api
