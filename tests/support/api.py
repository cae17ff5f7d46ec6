"""The API (standard §8) over a migrated database, for tests and the load benchmark: clients
made with cheap argon2 parameters, a token for each, and JSON returns built from the rule
tests' valid baseline (Hartlepool, 2025-Q1)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from fastapi import FastAPI

from lscb.settings import DEMO_KEY
from pipeline import api
from portal.api.app import ApiConfig, ApiContext, create_api
from store.engine import get_engine

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # production uses the defaults
BASE_URL = "https://testserver"  # OAuth 2.0 needs https (Authlib refuses plain http but on loopback)
COUNCIL_A = "E06000001"  # Hartlepool, the baseline's council
COUNCIL_B = "E06000002"  # Middlesbrough
PERIOD = "2025-Q1"

_RULES = Path(__file__).resolve().parents[1] / "unit"  # `rules.baseline`: the valid return of the rule tests
if str(_RULES) not in sys.path:
    sys.path.insert(0, str(_RULES))


@dataclass
class Registered:
    client_id: str
    secret: str
    council_code: str


def api_app(database_url: str, **config: Any) -> tuple[FastAPI, ApiContext]:
    context = ApiContext(get_engine(database_url), DEMO_KEY, ApiConfig(**config), hasher=FAST_HASHER)
    return create_api(context), context


def add_client(
    database_url: str, council: str = COUNCIL_A, name: str = "mosaic-nightly", scopes: tuple[str, ...] = api.SCOPES
) -> Registered:
    client, secret = api.add_client(database_url, council, name, actor="test", scopes=scopes, hasher=FAST_HASHER)
    return Registered(client.client_id, secret, client.council_code)


def get_token(http: Any, who: Registered, scope: str | None = None) -> str:
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = http.post("/token", data=form, auth=(who.client_id, who.secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def baseline_document(council: str = COUNCIL_A) -> dict[str, Any]:
    from rules.baseline import baseline, build

    from transforms.ingest.json_return import return_to_document

    document = return_to_document(build(baseline()))
    document["about"]["council_code"] = council
    return document


def body(document: Any) -> bytes:
    return json.dumps(document).encode()
