"""The portal's configuration, resolved: `PortalConfig.from_settings` builds it from the one
settings object (`lscb.settings.Settings`, variables `LSCB_PORTAL_*`); tests build it directly.

- `LSCB_PORTAL_SECRET`: the key that signs session cookies. Without it the portal keeps a random
  key in `<data dir>/portal/secret_key` (created once, mode 0600), so sessions survive a restart
  and every worker of one installation agrees.
- `LSCB_PORTAL_SECURE_COOKIES`: `1` forces the Secure cookie flag, `0` turns it off; by default
  it is set whenever the request came over https (directly or via `X-Forwarded-Proto` when
  `LSCB_PORTAL_TRUST_PROXY` is 1 or more).
- `LSCB_PORTAL_IDLE_MINUTES` (30), `LSCB_PORTAL_ABSOLUTE_HOURS` (8): server-side session expiry.
- Sign-in slow-down (`portal.accounts`): failures count for `LSCB_PORTAL_LOCKOUT_MINUTES` (15);
  after `LSCB_PORTAL_MAX_FAILURES` (5) for one account, or `LSCB_PORTAL_ADDRESS_MAX_FAILURES` (20)
  from one address, each further attempt waits a growing delay (1 s, 2 s, 4 s, ... at most
  `LSCB_PORTAL_MAX_DELAY_SECONDS`, 60). Nobody is locked out.
- `LSCB_PORTAL_TRUST_PROXY` (0): how many proxies in front of the portal append to
  `X-Forwarded-For` and are trusted. The client's address is the right-most entry that is not
  one of them (`portal.client`); 0 trusts no header and uses the connection's peer.
- `LSCB_PORTAL_VALIDATORS` (one per core): processes that check and store uploads (0: in the web
  process); `LSCB_PORTAL_WARM_UP=0`: do not build the validator when the server starts.
- The compiled outputs analysts may download are where the compile and the annual build write
  them: the settings' outputs and annual locations (`LSCB_OUTPUTS`, `LSCB_ANNUAL`, default
  `<data dir>/outputs` and `<data dir>/annual`); unpublished ones (`.staging`) are never listed.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from lscb.settings import Settings


def _max_upload_bytes() -> int:
    from schemas.standard import load_standard

    return load_standard().limits.max_upload_bytes


@dataclass
class PortalConfig:
    secret_key: str
    upload_dir: Path
    work_dir: Path
    outputs_dir: Path
    annual_dir: Path  # the annual publications
    idle_timeout: timedelta = timedelta(minutes=30)
    absolute_timeout: timedelta = timedelta(hours=8)
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    secure_cookies: bool | None = None  # None: Secure whenever the request came over https
    address_max_failures: int = 20
    max_delay: timedelta = timedelta(seconds=60)
    trust_proxy: int = 0  # trusted proxy hops (each appends one X-Forwarded-For entry)
    max_upload_bytes: int = field(default_factory=_max_upload_bytes)
    cookie_name: str = "lscb_session"
    validators: int = 0  # processes that check and store uploads; 0 = in the web process
    warm_up_validation: bool = True  # build the validator when the server starts

    @classmethod
    def from_settings(cls, settings: Settings) -> PortalConfig:
        data = settings.data_path()
        return cls(
            secret_key=_secret_key(settings, data),
            upload_dir=Path(settings.upload_location()),
            work_dir=data / "portal",
            outputs_dir=Path(settings.location("outputs")),
            annual_dir=Path(settings.location("annual")),
            idle_timeout=timedelta(minutes=settings.portal_idle_minutes),
            absolute_timeout=timedelta(hours=settings.portal_absolute_hours),
            max_failures=settings.portal_max_failures,
            lockout=timedelta(minutes=settings.portal_lockout_minutes),
            secure_cookies=settings.portal_secure_cookies,
            address_max_failures=settings.portal_address_max_failures,
            max_delay=timedelta(seconds=settings.portal_max_delay_seconds),
            trust_proxy=settings.portal_trust_proxy,
            validators=max(0, settings.portal_validators),
            warm_up_validation=settings.portal_warm_up,
        )


def _secret_key(settings: Settings, data: Path) -> str:
    if settings.portal_secret is not None and settings.portal_secret.get_secret_value().strip():
        return settings.portal_secret.get_secret_value().strip()
    path = data / "portal" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker won the race
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()
