"""Portal: who may see and do what, sessions, CSRF, sign-in rate limiting, cookies, URL prefix,
upload limits. The pipeline is the in-memory `FakeService` here (the portal's own behaviour);
`test_portal_store.py` runs the same pages over the real store.

Every council-scoped route is found from `app.routes`, so a route added later is covered
automatically: a council user asking for another council's anything gets 404, never data.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from starlette.routing import Route

from portal.services import FindingView
from store import accounts as db
from tests.support.fake_service import FakeService
from tests.support.portal import COUNCIL_A, COUNCIL_B, PASSWORD, Rig, build_rig, csrf_token, login

PERIOD = "2025-Q1"
ZIP_MAGIC = b"PK\x03\x04"


def _query_validator(path: Path, council: str, period: str) -> tuple[str, list[FindingView]]:
    with path.open("rb") as handle:
        if handle.read(4) != ZIP_MAGIC:
            return "refused", []
    return "accepted", [
        FindingView("CHD-24", "Q", "Children", "Children!I2", "risk_level", "C00001", "High risk, not referred.", 2)
    ]


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return build_rig(tmp_path / "var", service=FakeService(validator=_query_validator))


@pytest.fixture
def seeded(rig: Rig, tmp_path: Path) -> dict[str, int]:
    """One submission for each of the two councils; returns their ids."""
    ids = {}
    for code in (COUNCIL_A, COUNCIL_B):
        upload = tmp_path / f"{code}.xlsx"
        upload.write_bytes(ZIP_MAGIC + code.encode())
        outcome = rig.service.submit(upload, code, submitted_by="seed", claimed_period=PERIOD, display_name="r.xlsx")
        assert outcome.submission_id is not None
        ids[code] = outcome.submission_id
    return ids


def client_for(rig: Rig, role: str | None, base_url: str = "http://testserver") -> TestClient:
    client = TestClient(rig.app, base_url=base_url)
    if role is not None:
        response = login(client, rig.emails[role])
        assert response.status_code == 303, response.text
    return client


def _routes(app: FastAPI) -> list[Route]:
    return [r for r in app.routes if isinstance(r, Route) and r.path not in ("/static",)]


def _fill(path: str, values: dict[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match[1].split(":")[0]
        if name not in values:
            raise AssertionError(f"no test value for path parameter {name!r} in {path}")
        return str(values[name])

    return re.sub(r"\{([^}]+)\}", replace, path)


def _council_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route whose path names a council."""
    found = []
    for route in _routes(app):
        if "{council_code}" in route.path:
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    found.append((method, route.path))
    return found


def _request(client: TestClient, method: str, url: str, csrf: str | None = None) -> Any:
    data = {"csrf_token": csrf} if csrf else {}
    if method == "GET":
        return client.get(url, follow_redirects=False)
    if url.endswith("/upload"):
        files = {"file": ("r.xlsx", io.BytesIO(ZIP_MAGIC + b"x"))}
        return client.post(url, data=data, files=files, follow_redirects=False)
    return client.post(url, data={**data, "rule": "CHD-24", "row": "2", "text": "because"}, follow_redirects=False)


def _assert_no_data(response: Any, secret_bits: list[str]) -> None:
    assert response.status_code == 404, (response.status_code, response.request.url)
    for bit in secret_bits:
        assert bit not in response.text


def test_the_council_scoped_routes_are_all_enumerated(rig: Rig) -> None:
    routes = {path for _, path in _council_routes(rig.app)}
    # the pages the issue names; a new council route joins the checks below by itself
    for expected in (
        "/councils/{council_code}",
        "/councils/{council_code}/periods/{period}/upload",
        "/councils/{council_code}/submissions/{submission_id}/feedback.{fmt}",
        "/councils/{council_code}/periods/{period}/template.xlsx",
        "/councils/{council_code}/periods/{period}/explanations",
        "/councils/{council_code}/periods/{period}/sign-off",
        "/councils/{council_code}/periods/{period}/review/explanation",
        "/councils/{council_code}/periods/{period}/review/queries",
        "/councils/{council_code}/periods/{period}/review/reopen",
    ):
        assert expected in routes
    assert len(routes) >= 8


