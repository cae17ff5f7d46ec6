"""Configuration from the environment, read when asked (never at import time).

- `LSCB_DATA_DIR`: where the project writes its files (default `<project root>/var`).
- `LSCB_DATABASE_URL`: the project's own database (default SQLite in the data dir). This is
  never Airflow's metadata database.
- `LSCB_PSEUDONYMISATION_KEY`: the national secret for UPN/NHS keys (standard section 6).
  Without it, only a demo run (`LSCB_DEMO=1`) may use the named, public demo key.

Import-light on purpose: the CLI, DAG files and the portal import this module.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEMO_KEY_NAME = "lscb-public-demo-key-2025"
# Public and printed in the docs: keys made with it are not secret. Demos and tests only.
DEMO_KEY = b"lscb-public-demo-key-2025: not secret, never use for real children's data"

_warned: set[str] = set()  # what this process has already warned about


def data_dir() -> Path:
    """The data directory (`LSCB_DATA_DIR`, default `<project root>/var`), created on demand."""
    configured = os.environ.get("LSCB_DATA_DIR", "").strip()
    path = Path(configured).expanduser() if configured else PROJECT_ROOT / "var"
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """The project's database URL (`LSCB_DATABASE_URL`, default `sqlite:///<data dir>/lscb.sqlite`)."""
    configured = os.environ.get("LSCB_DATABASE_URL", "").strip()
    if configured:
        return configured
    return f"sqlite:///{data_dir() / 'lscb.sqlite'}"


def demo_mode() -> bool:
    return os.environ.get("LSCB_DEMO", "").strip() == "1"


def pseudonymisation_key() -> bytes:
    """The HMAC secret for pseudonymising UPNs and NHS numbers.

    `LSCB_PSEUDONYMISATION_KEY` (UTF-8 text); else, when `LSCB_DEMO=1`, the named demo key, with a
    warning on stderr (once per process); else a `UserError`: a production run never starts
    without the key.
    """
    configured = os.environ.get("LSCB_PSEUDONYMISATION_KEY", "")
    if configured.strip():
        return configured.strip().encode("utf-8")
    if demo_mode():
        if "demo-key" not in _warned:
            print(
                f"lscb: DEMO: using the public demo pseudonymisation key {DEMO_KEY_NAME!r}; "
                "keys made with it are not secret (set LSCB_PSEUDONYMISATION_KEY for real data)",
                file=sys.stderr,
            )
            _warned.add("demo-key")
        return DEMO_KEY
    from lscb.cli import UserError

    raise UserError("no pseudonymisation key: set LSCB_PSEUDONYMISATION_KEY (or LSCB_DEMO=1 for a demo)")
