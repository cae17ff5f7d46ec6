"""The portal announces each stored upload to Airflow's REST API (the asset the quarterly DAG is
scheduled on), best effort: an Airflow that is down or unconfigured never holds an upload up."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lscb.airflow_api import UPLOADS_ASSET, AssetAnnouncer
from tests.support.portal import Rig, build_rig, csrf_token, login


class _AirflowApi(BaseHTTPRequestHandler):
    calls: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self, body: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.calls.append({"method": "GET", "path": self.path, "auth": self.headers.get("Authorization")})
        self._answer({"assets": [{"id": 42, "name": UPLOADS_ASSET}], "total_entries": 1})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        auth = self.headers.get("Authorization")
        self.calls.append({"method": "POST", "path": self.path, "auth": auth, "body": body})
        self._answer({"id": 1, "asset_id": body.get("asset_id")})


@pytest.fixture
def airflow_api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    _AirflowApi.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AirflowApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _AirflowApi.calls
    finally:
        server.shutdown()


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Rig:
    monkeypatch.setenv("LSCB_DATA_DIR", str(tmp_path / "var"))
    return build_rig(tmp_path / "var")


def _upload(rig: Rig, tmp_path: Path) -> Any:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from builders import sample_about, sample_activity, sample_child, sample_strategy, write_xlsx_return

    activity = sample_activity(children_newly_identified=1, children_open_at_end=1)
    path = write_xlsx_return(tmp_path / "r.xlsx", sample_about(), sample_strategy(), activity, [sample_child(1)])
    client = TestClient(rig.app)
    assert login(client, rig.emails["council_a"]).status_code == 303
    csrf = csrf_token(client.get("/councils/E06000001/periods/2025-Q1").text)
    with path.open("rb") as handle:
        return client.post("/councils/E06000001/periods/2025-Q1/upload", data={"csrf_token": csrf},
                           files={"file": ("r.xlsx", handle)}, follow_redirects=False)  # fmt: skip


def test_a_stored_upload_is_announced_as_an_asset_event(
    rig: Rig, tmp_path: Path, airflow_api: tuple[str, list[dict[str, Any]]]
) -> None:
    url, calls = airflow_api
    rig.service.announcer = AssetAnnouncer(url, "secret-token")  # type: ignore[attr-defined]
    assert _upload(rig, tmp_path).status_code == 303
    get, post = calls
    assert get["method"] == "GET" and f"name_pattern={UPLOADS_ASSET}" in get["path"]
    assert post["path"] == "/api/v2/assets/events" and post["auth"] == "Bearer secret-token"
    assert post["body"] == {"asset_id": 42, "extra": {"council_code": "E06000001", "period": "2025-Q1", "version": 1}}


def test_an_airflow_that_is_down_never_holds_an_upload_up(rig: Rig, tmp_path: Path) -> None:
    rig.service.announcer = AssetAnnouncer("http://127.0.0.1:9", "t", timeout=2)  # type: ignore[attr-defined]
    answer = _upload(rig, tmp_path)
    assert answer.status_code == 303 and "outcome=" in answer.headers["location"]
    assert AssetAnnouncer("http://127.0.0.1:9", "t", timeout=1).announce(UPLOADS_ASSET, {}) is False
