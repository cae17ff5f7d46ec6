"""OAuth 2.0 client credentials (RFC 6749 §4.4) with Authlib: the token endpoint and the bearer
token check, over the use cases of `pipeline.api` (secrets as argon2 hashes, tokens as sha256).

Authlib is framework-agnostic: `TokenServer` gives it the request as Authlib's own
`OAuth2Request` (the form already read by FastAPI) and turns its answer into a JSON response.
Clients authenticate with HTTP Basic (`client_secret_basic`) or in the form
(`client_secret_post`); tokens are Authlib's random bearer tokens, never a home-made format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from argon2 import PasswordHasher
from authlib.common.security import generate_token
from authlib.oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, TokenMixin, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from pipeline import api as use_cases


class _Client(ClientMixin):  # type: ignore[misc]
    """What Authlib asks of a client; the secret check is the use case's (argon2)."""

    def __init__(self, engine: Engine, client_id: str, hasher: PasswordHasher | None) -> None:
        self.engine = engine
        self.client_id = client_id
        self.hasher = hasher
        self.api_client: use_cases.ApiClient | None = None

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        self.api_client = use_cases.authenticate(self.engine, self.client_id, client_secret, hasher=self.hasher)
        return self.api_client is not None

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in ("client_secret_basic", "client_secret_post")

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """All the client's scopes when none is asked for; None (invalid_scope) when one asked
        for is not the client's."""
        allowed = self.api_client.scopes if self.api_client else ()
        if not scope:
            return " ".join(allowed)
        wanted = scope.split()
        return " ".join(wanted) if all(s in allowed for s in wanted) else None


class _Form(OAuth2Request):  # type: ignore[misc]
    def __init__(self, method: str, uri: str, headers: Mapping[str, str], form: dict[str, str]) -> None:
        super().__init__(method, uri, headers=headers)
        self._form = form
        self.payload = BasicOAuth2Payload(form)

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class _ClientCredentials(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012 - Authlib's name


class TokenServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, engine: Engine, token_seconds: int, hasher: PasswordHasher | None = None) -> None:
        super().__init__(scopes_supported=list(use_cases.SCOPES))
        self.engine = engine
        self.hasher = hasher
        self.register_grant(_ClientCredentials)
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: generate_token(48),
                expires_generator=lambda _client, _grant: token_seconds,
            ),
        )

    def query_client(self, client_id: str) -> _Client:
        # an unknown id gets a client too: its secret check costs what a wrong secret does
        return _Client(self.engine, str(client_id), self.hasher)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        client: _Client = request.client
        assert client.api_client is not None
        use_cases.save_token(
            self.engine, client.api_client, token["access_token"], token.get("scope", ""), token["expires_in"]
        )

    def create_oauth2_request(self, request: Any) -> Any:
        return request  # already Authlib's (`token_request`)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> JSONResponse:
        return JSONResponse(body, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


def token_request(method: str, url: str, headers: Mapping[str, str], form: dict[str, str]) -> OAuth2Request:
    return _Form(method, url, headers, form)


class _Token(TokenMixin):  # type: ignore[misc]
    def __init__(self, found: use_cases.TokenInUse) -> None:
        self.found = found

    def get_scope(self) -> str:
        return " ".join(self.found.scopes)

    def is_expired(self) -> bool:
        return False  # `token_in_use` gives only live tokens

    def is_revoked(self) -> bool:
        return False


class _Bearer(BearerTokenValidator):  # type: ignore[misc]
    def __init__(self, engine: Engine) -> None:
        super().__init__(realm="lscb-api")
        self.engine = engine

    def authenticate_token(self, token_string: str) -> _Token | None:
        found = use_cases.token_in_use(self.engine, token_string)
        return _Token(found) if found else None


def resource_protector(engine: Engine) -> ResourceProtector:
    protector = ResourceProtector()
    protector.register_token_validator(_Bearer(engine))
    return protector


def bearer_request(method: str, url: str, headers: Mapping[str, str]) -> OAuth2Request:
    return OAuth2Request(method, url, headers=headers)
