"""Fault test: a submit killed (SIGKILL) half-way through writing child rows leaves the database
holding none of it; the previous version stays current and the next version number is not lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

from pipeline.receive import store_validated
from store import current_submission, list_submissions
from store.engine import dispose_engines, get_engine
from store.models import CouncilPeriod, Submission, child_records
from tests.support.synthetic import synthetic_result

ROOT = Path(__file__).resolve().parents[2]
COUNCIL, PERIOD = "E06000002", "2025-Q1"
SECRET = "fault test secret"


def _counts(url: str) -> tuple[int, int]:
    with get_engine(url).connect() as connection:
        submissions = connection.execute(select(func.count()).select_from(Submission)).scalar_one()
        children = connection.execute(select(func.count()).select_from(child_records)).scalar_one()
    return int(submissions), int(children)


def test_a_submit_killed_mid_transaction_leaves_nothing(migrated_url: str, tmp_path: Path) -> None:
    first = store_validated(
        synthetic_result(COUNCIL, PERIOD, children=10, seed=1), COUNCIL, submitted_by="t",
        secret=SECRET.encode(), engine_or_url=migrated_url,
    )  # fmt: skip
    assert first.version == 1
    assert _counts(migrated_url) == (1, 10)

    marker = tmp_path / "paused"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.synthetic", migrated_url, COUNCIL, PERIOD,
         "--children", "3000", "--seed", "2", "--secret", SECRET,
         "--pause-after", "1000", "--pause-marker", str(marker)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the child never reached the pause"
            time.sleep(0.05)
        # the child has written >= 1000 child rows and its submission row, all uncommitted
        if migrated_url.startswith("postgresql"):
            with get_engine(migrated_url).connect() as connection:
                pending = connection.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'")
                ).scalar_one()
            assert pending >= 1
            assert _counts(migrated_url) == (1, 10)  # other readers never see half a submission
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    dispose_engines()  # fresh connections, as after a restart
    if migrated_url.startswith("postgresql"):
        deadline = time.monotonic() + 30  # the server notices the dead client and rolls back
        while _counts(migrated_url) != (1, 10) and time.monotonic() < deadline:
            time.sleep(0.2)
    else:
        with get_engine(migrated_url).connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    assert _counts(migrated_url) == (1, 10)
    current = current_submission(COUNCIL, PERIOD, engine_or_url=migrated_url)
    assert current is not None and current["version"] == 1
    with get_engine(migrated_url).connect() as connection:
        assert connection.execute(select(CouncilPeriod.last_version)).scalar_one() == 1

    # the store carries on: the retried upload becomes version 2, no gap
    retry = store_validated(
        synthetic_result(COUNCIL, PERIOD, children=3000, seed=2), COUNCIL, submitted_by="t",
        secret=SECRET.encode(), engine_or_url=migrated_url,
    )  # fmt: skip
    assert (retry.status, retry.version) == ("accepted", 2)
    assert [r["version"] for r in list_submissions(COUNCIL, PERIOD, engine_or_url=migrated_url)] == [1, 2]
    assert _counts(migrated_url) == (2, 3010)
