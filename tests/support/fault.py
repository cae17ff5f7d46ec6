"""Stopping a process in the middle of a store transaction, for the fault tests.

`install_pause(after_rows, marker)` makes the store's write transaction (`store.write`) touch
`marker` with the process id and sleep once it has written `after_rows` child rows, still
uncommitted, so a test can SIGKILL the process there. `pausing_validator` is a portal
validator-process initializer that does the same from `PAUSE_AFTER_ENV` / `PAUSE_MARKER_ENV`
(spawned processes inherit the test's environment).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_AFTER_ENV = "LSCB_TEST_PAUSE_AFTER_CHILD_ROWS"
PAUSE_MARKER_ENV = "LSCB_TEST_PAUSE_MARKER"


def install_pause(after_rows: int, marker: Path) -> None:
    import store.write

    def pause(written: int) -> None:  # pragma: no cover - runs in a process that is killed
        if written >= after_rows:
            marker.write_text(str(os.getpid()), encoding="utf-8")
            time.sleep(600)

    store.write.after_child_chunk = pause


def pausing_validator() -> None:
    """A portal validator process that pauses mid-transaction when the environment says so."""
    from portal.store_service import _warm_validator

    _warm_validator()
    after = int(os.environ.get(PAUSE_AFTER_ENV, "0") or 0)
    marker = os.environ.get(PAUSE_MARKER_ENV)
    if after and marker:
        install_pause(after, Path(marker))
