"""Concurrency: parallel processes submitting for many councils, and racing versions for one
council, all end stored with gapless versions; on PostgreSQL different councils never wait for
each other while one council's submissions queue in a definite order."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

from pipeline.receive import store_validated
from schemas.calendar import Period
from schemas.register import load_register
from store.engine import dispose_engines, get_engine
from store.models import Submission
from store.write import _lock_next_version
from tests.support.synthetic import synthetic_result

PERIOD = "2025-Q1"
SECRET = "concurrency test secret"


def _store_in_child(url: str, code: str, seed: int, start: Any, results: Any) -> None:
    """Runs in a forked process: build the return, wait for the start signal, store it."""
    try:
        result = synthetic_result(code, PERIOD, children=200, seed=seed)
        start.wait(timeout=120)
        outcome = store_validated(result, code, submitted_by="t", secret=SECRET.encode(), engine_or_url=url)
        results.put((code, seed, outcome.status, outcome.version, None))
    except Exception as error:  # noqa: BLE001 - reported to the parent, which fails the test
        results.put((code, seed, "error", None, f"{type(error).__name__}: {error}"))


@pytest.mark.slow
def test_parallel_processes_store_every_submission_with_gapless_versions(migrated_url: str) -> None:
    councils = [c.council_code for c in load_register().expected(Period.parse(PERIOD))][:20]
    racing = councils[0]
    jobs = [(code, 1) for code in councils] + [(racing, 2), (racing, 3)]  # three versions for one council
    dispose_engines()  # no pooled connection may be shared with the children
    context = multiprocessing.get_context("fork")  # children start at once, with everything imported
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=_store_in_child, args=(migrated_url, code, seed, start, results)) for code, seed in jobs
    ]
    for process in processes:
        process.start()
    time.sleep(1.0)
    start.set()  # all together now
    outcomes = [results.get(timeout=300) for _ in jobs]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert [o for o in outcomes if o[2] != "accepted"] == []

    with get_engine(migrated_url).connect() as connection:
        rows = connection.execute(select(Submission.council_code, Submission.version)).all()
    assert len(rows) == len(jobs)
    versions: dict[str, list[int]] = {}
    for code, version in rows:
        versions.setdefault(code, []).append(version)
    assert {code: sorted(v) for code, v in versions.items()} == {
        code: ([1, 2, 3] if code == racing else [1]) for code in councils
    }
    assert sorted(o[3] for o in outcomes if o[0] == racing) == [1, 2, 3]


@pytest.mark.postgres
def test_postgres_locks_one_council_period_only(postgres_schema_url: str) -> None:
    from store import migrate

    url = postgres_schema_url
    migrate.upgrade(url)
    blocked, free = "E06000001", "E06000002"
    engine = get_engine(url)
    # version 1 for both, so the lock rows exist
    for code in (blocked, free):
        store_validated(synthetic_result(code, PERIOD, seed=1), code, submitted_by="t", secret=b"s", engine_or_url=url)

    holder = engine.connect()
    transaction = holder.begin()
    assert _lock_next_version(holder, blocked, PERIOD) == 2  # held: FOR UPDATE on blocked's row

    outcomes: dict[str, Any] = {}

    def submit(code: str, seed: int) -> None:
        outcomes[code] = store_validated(
            synthetic_result(code, PERIOD, seed=seed), code, submitted_by="t", secret=b"s", engine_or_url=url
        )

    other = threading.Thread(target=submit, args=(free, 2))
    same = threading.Thread(target=submit, args=(blocked, 2))
    other.start()
    same.start()
    other.join(timeout=60)
    assert not other.is_alive() and outcomes[free].version == 2  # another council is not held up
    time.sleep(1.0)
    assert same.is_alive() and blocked not in outcomes  # the same council waits its turn
    transaction.rollback()
    holder.close()
    same.join(timeout=60)
    assert not same.is_alive() and outcomes[blocked].version == 2
