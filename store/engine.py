"""Engines for the project's database, set up for concurrent writers.

SQLite: WAL journal, a busy timeout, foreign keys on. A transaction opened explicitly
(`engine.begin()`, `connection.begin()`: how every write in the project is made) begins
`BEGIN IMMEDIATE`, so two writers queue for the write lock up front instead of failing half-way
with "database is locked". A transaction SQLAlchemy opens by itself (`engine.connect()` then a
query: every read) begins DEFERRED, so it takes no lock and, under WAL, reads its snapshot while
a writer holds the write lock: readers never wait for writers. PostgreSQL: psycopg 3, pre-ping,
unchanged.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

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


class _SQLiteConnection(Connection):
    """Knows whether its transaction was opened by autobegin (a read through `engine.connect()`)
    or explicitly (`begin()`: a write), so the `begin` event below can tell them apart."""

    _lscb_autobegin = False

    def _autobegin(self) -> None:
        self.begin_read()

    def begin_read(self) -> None:
        self._lscb_autobegin = True
        try:
            super()._autobegin()
        finally:
            self._lscb_autobegin = False


def begin_read(connection: Connection) -> None:
    """Open `connection`'s transaction as a read when it has none yet: on SQLite DEFERRED (no
    lock), as an autobegin would. For code that hands a fresh connection to an ORM `Session`,
    which otherwise calls `begin()` itself, and that would take the write lock."""
    if connection.in_transaction():
        return
    if isinstance(connection, _SQLiteConnection):
        connection.begin_read()
    else:
        connection.begin()


def _configure_sqlite(engine: Engine) -> None:
    engine._connection_cls = _SQLiteConnection  # SQLAlchemy's hook for the Connection class

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
        # reads: deferred (no lock; WAL gives them a snapshot); writes: the write lock up front
        connection.exec_driver_sql("BEGIN" if getattr(connection, "_lscb_autobegin", False) else "BEGIN IMMEDIATE")


def write_if_free(engine: Engine, work: Callable[[Connection], None], *, wait_ms: int = 250) -> bool:
    """Run `work` in a write transaction unless, on SQLite, another writer holds the lock for
    longer than `wait_ms`: then do nothing and return False. For writes that may be skipped
    (a session's idle timer), so a stalled writer never holds up a page. PostgreSQL: always runs."""
    if not is_sqlite(engine):
        with engine.begin() as connection:
            work(connection)
        return True
    with engine.connect() as connection:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(wait_ms)}")
        connection.commit()
        try:
            with connection.begin():
                work(connection)
            return True
        except OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            return False
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            connection.commit()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def dispose_engines() -> None:
    """Close every cached engine of this process (tests, forked workers)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
