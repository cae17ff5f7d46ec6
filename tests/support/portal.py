"""Helpers for tests, the browser test and the load benchmark: a portal wired to a database in a
directory of its own, with one account per role, and form helpers (CSRF token, sign-in)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from lscb.settings import DEMO_KEY
from portal.accounts import Accounts
from portal.services import PortalService
from portal.settings import PortalConfig

PASSWORD = "correct horse battery staple"  # noqa: S105 - test accounts only
COUNCIL_A = "E06000001"  # Hartlepool
COUNCIL_B = "E06000002"  # Middlesbrough
USERS = {
    "council_a": ("officer@hartlepool.example.gov.uk", "council", COUNCIL_A),
    "council_b": ("officer@middlesbrough.example.gov.uk", "council", COUNCIL_B),
    "analyst": ("analyst@dfe.example.gov.uk", "analyst", None),
    "admin": ("admin@dfe.example.gov.uk", "admin", None),
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Rig:
    app: FastAPI
    engine: Engine
    accounts: Accounts
    settings: PortalConfig
    service: PortalService
    emails: dict[str, str] = field(default_factory=dict)


def build_rig(
    data_dir: Path,
    *,
    service: PortalService | None = None,
    database_url: str | None = None,
    users: dict[str, tuple[str, str, str | None]] | None = None,
    **settings: Any,
) -> Rig:
    """A portal app over `database_url` (default: SQLite in `data_dir`), migrated and seeded.

    With `service` (e.g. `FakeService`) only the portal's own tables are created; otherwise the
    real store is used (`StoreService`, with the demo key). `settings` override `PortalConfig` fields.
    """
    from portal.app import create_app
    from store.engine import get_engine

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = get_engine(database_url or f"sqlite:///{data_dir / 'lscb.sqlite'}")
    defaults: dict[str, Any] = {
        "secret_key": "test-secret-key-not-for-production",
        "upload_dir": data_dir / "uploads",
        "work_dir": data_dir / "portal",
        "outputs_dir": data_dir / "outputs",
        "annual_dir": data_dir / "annual",
        "warm_up_validation": False,  # tests validate when they need to
    }
    defaults.update(settings)
    config = PortalConfig(**defaults)
    if service is None:
        from portal.store_service import StoreService
        from store.migrate import ensure_current

        ensure_current(engine)
        service = StoreService(engine, config.upload_dir, secret=DEMO_KEY)
    else:
        from store.accounts import create_tables

        create_tables(engine)
    from argon2 import PasswordHasher

    accounts = Accounts(
        engine,
        hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),  # fast; production uses the defaults
        idle_timeout=config.idle_timeout,
        absolute_timeout=config.absolute_timeout,
        max_failures=config.max_failures,
        lockout=config.lockout,
        address_max_failures=config.address_max_failures,
        max_delay=config.max_delay,
    )
    emails = {}
    for key, (email, role, council) in (users if users is not None else USERS).items():
        if accounts.get_by_email(email) is None:
            accounts.add_user(email, role, PASSWORD, council)
        emails[key] = email
    return Rig(create_app(service, accounts, config), engine, accounts, config, service, emails)


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    if match is None:
        raise AssertionError("no CSRF token on the page")
    return match[1]


def login(client: Any, email: str, password: str = PASSWORD, prefix: str = "") -> Any:
    """Sign in through the form (GET for the token, POST); returns the POST's response."""
    page = client.get(f"{prefix}/login")
    return client.post(
        f"{prefix}/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )


# ---- a real server on a loopback port (browser test, load benchmark) ------------------------


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'lscb.sqlite'}"


def prepare_database(
    data_dir: Path,
    users: dict[str, tuple[str, str, str | None]] | None = None,
    *,
    database_url: str | None = None,
    hasher: Any = None,
) -> dict[str, str]:
    """Migrate and seed the database (default `<data_dir>/lscb.sqlite`) and add the accounts;
    returns role key -> email. `hasher`: an argon2 `PasswordHasher` (default: cheap parameters,
    which the portal upgrades to its own at the first sign-in)."""
    from argon2 import PasswordHasher

    from store.engine import get_engine
    from store.migrate import ensure_current

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = get_engine(database_url or default_database_url(data_dir))
    ensure_current(engine)
    accounts = Accounts(engine, hasher=hasher or PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    emails = {}
    for key, (email, role, council) in (users if users is not None else USERS).items():
        if accounts.get_by_email(email) is None:
            accounts.add_user(email, role, PASSWORD, council)
        emails[key] = email
    engine.dispose()
    return emails


def server_env(data_dir: Path, database_url: str | None = None, validators: int | None = None) -> dict[str, str]:
    import os

    env = dict(os.environ)
    if validators is not None:
        env["LSCB_PORTAL_VALIDATORS"] = str(validators)
    env.update(
        {
            "LSCB_DATA_DIR": str(data_dir),
            "LSCB_DATABASE_URL": database_url or default_database_url(data_dir),
            "LSCB_DEMO": "1",
            "LSCB_PORTAL_SECRET": "test-secret-key-not-for-production",
            "LSCB_OUTPUTS": str(data_dir / "outputs"),
        }
    )
    return env


class Server:
    """`uvicorn portal.app:app` in a child process on 127.0.0.1:<free port>; a context manager."""

    def __init__(
        self,
        data_dir: Path,
        *,
        workers: int = 1,
        log: Path | None = None,
        database_url: str | None = None,
        validators: int | None = 1,
    ) -> None:
        """`workers`: web processes; `validators`: processes checking uploads (None: the
        portal's default, one per core)."""
        self.data_dir = data_dir
        self.workers = workers
        self.database_url = database_url
        self.validators = validators
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or data_dir / "portal-server.log"
        self.process: Any = None

    def __enter__(self) -> Server:
        import subprocess
        import sys
        import time
        import urllib.request

        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "portal.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--no-server-header",
                "--log-level",
                "warning",
            ],
            env=server_env(self.data_dir, self.database_url, self.validators),
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=str(Path(__file__).resolve().parents[2]),
            start_new_session=True,  # its own process group: stopping it stops its validator processes
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the portal server exited: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError("the portal server did not start within 120 s")

    def __exit__(self, *exc: object) -> None:
        import os
        import signal

        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except Exception:  # noqa: BLE001 - still running: kill it
                self.process.kill()
                self.process.wait(timeout=10)
        try:  # whatever of its group is left (validator processes), by group, never by name
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def processes_in_group(group: int) -> list[int]:
    """Live processes whose process group is `group` (Linux /proc), zombies excluded."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
        if fields[0] != "Z" and int(fields[2]) == group:
            found.append(int(stat.parent.name))
    return found
