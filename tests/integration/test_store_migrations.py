"""Alembic: upgrade and downgrade on SQLite and PostgreSQL, the models agree with the migrations,
the tables agree with the standard, and the audit log is append-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import DBAPIError

from schemas.standard import load_standard
from store import migrate
from store.engine import get_engine
from store.models import (
    REPLACED_CHILD_FIELDS,
    AuditEntry,
    about_facts,
    activity_facts,
    child_records,
    strategy_facts,
)

TABLES = {
    "councils", "council_links", "periods", "council_periods", "submissions", "findings", "explanations",
    "about_facts", "strategy_facts", "activity_facts", "child_records", "audit_log",
}  # fmt: skip


ALL_TABLES = set(migrate.combined_metadata().tables)  # the store's and the portal's


def _tables(url: str) -> set[str]:
    with get_engine(url).connect() as connection:
        return set(inspect(connection).get_table_names()) - {"alembic_version"}


def test_upgrade_to_head_and_back_to_base(database_url: str) -> None:
    assert migrate.current(database_url) is None
    migrate.upgrade(database_url)
    assert migrate.current(database_url) == migrate.head()
    assert _tables(database_url) == ALL_TABLES
    assert TABLES <= ALL_TABLES
    migrate.downgrade(database_url, "base")
    assert migrate.current(database_url) is None
    assert _tables(database_url) == set()
    migrate.upgrade(database_url, "head")  # and up again: downgrade left nothing behind
    assert _tables(database_url) == ALL_TABLES


def test_models_and_migrations_agree(database_url: str) -> None:
    migrate.upgrade(database_url)
    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, migrate.combined_metadata())
    assert differences == []


def test_fact_and_child_columns_are_the_standards_fields() -> None:
    standard = load_standard()
    for table, sheet in ((about_facts, "About"), (strategy_facts, "Strategy"), (activity_facts, "Activity")):
        assert [c.name for c in table.columns] == ["submission_id", *standard.sheet(sheet).field_names]
    children = standard.sheet("Children")
    expected = {f.name for f in children.fields if not f.identifier and f.name not in REPLACED_CHILD_FIELDS}
    columns = {c.name for c in child_records.columns}
    assert expected <= columns
    assert {"upn_key", "nhs_key", "birth_month"} <= columns
    # no raw identifier and no full date of birth has a column anywhere
    for field in [*standard.identifier_fields, children.field("date_of_birth")]:
        assert field.name not in columns
    assert columns - expected == {
        "id",
        "submission_id",
        "council_code",
        "period",
        "row",
        "upn_key",
        "nhs_key",
        "birth_month",
    }


def test_child_record_indexes_for_the_compile(database_url: str) -> None:
    migrate.upgrade(database_url)
    with get_engine(database_url).connect() as connection:
        indexes = {tuple(i["column_names"]) for i in inspect(connection).get_indexes("child_records")}
    assert {("upn_key",), ("nhs_key",), ("council_code", "period"), ("submission_id",)} <= indexes


def test_audit_log_is_append_only(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = get_engine(database_url)
    with engine.begin() as connection:
        connection.execute(insert(AuditEntry), {"at": datetime.now(UTC), "actor": "test", "action": "probe"})
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_log"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["test"]
