"""Shared fixtures.

`database_url` runs a test on SQLite (a file in tmp_path) and on PostgreSQL. Each PostgreSQL
test gets its own freshly created schema (selected through `search_path` in the URL's
`options`), so parallel pytest-xdist workers never see each other's tables, and the URL works
unchanged in a subprocess. PostgreSQL comes from `LSCB_TEST_POSTGRES_URL`; when `CI=true` an
unset or unreachable server FAILS the test, locally it is skipped with the reason.
"""

from __future__ import annotations

import os
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

POSTGRES_ENV = "LSCB_TEST_POSTGRES_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"PostgreSQL is required when CI=true: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server for tests (skipped locally, failed in CI, when unavailable)."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        _unavailable(f"{POSTGRES_ENV} is not set")
    from sqlalchemy import create_engine, text

    engine = create_engine(_psycopg(url))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure to connect means "unavailable"
        _unavailable(f"cannot reach PostgreSQL at {url}: {type(error).__name__}: {str(error).splitlines()[0]}")
    finally:
        engine.dispose()
    return _psycopg(url)


def _psycopg(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _with_search_path(url: str, schema: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query)
    query = [(k, v) for k, v in query if k != "options"] + [("options", f"-csearch_path={schema}")]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


@pytest.fixture
def postgres_schema_url(request: pytest.FixtureRequest, postgres_url: str) -> Iterator[str]:
    """A URL whose connections use a new, empty schema of their own; dropped afterwards."""
    from sqlalchemy import create_engine, text

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"t_{worker}_{uuid.uuid4().hex[:12]}".lower()
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(postgres_url, schema)
    finally:
        from store.engine import dispose_engines

        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lscb-test.sqlite'}"
        from store.engine import dispose_engines

        dispose_engines()
    else:
        yield request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def migrated_url(database_url: str) -> str:
    """`database_url` upgraded to the head revision, register seeded."""
    from store import migrate
    from store.engine import get_engine
    from store.seed import seed_register

    migrate.upgrade(database_url)
    with get_engine(database_url).begin() as connection:
        seed_register(connection)
    return database_url


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """LSCB_DATA_DIR pointed at a fresh directory."""
    path = tmp_path / "var"
    monkeypatch.setenv("LSCB_DATA_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def generated_year(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A generated year (tests/support/publication.py): every council's four quarters of 2025-26
    stored, with small counts, zero rows and cross-council findings; its annual publication and
    its fourth quarter's compile built (with the synthetic population: a demonstration)."""
    from tests.support.publication import generate_year

    return generate_year(tmp_path_factory.mktemp("generated-year"))
