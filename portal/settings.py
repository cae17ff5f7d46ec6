"""Portal settings, read from the environment when the app is built (never at import time).

- `LSCB_PORTAL_SECRET`: the key that signs session cookies. Without it the portal keeps a random
  key in `<data dir>/portal/secret_key` (created once, mode 0600), so sessions survive a restart
  and every worker of one installation agrees.
- `LSCB_PORTAL_SECURE_COOKIES`: `1` forces the Secure cookie flag, `0` turns it off; by default
  it is set whenever the request came over https (directly or via `X-Forwarded-Proto` when
  `LSCB_PORTAL_TRUST_PROXY=1`).
- `LSCB_PORTAL_IDLE_MINUTES` (30), `LSCB_PORTAL_ABSOLUTE_HOURS` (8): server-side session expiry.
- `LSCB_PORTAL_MAX_FAILURES` (5) failed sign-ins per account or per client IP within
  `LSCB_PORTAL_LOCKOUT_MINUTES` (15) lock that account / IP out for that window.
- `LSCB_COMPILE_DIR`: the national compile's output directory (default `<data dir>/compile`),
  served read-only to analysts.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from lscb.config import data_dir


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _secret_key() -> str:
    configured = os.environ.get("LSCB_PORTAL_SECRET", "").strip()
    if configured:
        return configured
    path = data_dir() / "portal" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker won the race
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(key)
    return path.read_text(encoding="utf-8").strip()


def _max_upload_bytes() -> int:
    from schemas.standard import load_standard

    return load_standard().limits.max_upload_bytes


@dataclass
class Settings:
    secret_key: str = field(default_factory=_secret_key)
    idle_timeout: timedelta = field(default_factory=lambda: timedelta(minutes=_int_env("LSCB_PORTAL_IDLE_MINUTES", 30)))
    absolute_timeout: timedelta = field(
        default_factory=lambda: timedelta(hours=_int_env("LSCB_PORTAL_ABSOLUTE_HOURS", 8))
    )
    max_failures: int = field(default_factory=lambda: _int_env("LSCB_PORTAL_MAX_FAILURES", 5))
    lockout: timedelta = field(
        default_factory=lambda: timedelta(minutes=_int_env("LSCB_PORTAL_LOCKOUT_MINUTES", 15))
    )
    secure_cookies: bool | None = field(
        default_factory=lambda: {"1": True, "0": False}.get(os.environ.get("LSCB_PORTAL_SECURE_COOKIES", "").strip())
    )
    trust_proxy: bool = field(default_factory=lambda: os.environ.get("LSCB_PORTAL_TRUST_PROXY", "").strip() == "1")
    max_upload_bytes: int = field(default_factory=_max_upload_bytes)
    upload_dir: Path = field(default_factory=lambda: data_dir() / "uploads")
    work_dir: Path = field(default_factory=lambda: data_dir() / "portal")
    compile_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("LSCB_COMPILE_DIR", "").strip() or data_dir() / "compile")
    )
    cookie_name: str = "lscb_session"
    # processes that check and store uploads (see StoreService); 0 = in the web process's threads
    validators: int = field(default_factory=lambda: _int_env("LSCB_PORTAL_VALIDATORS", os.cpu_count() or 1))
    # build the validator (GX context and suite, seconds) when the server starts, so the first
    # council to upload does not wait for it; LSCB_PORTAL_WARM_UP=0 skips
    warm_up_validation: bool = field(
        default_factory=lambda: os.environ.get("LSCB_PORTAL_WARM_UP", "1").strip() != "0"
    )
