"""Engines for the project's database, set up for concurrent writers.

SQLite: WAL journal (readers never block the writer), a busy timeout, foreign keys on, and every
transaction opened with `BEGIN IMMEDIATE`, so two writers queue for the write lock up front
instead of failing half-way with "database is locked". PostgreSQL: psycopg 3, pre-ping.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 60_000

_engines: dict[tuple[int, str], Engine] = {}
_lock = threading.Lock()


def get_engine(engine_or_url: Engine | str) -> Engine:
    """An engine for a URL, one per URL and process (an Engine is returned as it is)."""
    if isinstance(engine_or_url, Engine):
        return engine_or_url
    key = (os.getpid(), str(engine_or_url))
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = make_engine(str(engine_or_url))
            _engines[key] = engine
        return engine


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def dispose_engines() -> None:
    """Close every cached engine of this process (tests, forked workers)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