@pytest.mark.parametrize("fmt", ["xlsx", "html"])
def test_a_council_user_gets_404_for_every_route_of_another_council(rig: Rig, seeded: dict[str, int], fmt: str) -> None:
    client = client_for(rig, "council_a")
    csrf = csrf_token(client.get(f"/councils/{COUNCIL_A}").text)
    b_id, a_id = seeded[COUNCIL_B], seeded[COUNCIL_A]
    before = {k: list(v) for k, v in rig.service.finding_store.items()}  # type: ignore[attr-defined]
    submissions_before = dict(rig.service.submissions)  # type: ignore[attr-defined]
    checked = 0
    for method, template in _council_routes(rig.app):
        # B's council with B's submission, and A's council path with B's submission id
        for council, submission in ((COUNCIL_B, b_id), (COUNCIL_A, b_id)):
            if council == COUNCIL_A and "{submission_id}" not in template:
                continue
            url = _fill(template, {"council_code": council, "period": PERIOD, "submission_id": submission, "fmt": fmt})
            response = _request(client, method, url, csrf)
            _assert_no_data(response, ["Middlesbrough", "Children!I2"] if council == COUNCIL_B else ["Children!I2"])
            checked += 1
        # lower-case or padded codes are not a way round the check either
        url = _fill(template, {"council_code": COUNCIL_B.lower(), "period": PERIOD, "submission_id": b_id, "fmt": fmt})
        _assert_no_data(_request(client, method, url, csrf), ["Middlesbrough"])
    assert checked >= len(_council_routes(rig.app))
    # nothing of B's changed, and the user's own pages still work
    assert rig.service.submissions[b_id] == submissions_before[b_id]  # type: ignore[attr-defined]
    assert rig.service.finding_store == before  # type: ignore[attr-defined]
    assert client.get(f"/councils/{COUNCIL_A}/submissions/{a_id}").status_code == 200


def test_a_missing_resource_and_a_forbidden_one_look_the_same(rig: Rig, seeded: dict[str, int]) -> None:
    client = client_for(rig, "council_a")
    forbidden = client.get(f"/councils/{COUNCIL_B}/submissions/{seeded[COUNCIL_B]}")
    missing = client.get(f"/councils/{COUNCIL_A}/submissions/999999")
    unknown_council = client.get("/councils/E06999999")
    assert forbidden.status_code == missing.status_code == unknown_council.status_code == 404
    assert forbidden.text == missing.text == unknown_council.text


def _is_review(path: str) -> bool:
    """An analyst's review form (accept or reject an explanation, raise a query, reopen)."""
    return "/review/" in path


def test_an_analyst_reads_every_council_and_writes_nothing(rig: Rig, seeded: dict[str, int]) -> None:
    """Nothing on a council's behalf (no upload, explanation or sign-off); the review forms are
    the analyst's own (here sent without what they need, so they change nothing either)."""
    client = client_for(rig, "analyst")
    csrf = csrf_token(client.get("/national/2025-Q1").text)
    for method, template in _council_routes(rig.app):
        url = _fill(
            template, {"council_code": COUNCIL_B, "period": PERIOD, "submission_id": seeded[COUNCIL_B], "fmt": "html"}
        )
        response = _request(client, method, url, csrf)
        if method == "GET":
            assert response.status_code == 200, url
        elif _is_review(template):
            assert response.status_code in (303, 400, 409), url
        else:
            assert response.status_code == 404, url
    assert len(rig.service.submissions) == 2  # type: ignore[attr-defined]
    assert all(s.status == "accepted" for s in rig.service.submissions.values())  # type: ignore[attr-defined]
    page = client.get(f"/councils/{COUNCIL_B}/submissions/{seeded[COUNCIL_B]}").text
    assert "Children!I2" in page and "Save explanation" not in page and "Sign off the return" not in page
    assert "data-upload" not in client.get(f"/councils/{COUNCIL_B}/periods/{PERIOD}").text


def test_the_admin_manages_accounts_and_sees_no_council_data(rig: Rig, seeded: dict[str, int]) -> None:
    client = client_for(rig, "admin")
    for method, template in _council_routes(rig.app):
        url = _fill(
            template, {"council_code": COUNCIL_A, "period": PERIOD, "submission_id": seeded[COUNCIL_A], "fmt": "xlsx"}
        )
        assert _request(client, method, url, csrf_token(client.get("/admin/users").text)).status_code == 404
    assert client.get("/national/2025-Q1").status_code == 404
    page = client.get("/admin/users")
    assert page.status_code == 200 and rig.emails["council_b"] in page.text
    added = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "new@example.gov.uk",
            "role": "council",
            "council_code": "E06000003",
            "password": "a long enough password",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert rig.accounts.get_by_email("new@example.gov.uk") is not None
    weak = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "weak@example.gov.uk",
            "role": "council",
            "council_code": "E06000003",
            "password": "short",
        },
    )
    assert weak.status_code == 400 and "at least 12 characters" in weak.text


