"""Alembic, driven programmatically: `upgrade`, `downgrade`, `current` for the project's database.

The migration scripts ship inside the package, in `store/migrations/` (`alembic.ini` is there for
anyone who prefers the `alembic` command: `alembic -c store/migrations/alembic.ini ...`, with
`-x url=...` or `sqlalchemy.url` set to the database).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, MetaData, inspect

from store.engine import get_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def target_metadata() -> list[MetaData]:
    """Every table the project's migrations create: the returns' models (with the children to
    trace, `store.tracing`) and the account tables (`store.accounts`), which share this database
    and this history."""
    import store.api  # noqa: F401 - the API's tables are on Base's metadata
    import store.chasing  # noqa: F401 - its tables are on Base's metadata
    import store.tracing  # noqa: F401 - its table is on Base.metadata: imported so Alembic sees it
    from store.accounts import metadata as account_metadata
    from store.models import Base

    return [Base.metadata, account_metadata]


def combined_metadata() -> MetaData:
    """`target_metadata()` as one MetaData (for `alembic.autogenerate.compare_metadata`)."""
    combined = MetaData()
    for metadata in target_metadata():
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


def alembic_config(engine: Engine) -> object:
    from alembic.config import Config

    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    from alembic import command

    engine = get_engine(engine_or_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection  # type: ignore[attr-defined]
        command.upgrade(config, revision)  # type: ignore[arg-type]


def downgrade(engine_or_url: Engine | str, revision: str = "-1") -> None:
    from alembic import command

    engine = get_engine(engine_or_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection  # type: ignore[attr-defined]
        command.downgrade(config, revision)  # type: ignore[arg-type]


def current(engine_or_url: Engine | str) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from alembic.migration import MigrationContext

    engine = get_engine(engine_or_url)
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    revision = script.get_current_head()
    assert revision is not None
    return revision


def ensure_current(engine_or_url: Engine | str) -> int:
    """Bring the database to the head revision when it is behind and the council register up to
    date (both idempotent); returns the number of councils in the register table."""
    from store.seed import seed_register

    engine = get_engine(engine_or_url)
    if current(engine) != head():
        upgrade(engine)
    with engine.begin() as connection:
        return seed_register(connection)


def is_initialised(engine: Engine) -> bool:
    with engine.connect() as connection:
        return inspect(connection).has_table("submissions")
