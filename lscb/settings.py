"""The one settings object: everything the project reads from its environment, read here only.

Interfaces (the CLI, the portal, the Airflow task support) build a `Settings` and pass what it
holds (an engine, the key, folders) to the use cases in `pipeline` as arguments; nothing below
the interfaces reads the environment.

| variable | field | default |
|---|---|---|
| `LSCB_DATA_DIR` | `data_dir` | `<project root>/var` in a checkout, else `./var` |
| `LSCB_DATABASE_URL` | `database_url` | `sqlite:///<data dir>/lscb.sqlite` (never Airflow's database) |
| `LSCB_PSEUDONYMISATION_KEY` | the key | none: a production run refuses to start |
| `LSCB_DEMO=1` | `demo` | off; on, the named public demo key is used (with a warning) |
| `LSCB_INBOX`, `LSCB_ARCHIVE`, `LSCB_QUARANTINE`, `LSCB_OUTPUTS`, `LSCB_ANNUAL` | locations | `<data dir>/<name>` |
| `LSCB_PORTAL_*` | portal knobs | see `portal.settings` |
| `LSCB_PORTAL_URL` | the portal's address, for links in e-mails | `http://127.0.0.1:8000` |
| `LSCB_SMTP_HOST`, `_PORT`, `_USER`, `_PASSWORD`, `_STARTTLS`, `_SSL` | the mail server | none: `<data dir>/outbox` |
| `LSCB_MAIL_FROM` | the sender of every e-mail | `lscb-returns@localhost` |
| `LSCB_NATIONAL_TEAM_EMAIL` | who hears of pipeline failures | none |
| `LSCB_FILES_KEY` | Fernet key(s) sealing raw files at rest (comma-separated) | from the pseudonymisation key |
| `LSCB_RAW_RETENTION_DAYS` | days after a period's final compile its raw files are kept | 30 |

| `LSCB_AIRFLOW_API_URL`, `LSCB_AIRFLOW_API_TOKEN` | where the portal announces uploads to Airflow | none |

(Under Airflow the `lscb_smtp` connection comes before the `LSCB_SMTP_*` variables.)

Import-light on purpose (pydantic only): DAG files import this module at parse time.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from lscb.errors import ConfigurationError

if TYPE_CHECKING:
    from transforms.sealing import FileSealer

__all__ = ["ConfigurationError", "PseudonymisationKey", "Settings", "load_settings"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A checkout keeps its data in <project>/var; an installed package, in ./var where it runs.
DEFAULT_DATA_DIR = PROJECT_ROOT / "var" if (PROJECT_ROOT / "pyproject.toml").is_file() else Path("var").resolve()

DEMO_KEY_NAME = "lscb-public-demo-key-2025"
# Public and printed in the docs: keys made with it are not secret. Demos and tests only.
DEMO_KEY = b"lscb-public-demo-key-2025: not secret, never use for real children's data"

LOCATION_KINDS = ("inbox", "archive", "quarantine", "outputs", "annual", "release")

_warned: set[str] = set()  # what this process has already warned about


@dataclass(frozen=True)
class PseudonymisationKey:
    """The national HMAC secret and where it came from (never printed: `repr` hides it)."""

    secret: bytes
    source: str  # "LSCB_PSEUDONYMISATION_KEY", an orchestrator's secret, or DEMO_KEY_NAME
    demo: bool = False

    def __repr__(self) -> str:
        return f"PseudonymisationKey(source={self.source!r}, demo={self.demo})"


def demo_key() -> PseudonymisationKey:
    """The named public demo key, with a warning on stderr (once per process)."""
    if "demo-key" not in _warned:
        print(
            f"lscb: DEMO: using the public demo pseudonymisation key {DEMO_KEY_NAME!r}; "
            "keys made with it are not secret (set LSCB_PSEUDONYMISATION_KEY for real data)",
            file=sys.stderr,
        )
        _warned.add("demo-key")
    return PseudonymisationKey(DEMO_KEY, DEMO_KEY_NAME, demo=True)


class Settings(BaseSettings):
    """Every setting of the project, from `LSCB_*` environment variables (empty means unset)."""

    model_config = SettingsConfigDict(env_prefix="LSCB_", env_ignore_empty=True, extra="ignore", frozen=True)

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    pseudonymisation_key: SecretStr | None = None
    demo: bool = False
    inbox: str | None = None
    archive: str | None = None
    quarantine: str | None = None
    outputs: str | None = None
    annual: str | None = None
    release: str | None = None  # where approved annual publications are released (immutable)

    portal_secret: SecretStr | None = None
    portal_idle_minutes: int = 30
    portal_absolute_hours: int = 8
    portal_max_failures: int = 5
    portal_lockout_minutes: int = 15
    portal_secure_cookies: bool | None = None
    portal_address_max_failures: int = 20
    portal_max_delay_seconds: int = 60
    portal_trust_proxy: int = Field(default=0, ge=0)  # trusted proxy hops in front of the portal
    portal_validators: int = Field(default_factory=lambda: os.cpu_count() or 1)
    portal_warm_up: bool = True
    portal_url: str = "http://127.0.0.1:8000"
    # the API (standard §8): token lifetime (at most 60), requests per client per minute and at once
    api_token_minutes: int = 60
    api_rate_per_minute: int = 120
    api_burst: int = 30
    # `lscb push`, the reference client: where the API is (default: the portal's /api/v1) and the
    # client's secret (never on the command line)
    api_url: str | None = None
    api_client_secret: SecretStr | None = None

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    mail_from: str = "lscb-returns@localhost"
    national_team_email: str | None = None
    airflow_api_url: str | None = None
    airflow_api_token: SecretStr | None = None
    files_key: SecretStr | None = None
    raw_retention_days: int = Field(default=30, ge=0)

    # ---- resolved values

    def data_path(self) -> Path:
        """The data directory, absolute, created on demand."""
        path = self.data_dir.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def database(self) -> str:
        """The project database's URL (default: SQLite in the data directory)."""
        if self.database_url and self.database_url.strip():
            return self.database_url.strip()
        return f"sqlite:///{self.data_path() / 'lscb.sqlite'}"

    def location(self, kind: str) -> str:
        """Where `kind` (inbox, archive, quarantine, outputs, annual) is: a folder or a URL."""
        if kind not in LOCATION_KINDS:
            raise ConfigurationError(f"unknown location {kind!r}; one of {', '.join(LOCATION_KINDS)}")
        value = getattr(self, kind)
        if value and str(value).strip():
            text = str(value).strip()
            return text if "://" in text else str(Path(text).expanduser().resolve())
        return str(self.data_path() / kind)

    def key(self) -> PseudonymisationKey:
        """The pseudonymisation key: `LSCB_PSEUDONYMISATION_KEY`; else, with `LSCB_DEMO=1`, the
        named demo key (with a warning); else a `ConfigurationError` (no key, no run)."""
        if self.pseudonymisation_key is not None:
            text = self.pseudonymisation_key.get_secret_value().strip()
            if text:
                return PseudonymisationKey(text.encode("utf-8"), "LSCB_PSEUDONYMISATION_KEY")
        if self.demo:
            return demo_key()
        raise ConfigurationError("no pseudonymisation key: set LSCB_PSEUDONYMISATION_KEY (or LSCB_DEMO=1 for a demo)")

    def files_sealer(self, key: PseudonymisationKey | None = None) -> FileSealer:
        """What seals raw files at rest (uploads, the inbox archive): `LSCB_FILES_KEY` (one or
        more Fernet keys, comma-separated: the first seals, all open), else a key derived from the
        pseudonymisation key (`key`, or the settings' own), so the demo key works as it is."""
        from transforms.sealing import FileSealer, SealError

        if self.files_key is not None and self.files_key.get_secret_value().strip():
            keys = [k for k in self.files_key.get_secret_value().split(",") if k.strip()]
            try:
                return FileSealer.from_keys(keys)
            except SealError as error:
                raise ConfigurationError(str(error)) from None
        source = key or self.key()
        return FileSealer.derived(source.secret, source.source)

    def upload_location(self) -> str:
        """Where the portal keeps uploads (sealed): `<data dir>/uploads`."""
        return str(self.data_path() / "uploads")

    def uses_demo_key(self) -> bool:
        """Whether what is built now is keyed with the public demo key (a publication then says
        it is a demonstration)."""
        has_key = self.pseudonymisation_key is not None and self.pseudonymisation_key.get_secret_value().strip()
        return bool(self.demo and not has_key)


def load_settings() -> Settings:
    """The settings in force now (read from the environment each call: cheap, and tests and
    long-lived processes see a changed environment)."""
    try:
        return Settings()
    except ValueError as error:  # pydantic's ValidationError: name the variable, one line
        raise ConfigurationError(f"invalid setting: {_first_problem(error)}") from None


def _first_problem(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        for problem in errors():
            where = ".".join(str(part) for part in problem.get("loc", ()))
            return f"LSCB_{where.upper()}: {problem.get('msg', 'invalid')}"
    return str(error).splitlines()[0]