def test_council_users_cannot_reach_national_or_admin_pages(rig: Rig) -> None:
    client = client_for(rig, "council_a")
    for path in ("/national", "/national/2025-Q1", "/national/outputs", "/national/outputs/x.csv", "/admin/users"):
        assert client.get(path, follow_redirects=False).status_code == 404, path
    csrf = csrf_token(client.get(f"/councils/{COUNCIL_A}").text)
    target = rig.accounts.get_by_email(rig.emails["council_b"])
    assert target is not None
    response = client.post(f"/admin/users/{target.id}/disable", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 404
    assert not rig.accounts.get_by_email(rig.emails["council_b"]).disabled  # type: ignore[union-attr]


def test_every_page_but_sign_in_needs_a_session(rig: Rig, seeded: dict[str, int]) -> None:
    client = TestClient(rig.app)
    open_paths = {"/login", "/healthz"}
    for route in _routes(rig.app):
        if route.path in open_paths:
            continue
        url = _fill(
            route.path,
            {
                "council_code": COUNCIL_A,
                "period": PERIOD,
                "submission_id": seeded[COUNCIL_A],
                "fmt": "xlsx",
                "name": "x.csv",
                "user_id": 1,
                "action": "disable",
            },
        )
        for method in sorted((route.methods or set()) - {"HEAD"}):
            response = client.request(method, url, follow_redirects=False)
            assert response.status_code == 303 and response.headers["location"].startswith("/login"), (method, url)


def test_forms_without_the_sessions_csrf_token_are_refused(rig: Rig, seeded: dict[str, int]) -> None:
    client = client_for(rig, "council_a")
    other = client_for(rig, "council_a")  # a second session of the same user has another token
    foreign = csrf_token(other.get(f"/councils/{COUNCIL_A}").text)
    sign_off = f"/councils/{COUNCIL_A}/periods/{PERIOD}/sign-off"
    explain = f"/councils/{COUNCIL_A}/periods/{PERIOD}/explanations"
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}, {"csrf_token": foreign}):
        for url in (sign_off, explain):
            response = client.post(
                url, data={**data, "rule": "CHD-24", "row": "2", "text": "x"}, follow_redirects=False
            )
            assert response.status_code == 403, (url, data)
            assert "form has expired" in response.text
    upload = client.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/upload",
        data={"csrf_token": "forged"},
        files={"file": ("r.xlsx", io.BytesIO(ZIP_MAGIC + b"new"))},
        follow_redirects=False,
    )
    assert upload.status_code == 403
    assert len(rig.service.submissions) == 2  # type: ignore[attr-defined]
    assert not [p for p in rig.settings.upload_dir.rglob("*") if p.is_file()]
    assert all(f.explanation is None for f in rig.service.findings(seeded[COUNCIL_A]))
    logout = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert logout.status_code == 403


def test_sign_in_needs_the_login_forms_token(rig: Rig) -> None:
    client = TestClient(rig.app)
    response = client.post("/login", data={"email": rig.emails["council_a"], "password": PASSWORD})
    assert response.status_code == 403
    assert db.sessions is not None
    with rig.engine.connect() as connection:
        assert connection.execute(db.sessions.select()).first() is None


def test_session_cookie_flags(rig: Rig) -> None:
    response = login(TestClient(rig.app), rig.emails["council_a"])
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("lscb_session=")][0]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Secure" not in cookie and "Path=/" in cookie
    secure = login(TestClient(rig.app, base_url="https://testserver"), rig.emails["council_a"])
    cookie = [c for c in secure.headers.get_list("set-cookie") if c.startswith("lscb_session=")][0]
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert secure.headers["strict-transport-security"].startswith("max-age=")
    page = TestClient(rig.app).get("/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_a_tampered_cookie_is_no_session(rig: Rig) -> None:
    client = client_for(rig, "council_a")
    value = client.cookies["lscb_session"]
    client.cookies.set("lscb_session", value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1])
    assert client.get(f"/councils/{COUNCIL_A}", follow_redirects=False).status_code == 303


def _age_sessions(rig: Rig, **delta: timedelta) -> None:
    with rig.engine.begin() as connection:
        for column, amount in delta.items():
            connection.execute(update(db.sessions).values({column: db.utcnow() - amount}))


