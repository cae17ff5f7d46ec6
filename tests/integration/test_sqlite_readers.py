"""SQLite: readers never wait for writers. A writer that holds the write lock and stalls (a
long upload, a stuck process) must not freeze the portal: reads begin DEFERRED and read their
WAL snapshot; writes still begin IMMEDIATE and queue for the lock. PostgreSQL is unchanged."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from store.engine import get_engine
from tests.support.portal import COUNCIL_A, build_rig, login

BOUND_SECONDS = 5.0


def _hold_write_lock(database: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(database, isolation_level=None, timeout=1)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO audit_log (at, actor, action) VALUES ('2025-01-01', 'stall', 'stall')")
    return holder


def _timed(call: Any) -> tuple[float, Any]:
    """Run `call` in a thread; (seconds taken or inf when over the bound, its result)."""
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    start = time.monotonic()
    worker.start()
    worker.join(BOUND_SECONDS)
    return (time.monotonic() - start if result else float("inf")), (result[0] if result else None)


def test_portal_pages_answer_while_a_writer_holds_the_write_lock(tmp_path: Path) -> None:
    from lscb.settings import DEMO_KEY
    from pipeline.receive import store_validated
    from tests.support.synthetic import synthetic_result

    rig = build_rig(tmp_path / "var")
    stored = store_validated(
        synthetic_result(COUNCIL_A, "2025-Q1", children=5, queries=1), COUNCIL_A, secret=DEMO_KEY,
        engine_or_url=rig.engine, submitted_by="seed",
    )  # fmt: skip
    client = TestClient(rig.app)
    assert login(client, rig.emails["council_a"]).status_code == 303
    analyst = TestClient(rig.app)
    assert login(analyst, rig.emails["analyst"]).status_code == 303
    from sqlalchemy import update

    from store import accounts as db

    with rig.engine.begin() as connection:  # due a touch of the idle timer: a write that must not wait
        connection.execute(update(db.sessions).values(last_seen_at=db.utcnow() - timedelta(seconds=60)))
    holder = _hold_write_lock(tmp_path / "var" / "lscb.sqlite")
    try:
        pages = [
            (client, f"/councils/{COUNCIL_A}"),
            (client, f"/councils/{COUNCIL_A}/periods/2025-Q1"),
            (client, f"/councils/{COUNCIL_A}/submissions/{stored.submission_id}"),
            (client, f"/councils/{COUNCIL_A}/children-to-trace"),
            (analyst, "/national/2025-Q1"),
            (analyst, f"/councils/{COUNCIL_A}/submissions/{stored.submission_id}"),
            (analyst, "/audit"),
        ]
        for who, path in pages:
            seconds, response = _timed(lambda who=who, path=path: who.get(path, follow_redirects=False))
            assert seconds < BOUND_SECONDS, f"{path} waited for the writer"
            assert response.status_code == 200, (path, response.status_code)
    finally:
        holder.rollback()
        holder.close()


def test_reads_begin_deferred_and_writes_still_queue_for_the_lock(tmp_path: Path) -> None:
    database = tmp_path / "lscb.sqlite"
    engine = get_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE audit_log (at TEXT, actor TEXT, action TEXT)"))
        connection.execute(text("INSERT INTO audit_log VALUES ('2024-01-01', 'seed', 'seed')"))
    holder = _hold_write_lock(database)
    try:

        def read() -> int:
            with engine.connect() as connection:
                return int(connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one())

        seconds, count = _timed(read)
        assert seconds < BOUND_SECONDS and count == 1  # the snapshot before the stalled write

        def write() -> str:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO audit_log VALUES ('2025-02-02', 'w', 'w')"))
            return "written"

        waiting: list[str] = []
        writer = threading.Thread(target=lambda: waiting.append(write()), daemon=True)
        writer.start()
        writer.join(1.0)
        assert waiting == []  # an explicit transaction waits for the write lock up front
    finally:
        holder.rollback()
        holder.close()
    writer.join(BOUND_SECONDS)
    assert waiting == ["written"]
