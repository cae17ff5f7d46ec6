"""`lscb push`, the reference client: a workbook converted to JSON and sent whole, then a delta
from the previous file, against the real API; retries with backoff on 429 and 5xx under one
Idempotency-Key; the secret comes from the environment only."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lscb.cli import main
from lscb.commands.push import Pusher, push, read_document, report
from store.engine import get_engine
from store.models import Submission
from store.queries import orm_all
from tests.builders import sample_about, sample_activity, sample_child, sample_strategy, write_csv_bundle
from tests.support.api import BASE_URL, COUNCIL_A, PERIOD, add_client, api_app
from transforms.delta import delta_between


def _bundle(path: Path, *, risk: str = "LOW", extra: int = 0) -> Path:
    children = [sample_child(n, local_child_id=f"HART-{n:03d}") for n in range(1, 4 + extra)]
    children[0]["risk_level"] = risk
    about = sample_about(council_code=COUNCIL_A, period=PERIOD)
    return write_csv_bundle(path, about, sample_strategy(), sample_activity(), children)


def test_push_sends_a_file_whole_then_a_delta_from_the_previous_file(migrated_url: str, tmp_path: Path) -> None:
    app, _ = api_app(migrated_url)
    who = add_client(migrated_url)
    first, second = _bundle(tmp_path / "monday.zip"), _bundle(tmp_path / "tuesday.zip", risk="MEDIUM", extra=1)
    with TestClient(app, base_url=BASE_URL) as http:
        pusher = Pusher(http, who.client_id, who.secret, sleep=lambda _s: None)
        whole = push(pusher, PERIOD, read_document(first))
        assert whole.status_code == 201
        delta = delta_between(read_document(first), read_document(second))
        assert [c["local_child_id"] for c in delta["children"]] == ["HART-001", "HART-004"]
        changed = push(pusher, PERIOD, read_document(second), read_document(first))
        assert changed.status_code == 201 and changed.json()["version"] == whole.json()["version"] + 1
        again = push(pusher, PERIOD, read_document(second), read_document(first))  # the same delta: replayed
        assert again.json() == changed.json()
    with get_engine(migrated_url).connect() as connection:
        versions = orm_all(connection, select(Submission))
    assert len(versions) == 2 and {v.format for v in versions} == {"json"}


def test_push_retries_429_and_5xx_with_backoff_and_one_idempotency_key() -> None:
    answers = iter([503, 429, 502, 201])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 3600})
        seen.append(request)
        status = next(answers)
        headers = {"Retry-After": "7"} if status == 429 else {}
        return httpx.Response(status, json={"status": "accepted", "message": "ok", "findings": []}, headers=headers)

    slept: list[float] = []
    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="https://api.example")
    pusher = Pusher(http, "id", "secret", sleep=slept.append)
    response = push(pusher, PERIOD, {"about": {}})
    assert response.status_code == 201 and len(seen) == 4
    assert len({r.headers["Idempotency-Key"] for r in seen}) == 1
    assert slept[1] == 7.0 and all(s > 0 for s in slept) and len(slept) == 3
    assert report(response) == 0


def test_push_reads_the_secret_from_the_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LSCB_API_CLIENT_SECRET", raising=False)
    code = main(["push", "--client-id", "x", "--period", PERIOD, str(_bundle(tmp_path / "r.zip"))])
    assert code != 0 and "LSCB_API_CLIENT_SECRET" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["push", "--client-id", "x", "--client-secret", "s", "--period", PERIOD, "r.zip"])


def test_a_json_file_is_sent_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "return.json"
    path.write_text(json.dumps({"about": {"period": PERIOD}}))
    assert read_document(path) == {"about": {"period": PERIOD}}
