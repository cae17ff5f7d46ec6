"""Alembic environment for the project's database: models in store.models and store.accounts."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from store.engine import get_engine
from store.migrate import target_metadata as project_metadata

config = context.config
target_metadata = project_metadata()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("name the database: alembic -x url=<SQLAlchemy URL> ... (or use `lscb db upgrade`)")
    with get_engine(url).begin() as connection:
        _run(connection)


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run against a database")
run_migrations_online()
