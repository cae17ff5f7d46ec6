"""Sign-in that cannot be turned on users: a growing per-account delay instead of locking the
owner out, per-address limits keyed on the right-most untrusted X-Forwarded-For entry (a
configured number of trusted proxy hops), and an audit log that says what was trusted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from starlette.requests import Request

from portal.client import client_address
from portal.settings import PortalConfig
from store import accounts as db
from tests.support.fake_service import FakeService
from tests.support.portal import PASSWORD, Rig, build_rig, csrf_token

ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.9"


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return build_rig(tmp_path / "var", service=FakeService(), trust_proxy=1)


def _login(rig: Rig, email: str, password: str, forwarded_for: str | None = None) -> Any:
    """A sign-in through one trusted proxy: `forwarded_for` is the header as the proxy passes it
    on (what the client wrote, then the address the proxy saw, appended)."""
    client = TestClient(rig.app)
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    page = client.get("/login", headers=headers)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
        headers=headers,
        follow_redirects=False,
    )


def _let_time_pass(rig: Rig, seconds: float) -> None:
    """Every recorded failure is `seconds` older (instead of sleeping)."""
    t = db.login_failures.c
    with rig.engine.begin() as connection:  # row by row: SQLite keeps datetimes as text
        for row_id, failed_at in connection.execute(select(t.id, t.failed_at)).all():
            moved = failed_at - timedelta(seconds=seconds)
            connection.execute(update(db.login_failures).where(t.id == row_id).values(failed_at=moved))


def _failure_log(rig: Rig) -> list[dict[str, Any]]:
    return [e for e in rig.service.audit_log_rows if e["action"] == "login_failed"]  # type: ignore[attr-defined]


# ---- the owner is slowed down, never locked out ---------------------------------------------------


def test_the_owner_with_the_right_password_gets_in_after_many_wrong_guesses(rig: Rig) -> None:
    email = rig.emails["council_a"]
    waits = []
    for _ in range(rig.settings.max_failures + 4):
        answer = _login(rig, email, "wrong password!!", f"{ATTACKER}")
        if answer.status_code == 429:
            waits.append(int(answer.text.split("Wait ", 1)[1].split(" ", 1)[0]))
            _let_time_pass(rig, 120)  # more than the longest delay
            answer = _login(rig, email, "wrong password!!", f"{ATTACKER}")
        assert answer.status_code == 401
    # the owner, elsewhere, is told to wait seconds (never the lockout window), then gets in
    slowed = _login(rig, email, PASSWORD, VICTIM)
    assert slowed.status_code == 429 and "Wait " in slowed.text and "minutes" not in slowed.text
    _let_time_pass(rig, rig.settings.max_delay.total_seconds())
    assert _login(rig, email, PASSWORD, VICTIM).status_code == 303
    assert waits == sorted(waits) and waits[-1] > waits[0]  # the delays grow


def test_the_delay_grows_and_is_capped(rig: Rig) -> None:
    accounts = rig.accounts
    email = rig.emails["council_b"]
    seen = []
    for _ in range(accounts.max_failures + 10):
        _let_time_pass(rig, accounts.max_delay.total_seconds() + 1)
        assert accounts.authenticate(email, "wrong password!!", ATTACKER).outcome == "bad"
        seen.append(round(accounts.wait_needed(email, ATTACKER).total_seconds()))
    assert seen[: accounts.max_failures - 1] == [0] * (accounts.max_failures - 1)
    assert seen[accounts.max_failures - 1 : accounts.max_failures + 2] == [1, 2, 4]
    assert max(seen) == int(accounts.max_delay.total_seconds())


def test_a_guess_inside_the_delay_is_not_checked_and_not_counted(rig: Rig) -> None:
    accounts = rig.accounts
    email = rig.emails["council_a"]
    for _ in range(accounts.max_failures):
        assert accounts.authenticate(email, "wrong password!!", ATTACKER).outcome == "bad"
    for _ in range(20):  # hammering inside the delay changes nothing
        assert accounts.authenticate(email, PASSWORD, ATTACKER).outcome == "locked"
    _let_time_pass(rig, 1.5)
    assert accounts.authenticate(email, PASSWORD, ATTACKER).outcome == "ok"


# ---- per-address limits on the address a trusted proxy saw ------------------------------------------


def test_rotating_x_forwarded_for_cannot_spray_accounts(rig: Rig) -> None:
    limit = rig.settings.address_max_failures
    for number in range(limit):
        forged = f"10.{number // 250}.{number % 250}.1"  # a new "address" every time, written by the client
        answer = _login(rig, f"nobody{number}@example.gov.uk", "guess guess guess", f"{forged}, {ATTACKER}")
        assert answer.status_code == 401
    sprayed = _login(rig, "another@example.gov.uk", "guess guess guess", f"172.16.9.9, {ATTACKER}")
    assert sprayed.status_code == 429  # the rotation bought nothing: the proxy's entry is the address
    entry = _failure_log(rig)[-1]["detail"]
    assert entry["ip"] == ATTACKER and entry["peer"] == "testclient" and entry["trusted_hops"] == 1
    assert entry["forwarded_for"] == f"172.16.9.9, {ATTACKER}"  # what was received, beside what was believed


def test_a_spoofed_victim_address_cannot_lock_the_victim_out(rig: Rig) -> None:
    for number in range(rig.settings.address_max_failures * 2):
        _let_time_pass(rig, 120)
        _login(rig, f"nobody{number}@example.gov.uk", "guess guess guess", f"{VICTIM}, {ATTACKER}")
    assert {e["detail"]["ip"] for e in _failure_log(rig)} == {ATTACKER}
    assert _login(rig, rig.emails["council_a"], PASSWORD, VICTIM).status_code == 303  # the victim's own proxy entry


def test_without_trusted_proxies_the_header_is_ignored(tmp_path: Path) -> None:
    rig = build_rig(tmp_path / "var", service=FakeService())  # trust_proxy 0: the default
    assert _login(rig, rig.emails["council_a"], "wrong password!!", f"{VICTIM}").status_code == 401
    entry = _failure_log(rig)[-1]["detail"]
    assert entry["ip"] == "testclient" and entry["trusted_hops"] == 0 and "forwarded_for" not in entry


def _request(forwarded_for: list[str], peer: str = "10.0.0.2") -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded_for]
    return Request({"type": "http", "headers": headers, "client": (peer, 5000), "method": "GET", "path": "/"})


@pytest.mark.parametrize(
    ("hops", "header", "expected"),
    [
        (0, ["1.1.1.1"], "10.0.0.2"),
        (1, [], "10.0.0.2"),
        (1, ["1.1.1.1"], "1.1.1.1"),
        (1, ["6.6.6.6, 1.1.1.1"], "1.1.1.1"),
        (2, ["6.6.6.6, 1.1.1.1, 10.0.0.9"], "1.1.1.1"),
        (2, ["6.6.6.6, 1.1.1.1", "10.0.0.9"], "1.1.1.1"),  # two headers are one list
        (1, ["[2001:db8::1]:443"], "2001:db8::1"),
        (1, ["1.1.1.1:8080"], "1.1.1.1"),
        (3, ["1.1.1.1"], "1.1.1.1"),  # fewer entries than hops: the left-most there is
    ],
)
def test_the_client_is_the_right_most_untrusted_entry(
    hops: int, header: list[str], expected: str, tmp_path: Path
) -> None:
    config = PortalConfig(
        secret_key="k",
        upload_dir=tmp_path,
        work_dir=tmp_path,
        outputs_dir=tmp_path,
        annual_dir=tmp_path,
        trust_proxy=hops,
    )
    assert client_address(_request(header), config).address == expected


def test_people_signing_in_at_once_behind_one_address_do_not_make_each_other_wait(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thirty right passwords checked at the same time from one gateway (more than the address's
    free failures): a pending check is not a failure of the address, so every one gets in."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    emails = [f"officer{n}@hartlepool.example.gov.uk" for n in range(30)]
    for email in emails:
        rig.accounts.add_user(email, "council", PASSWORD, "E06000001")
    gate = threading.Barrier(30, timeout=20)
    real = rig.accounts.hasher

    class Together:
        """The real hasher, but each check waits until all thirty are pending."""

        def verify(self, stored: str, password: str) -> bool:
            gate.wait()
            return bool(real.verify(stored, password))

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(rig.accounts, "hasher", Together())
    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(lambda email: rig.accounts.authenticate(email, PASSWORD, "192.0.2.10").outcome, emails))
    assert results == ["ok"] * 30
