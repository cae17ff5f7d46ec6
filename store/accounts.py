"""The portal's own tables: accounts, server-side sessions and failed sign-ins.

They live in the project database (`lscb.config.database_url()`) next to the store's tables and
are created by the Alembic revision `migrations/versions/*_portal_*.py`. Everything else the
portal shows (submissions, findings, explanations, the audit log) belongs to `store`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

ROLES = ("council", "analyst", "admin")

users = Table(
    "portal_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("council_code", String(9), nullable=True),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("last_login_at", DateTime, nullable=True),
)

sessions = Table(
    "portal_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the cookie's token, never the token
    Column("user_id", Integer, ForeignKey("portal_users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
)

login_failures = Table(
    "portal_login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(8), nullable=False),  # "account" or "ip"
    Column("subject", String(254), nullable=False),  # the email tried, or the client IP
    Column("failed_at", DateTime, nullable=False),
    Index("ix_portal_login_failures_lookup", "scope", "subject", "failed_at"),
)


def utcnow() -> datetime:
    """Naive UTC (what SQLite and PostgreSQL `timestamp` columns hold alike)."""
    return datetime.now(UTC).replace(tzinfo=None)


def create_tables(engine: Engine) -> None:
    """Create the portal's tables if absent (tests and throwaway databases; production uses Alembic)."""
    metadata.create_all(engine, checkfirst=True)