def test_sessions_expire_on_the_server_after_idle_time(rig: Rig) -> None:
    client = client_for(rig, "council_a")
    assert client.get(f"/councils/{COUNCIL_A}").status_code == 200
    _age_sessions(rig, last_seen_at=rig.settings.idle_timeout - timedelta(minutes=1))
    assert client.get(f"/councils/{COUNCIL_A}", follow_redirects=False).status_code == 200  # still alive, touched
    _age_sessions(rig, last_seen_at=rig.settings.idle_timeout + timedelta(seconds=5))
    response = client.get(f"/councils/{COUNCIL_A}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    with rig.engine.connect() as connection:
        assert connection.execute(db.sessions.select()).first() is None  # deleted, not just ignored


def test_sessions_expire_after_the_absolute_limit_however_busy(rig: Rig) -> None:
    client = client_for(rig, "council_a")
    _age_sessions(rig, created_at=rig.settings.absolute_timeout + timedelta(seconds=5))
    assert client.get(f"/councils/{COUNCIL_A}", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session_on_the_server(rig: Rig) -> None:
    client = client_for(rig, "council_a")
    stolen = client.cookies["lscb_session"]
    csrf = csrf_token(client.get(f"/councils/{COUNCIL_A}").text)
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    replay = TestClient(rig.app)
    replay.cookies.set("lscb_session", stolen)
    assert replay.get(f"/councils/{COUNCIL_A}", follow_redirects=False).status_code == 303


def test_disabling_an_account_ends_its_sessions(rig: Rig) -> None:
    client = client_for(rig, "council_a")
    rig.accounts.set_disabled(rig.emails["council_a"])
    assert client.get(f"/councils/{COUNCIL_A}", follow_redirects=False).status_code == 303
    assert login(TestClient(rig.app), rig.emails["council_a"]).status_code == 401


def test_sign_ins_are_audited(rig: Rig) -> None:
    assert login(TestClient(rig.app), rig.emails["council_a"], "not the password").status_code == 401
    assert login(TestClient(rig.app), rig.emails["council_a"]).status_code == 303
    log = rig.service.audit_log_rows  # type: ignore[attr-defined]
    assert [e["action"] for e in log if e["action"].startswith("login")] == ["login_failed", "login"]
    assert all("not the password" not in str(e) and PASSWORD not in str(e) for e in log)


def test_unknown_and_wrong_password_look_the_same(rig: Rig) -> None:
    unknown = login(TestClient(rig.app), "nobody@example.gov.uk", "some password here")
    wrong = login(TestClient(rig.app), rig.emails["council_a"], "some password here")
    assert unknown.status_code == wrong.status_code == 401
    for response in (unknown, wrong):
        assert "The email address or password is wrong." in response.text


def test_next_parameter_only_redirects_within_the_portal(rig: Rig) -> None:
    client = TestClient(rig.app)
    page = client.get("/login?next=//evil.example/x")
    response = client.post(
        "/login",
        data={
            "email": rig.emails["council_a"],
            "password": PASSWORD,
            "csrf_token": csrf_token(page.text),
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == f"/councils/{COUNCIL_A}"


# ---- uploads: limits and streaming ----------------------------------------------------------


def test_an_upload_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    rig = build_rig(tmp_path / "var", service=FakeService(validator=_query_validator), max_upload_bytes=10_000)
    client = client_for(rig, "council_a")
    csrf = csrf_token(client.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}").text)
    response = client.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/upload",
        data={"csrf_token": csrf},
        files={"file": ("big.xlsx", io.BytesIO(ZIP_MAGIC + b"0" * 20_000))},
    )
    assert response.status_code == 413
    assert "larger than any return could plausibly be" in response.text and "10 KB" not in response.text
    assert rig.service.submissions == {}  # type: ignore[attr-defined]
    assert not [p for p in rig.settings.upload_dir.rglob("*") if p.is_file()]


def test_an_upload_that_hides_its_size_is_cut_off_at_the_limit(rig: Rig, tmp_path: Path) -> None:
    """Chunked (no Content-Length): the body is read until the file passes the limit, then no more."""
    import asyncio

    from starlette.requests import Request

    from portal.uploads import UploadTooLarge, receive_upload

    boundary = "portaltestboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\ntoken\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    read = {"chunks": 0}

    async def receive() -> dict[str, Any]:
        read["chunks"] += 1
        if read["chunks"] == 1:
            return {"type": "http.request", "body": head, "more_body": True}
        return {"type": "http.request", "body": b"0" * 65536, "more_body": read["chunks"] < 10_000}  # 640 MB

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-type", f"multipart/form-data; boundary={boundary}".encode())],
    }
    seen: list[dict[str, str]] = []

    async def run() -> None:
        await receive_upload(
            Request(scope, receive),
            file_field="file",
            max_bytes=1_000_000,
            directory=tmp_path / "incoming",
            before_file=lambda f: seen.append(dict(f)) is None,
        )

    with pytest.raises(UploadTooLarge):
        asyncio.run(run())
    assert read["chunks"] <= 1_000_000 // 65536 + 2  # stopped just past the limit
    assert seen == [{"csrf_token": "token"}]  # the token was checked before the file was written
    assert not [p for p in (tmp_path / "incoming").rglob("*") if p.is_file()]  # and nothing is left


def test_a_forged_token_stops_an_upload_before_the_file_is_written(tmp_path: Path) -> None:
    import asyncio

    from starlette.requests import Request

    from portal.uploads import UploadForbidden, receive_upload

    body = (
        b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nforged\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="r.xlsx"\r\n\r\nPK\r\n--b--\r\n'
    )

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", b"multipart/form-data; boundary=b")]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    with pytest.raises(UploadForbidden):
        asyncio.run(
            receive_upload(
                Request(scope, receive),
                file_field="file",
                max_bytes=1000,
                directory=tmp_path / "in",
                before_file=lambda f: f.get("csrf_token") == "good",
            )
        )
    assert not (tmp_path / "in").exists() or not any((tmp_path / "in").iterdir())


def test_an_upload_is_streamed_to_disk_checked_and_never_left_in_plain_text(rig: Rig) -> None:
    import hashlib

    client = client_for(rig, "council_a")
    csrf = csrf_token(client.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}").text)
    content = ZIP_MAGIC + b"x" * 300_000
    response = client.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/upload",
        data={"csrf_token": csrf},
        files={"file": ("../../etc/My Return.xlsx", io.BytesIO(content))},
        follow_redirects=False,
    )
    assert response.status_code == 303 and "outcome=accepted" in response.headers["location"]
    (submission,) = rig.service.list_submissions(COUNCIL_A, PERIOD)
    assert submission.checksum == hashlib.sha256(content).hexdigest()  # the service read every byte
    # keeping it (sealed) is the store service's job (tests/integration/test_raw_files.py); the
    # plaintext as received is gone
    assert [p for p in rig.settings.upload_dir.rglob("*") if p.is_file()] == []
    assert submission.source_name == "My Return.xlsx"  # the path part of the name is dropped


def test_an_upload_without_a_file_says_so(rig: Rig) -> None:
    client = client_for(rig, "council_a")
    csrf = csrf_token(client.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}").text)
    response = client.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/upload",
        data={"csrf_token": csrf},
        files={"file": ("", io.BytesIO(b""))},
    )
    assert response.status_code == 400 and "Choose a file to upload." in response.text


