"""The API of the standard (§8) on SQLite and PostgreSQL: OAuth 2.0 client credentials, a
client kept to its own council on every route, idempotent submissions through the same use case
as a file, hostile JSON refused with nothing stored, rate limits, and no raw identifier anywhere."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text, update

from lscb.cli import main
from pipeline import api
from store import api as api_store
from store.engine import get_engine
from store.models import AuditEntry, Submission
from store.queries import orm_all
from tests.support.api import (
    BASE_URL,
    COUNCIL_A,
    COUNCIL_B,
    PERIOD,
    add_client,
    api_app,
    baseline_document,
    bearer,
    body,
    get_token,
)


@pytest.fixture
def http(migrated_url: str) -> TestClient:
    app, _ = api_app(migrated_url)
    return TestClient(app, base_url=BASE_URL)


def _versions(url: str, council: str) -> list[Submission]:
    with get_engine(url).connect() as connection:
        return orm_all(connection, select(Submission).where(Submission.council_code == council))


def _submissions(url: str) -> int:
    with get_engine(url).connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM submissions")).scalar() or 0)


# ---- tokens ----------------------------------------------------------------------------------------


def test_a_client_gets_a_token_of_at_most_an_hour_with_its_scopes(migrated_url: str) -> None:
    app, _ = api_app(migrated_url, token_seconds=7200)
    http = TestClient(app, base_url=BASE_URL)
    who = add_client(migrated_url)
    response = http.post("/token", data={"grant_type": "client_credentials"}, auth=(who.client_id, who.secret))
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "Bearer" and 0 < token["expires_in"] <= 3600
    assert set(token["scope"].split()) == set(api.SCOPES)
    # client_secret_post works too
    posted = http.post(
        "/token", data={"grant_type": "client_credentials", "client_id": who.client_id, "client_secret": who.secret}
    )
    assert posted.status_code == 200


def test_bad_secret_unknown_client_and_revoked_client_get_no_token(http: TestClient, migrated_url: str) -> None:
    who = add_client(migrated_url)
    form = {"grant_type": "client_credentials"}
    assert http.post("/token", data=form, auth=(who.client_id, who.secret + "x")).status_code == 401
    assert http.post("/token", data=form, auth=("e06000001-nobody", who.secret)).status_code == 401
    token = get_token(http, who)
    api.revoke_client(migrated_url, who.client_id, actor="test")
    assert http.post("/token", data=form, auth=(who.client_id, who.secret)).json()["error"] == "invalid_client"
    assert http.get(f"/returns/{PERIOD}", headers=bearer(token)).status_code == 401


def test_a_rotated_secret_ends_the_old_secret_and_its_tokens(http: TestClient, migrated_url: str) -> None:
    who = add_client(migrated_url)
    token = get_token(http, who)
    new_secret = api.rotate_secret(migrated_url, who.client_id, actor="test")
    assert http.get(f"/returns/{PERIOD}", headers=bearer(token)).status_code == 401
    form = {"grant_type": "client_credentials"}
    assert http.post("/token", data=form, auth=(who.client_id, who.secret)).status_code == 401
    assert http.post("/token", data=form, auth=(who.client_id, new_secret)).status_code == 200


def test_an_expired_token_is_refused(http: TestClient, migrated_url: str) -> None:
    who = add_client(migrated_url)
    token = get_token(http, who)
    assert http.get(f"/returns/{PERIOD}", headers=bearer(token)).status_code == 404  # live: nothing sent yet
    with get_engine(migrated_url).begin() as connection:
        connection.execute(
            update(api_store.tokens).values(expires_at=datetime.now() - timedelta(hours=2))  # noqa: DTZ005
        )
    refused = http.get(f"/returns/{PERIOD}", headers=bearer(token))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
    assert http.get(f"/returns/{PERIOD}", headers=bearer("not-a-token")).status_code == 401
    assert http.get(f"/returns/{PERIOD}").status_code == 401


def test_a_missing_scope_is_refused(http: TestClient, migrated_url: str) -> None:
    reader = add_client(migrated_url, name="reader", scopes=("findings:read",))
    token = get_token(http, reader)
    refused = http.post(f"/returns/{PERIOD}", content=body(baseline_document()), headers=bearer(token, "k1"))
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    assert _submissions(migrated_url) == 0
    asked = http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "returns:submit"},
        auth=(reader.client_id, reader.secret),
    )
    assert asked.status_code == 400 and asked.json()["error"] == "invalid_scope"
    submitter = add_client(migrated_url, name="submitter")
    narrow = get_token(http, submitter, scope="returns:submit")
    assert http.get(f"/returns/{PERIOD}", headers=bearer(narrow)).status_code == 403


def test_every_use_of_a_token_is_audited(http: TestClient, migrated_url: str) -> None:
    who = add_client(migrated_url)
    token = get_token(http, who)
    http.get(f"/returns/{PERIOD}", headers=bearer(token))
    http.post(f"/returns/{PERIOD}", content=body(baseline_document()), headers=bearer(token, "k1"))
    http.get(f"/returns/{PERIOD}", headers=bearer(token))
    with get_engine(migrated_url).connect() as connection:
        uses = orm_all(connection, select(AuditEntry).where(AuditEntry.action == "api_request").order_by(AuditEntry.id))
        issued = orm_all(connection, select(AuditEntry).where(AuditEntry.action == "api_token_issued"))
    assert [(u.detail["method"], u.detail["status"]) for u in uses] == [("GET", 404), ("POST", 201), ("GET", 200)]
    assert all(u.actor == f"api:{who.client_id}" and u.council_code == COUNCIL_A for u in uses)
    assert len(issued) == 1


# ---- one council only ---------------------------------------------------------------------------------


def test_a_client_cannot_read_or_write_another_councils_return_on_any_route(
    http: TestClient, migrated_url: str
) -> None:
    a, b = add_client(migrated_url, COUNCIL_A), add_client(migrated_url, COUNCIL_B)
    token_a, token_b = get_token(http, a), get_token(http, b)
    sent = http.post(f"/returns/{PERIOD}", content=body(baseline_document()), headers=bearer(token_a, "a1"))
    assert sent.status_code == 201 and sent.json()["status"] == "accepted"
    # B's body says it is A's return: refused before anything is stored, as a file would be
    # (attribution before storage), and answered as B's
    pretending = http.post(
        f"/returns/{PERIOD}", content=body(baseline_document(COUNCIL_A)), headers=bearer(token_b, "b1")
    )
    assert pretending.status_code == 422
    assert pretending.json()["council_code"] == COUNCIL_B and pretending.json()["refusal"] == "REF-COUNCIL"
    assert _versions(migrated_url, COUNCIL_B) == []
    assert [v.version for v in _versions(migrated_url, COUNCIL_A)] == [1]
    # every route of the API with a period answers B about B only
    app: Any = http.app
    period_routes = [r for r in app.routes if "{period}" in getattr(r, "path", "")]
    assert period_routes
    for route in period_routes:
        for method in sorted(route.methods - {"HEAD"}):
            path = route.path.replace("{period}", PERIOD)
            answer = http.request(method, path, headers=bearer(token_b, f"b-{method}"), content=b"{}")
            assert answer.json().get("council_code") in (None, COUNCIL_B)
            assert answer.json().get("submission_id") != sent.json()["submission_id"]
    assert [v.version for v in _versions(migrated_url, COUNCIL_A)] == [1]


# ---- submissions -------------------------------------------------------------------------------------


def test_a_submission_answers_status_version_and_findings_by_pointer(http: TestClient, migrated_url: str) -> None:
    who = add_client(migrated_url)
    token = get_token(http, who)
    document = baseline_document()
    document["children"][1]["sex"] = "X"
    answer = http.post(f"/returns/{PERIOD}", content=body(document), headers=bearer(token, "k1"))
    assert answer.status_code == 201
    sent = answer.json()
    assert sent["status"] == "rejected" and sent["version"] == 1
    located = [f for f in sent["findings"] if f["pointer"] == "/children/1/sex"]
    assert len(located) == 1 and located[0]["severity"] == "E" and located[0]["local_child_id"] == "C002"
    fixed = http.post(f"/returns/{PERIOD}", content=body(baseline_document()), headers=bearer(token, "k2")).json()
    assert fixed["status"] == "accepted" and fixed["version"] == 2
    read = http.get(f"/returns/{PERIOD}", params={"version": 1}, headers=bearer(token)).json()
    assert read["status"] == "rejected" and read["findings"] == sent["findings"]
    current = http.get(f"/returns/{PERIOD}", headers=bearer(token)).json()
    assert current["version"] == 2 and current["current"] and current["format"] == "json"
    assert http.get(f"/returns/{PERIOD}", params={"version": 9}, headers=bearer(token)).status_code == 404


def test_the_same_idempotency_key_twice_stores_one_version(http: TestClient, migrated_url: str) -> None:
    who = add_client(migrated_url)
    token = get_token(http, who)
    payload = body(baseline_document())
    first = http.post(f"/returns/{PERIOD}", content=payload, headers=bearer(token, "nightly-2025-07-01"))
    again = http.post(f"/returns/{PERIOD}", content=payload, headers=bearer(token, "nightly-2025-07-01"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(_versions(migrated_url, COUNCIL_A)) == 1


def test_a_key_reused_with_another_body_is_refused(http: TestClient, migrated_url: str) -> None:
    who = add_client(migrated_url)
    token = get_token(http, who)
    http.post(f"/returns/{PERIOD}", content=body(baseline_document()), headers=bearer(token, "k"))
    other = baseline_document()
    other["activity"]["charges"] = 1
    refused = http.post(f"/returns/{PERIOD}", content=body(other), headers=bearer(token, "k"))
    assert refused.status_code == 422 and refused.json()["error"] == "idempotency_key_reused"
    assert len(_versions(migrated_url, COUNCIL_A)) == 1
    missing = http.post(f"/returns/{PERIOD}", content=body(other), headers=bearer(token))
    assert missing.status_code == 422  # no Idempotency-Key at all
    assert len(_versions(migrated_url, COUNCIL_A)) == 1


def _baseline_with(old: str, new: str) -> bytes:
    text = body(baseline_document()).decode()
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("hostile", "pointer"),
    [
        (lambda: b'{"children": [{"sex": ' + b"[" * 10_000 + b"]" * 10_000 + b"}]}", "/children/0/sex"),
        (lambda: _baseline_with('"period": "2025-Q1"', '"period": "2025-Q1", "period": "2025-Q2"'), "/about/period"),
        (lambda: _baseline_with('"charges": 0', '"charges": NaN'), "/activity/charges"),
        (lambda: _baseline_with('"charges": 0', '"charges": 1' + "0" * 400), "/activity/charges"),
        (lambda: _baseline_with('"charges": 0', '"charges": "3"'), "/activity/charges"),
        (lambda: _baseline_with('"sex": "F"', '"sex": "' + "F" * 50_000_000 + '"'), "/children/0/sex"),
    ],
    ids=["deep", "duplicate-key", "nan", "10^400", "wrong-type", "50MB-string"],
)
def test_hostile_json_is_refused_naming_the_pointer_and_nothing_is_stored(
    http: TestClient, migrated_url: str, hostile: Any, pointer: str
) -> None:
    who = add_client(migrated_url)
    token = get_token(http, who)
    refused = http.post(f"/returns/{PERIOD}", content=hostile(), headers=bearer(token, "hostile"))
    assert refused.status_code == 422
    assert refused.json()["status"] == "refused" and pointer in refused.json()["message"]
    assert _submissions(migrated_url) == 0


def test_a_body_over_the_clients_limit_is_refused_while_read(migrated_url: str) -> None:
    app, _ = api_app(migrated_url, max_body_bytes=1000)
    http = TestClient(app, base_url=BASE_URL)
    token = get_token(http, add_client(migrated_url))
    refused = http.post(f"/returns/{PERIOD}", content=body(baseline_document()), headers=bearer(token, "big"))
    assert refused.status_code == 413
    assert _submissions(migrated_url) == 0


def test_a_client_over_its_rate_gets_429_with_retry_after(migrated_url: str) -> None:
    app, _ = api_app(migrated_url, rate_per_minute=1, burst=2)
    http = TestClient(app, base_url=BASE_URL)
    who, other = add_client(migrated_url), add_client(migrated_url, COUNCIL_B)
    token, token_other = get_token(http, who), get_token(http, other)
    assert http.get(f"/returns/{PERIOD}", headers=bearer(token)).status_code == 404
    assert http.get(f"/returns/{PERIOD}", headers=bearer(token)).status_code == 404
    limited = http.get(f"/returns/{PERIOD}", headers=bearer(token))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert http.get(f"/returns/{PERIOD}", headers=bearer(token_other)).status_code == 404  # per client
    form = {"grant_type": "client_credentials"}
    guessing = http.post("/token", data=form, auth=(who.client_id, "guess"))  # tokens: two already, from here
    assert guessing.status_code == 429 and "Retry-After" in guessing.headers


def test_behind_a_trusted_proxy_the_forwarded_https_is_believed(migrated_url: str) -> None:
    app, _ = api_app(migrated_url, trust_proxy=True)
    http = TestClient(app, base_url="http://portal.internal")
    who = add_client(migrated_url)
    form = {"grant_type": "client_credentials"}
    plain = http.post("/token", data=form, auth=(who.client_id, who.secret))
    assert plain.status_code == 400 and plain.json()["error"] == "insecure_transport"
    proxied = http.post("/token", data=form, auth=(who.client_id, who.secret), headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200


def test_no_raw_identifier_reaches_the_database_or_an_answer(http: TestClient, migrated_url: str) -> None:
    who = add_client(migrated_url)
    token = get_token(http, who)
    document = baseline_document()
    raw = [c["upn"] for c in document["children"] if c.get("upn")] + [
        c["nhs_number"] for c in document["children"] if c.get("nhs_number")
    ]
    assert raw
    document["children"][0]["upn"] = document["children"][0]["upn"][:-1] + "?"  # a bad one, in a finding
    answers = [
        http.post(f"/returns/{PERIOD}", content=body(document), headers=bearer(token, "1")).text,
        http.post(f"/returns/{PERIOD}", content=body(baseline_document()), headers=bearer(token, "2")).text,
        http.patch(
            f"/returns/{PERIOD}",
            content=body({"children": baseline_document()["children"][:1]}),
            headers=bearer(token, "3"),
        ).text,
        http.get(f"/returns/{PERIOD}", headers=bearer(token)).text,
    ]
    engine = get_engine(migrated_url)
    dumped = []
    with engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            dumped.extend(
                json.dumps(list(map(str, row))) for row in connection.execute(text(f'SELECT * FROM "{name}"'))
            )
    everything = "\n".join(answers + dumped)
    for value in raw:
        assert value not in everything
    assert who.secret not in everything and token not in everything


def test_the_portal_serves_the_api_its_schema_and_openapi(migrated_url: str, tmp_path: Path) -> None:
    from portal.app import create_app
    from tests.support.portal import build_rig

    rig = build_rig(tmp_path / "portal", database_url=migrated_url)
    _, context = api_app(migrated_url)
    http = TestClient(create_app(rig.service, rig.accounts, rig.settings, api=context), base_url=BASE_URL)
    schema = http.get("/api/v1/schema")
    assert schema.status_code == 200 and schema.json()["$id"] == "urn:lscb:standard:1.0"
    openapi = http.get("/api/v1/openapi.json").json()
    assert {"/token", "/schema", "/returns/{period}"} <= set(openapi["paths"])
    who = add_client(migrated_url)
    token = http.post(
        "/api/v1/token", data={"grant_type": "client_credentials"}, auth=(who.client_id, who.secret)
    ).json()["access_token"]
    sent = http.post(f"/api/v1/returns/{PERIOD}", content=body(baseline_document()), headers=bearer(token, "p"))
    assert sent.status_code == 201 and sent.json()["status"] == "accepted"


def test_lscb_clients_add_prints_the_secret_once_and_keeps_only_its_hash(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LSCB_DATABASE_URL", migrated_url)
    assert main(["clients", "add", "--council", COUNCIL_A, "--name", "mosaic-nightly", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["council_code"] == COUNCIL_A and added["client_secret"]
    assert main(["clients", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert added["client_id"] in listed and added["client_secret"] not in listed
    with get_engine(migrated_url).connect() as connection:
        stored = connection.execute(select(api_store.clients)).mappings().one()
    assert stored["secret_hash"].startswith("$argon2id$") and added["client_secret"] not in stored["secret_hash"]
    assert main(["clients", "rotate", "--client-id", added["client_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["client_secret"] != added["client_secret"]
    assert main(["clients", "revoke", "--client-id", added["client_id"]]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["clients", "add", "--council", "E99999999", "--name", "x"]) != 0