def test_a_refused_upload_shows_the_one_line_reason(rig: Rig) -> None:
    client = client_for(rig, "council_a")
    csrf = csrf_token(client.get(f"/councils/{COUNCIL_A}/periods/{PERIOD}").text)
    response = client.post(
        f"/councils/{COUNCIL_A}/periods/{PERIOD}/upload",
        data={"csrf_token": csrf},
        files={"file": ("photo.xlsx", io.BytesIO(b"\x89PNG\r\n\x1a\n"))},
    )
    assert response.status_code == 422
    assert "photo.xlsx: This is not an Excel workbook" in response.text
    assert 'class="error-summary"' in response.text


# ---- mounted under a prefix (as in Airflow) ------------------------------------------------


def test_the_portal_works_under_a_url_prefix(rig: Rig, seeded: dict[str, int]) -> None:
    parent = FastAPI()
    parent.mount("/lscb", rig.app)
    client = TestClient(parent)
    response = login(client, rig.emails["council_a"], prefix="/lscb")
    assert response.status_code == 303 and response.headers["location"] == f"/lscb/councils/{COUNCIL_A}"
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("lscb_session=")][0]
    assert "Path=/lscb" in cookie
    page = client.get(f"/lscb/councils/{COUNCIL_A}/periods/{PERIOD}")
    assert page.status_code == 200
    links = re.findall(r'(?:href|action|src)="(/[^"]*)"', page.text)
    assert links and all(link.startswith("/lscb/") for link in links), links
    assert client.get("/lscb/static/portal.css").status_code == 200
    assert client.get(f"/lscb/councils/{COUNCIL_B}").status_code == 404
    assert client.get(f"/councils/{COUNCIL_A}").status_code == 404  # nothing outside the mount


def test_the_airflow_plugin_mounts_the_app_under_lscb() -> None:
    from portal.airflow_plugin import LscbPortalPlugin
    from portal.app import app

    (entry,) = LscbPortalPlugin.fastapi_apps
    assert entry["app"] is app and entry["url_prefix"] == "/lscb" and entry["name"] == "LSCB portal"
