"""The portal's own tables: accounts, server-side sessions and failed sign-ins, and the
functions that read and write them.

They live in the project database (`lscb.config.database_url()`) next to the store's tables and
are created by the Alembic revision `migrations/versions/*_portal_*.py`. Everything else the
portal shows (submissions, findings, explanations, the audit log) belongs to `store`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    RowMapping,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    select,
    update,
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


# ---- reading and writing the rows (the portal's `Accounts` keeps the rules: hashing, tokens,
# expiry, lockout; these only persist). Each takes the caller's connection, so the caller
# decides what one transaction holds.


def find_user_by_email(connection: Connection, email: str) -> RowMapping | None:
    return connection.execute(select(users).where(users.c.email == email)).mappings().first()


def find_user_by_id(connection: Connection, user_id: int) -> RowMapping | None:
    return connection.execute(select(users).where(users.c.id == user_id)).mappings().first()


def all_users(connection: Connection) -> list[RowMapping]:
    """Every account, by role, council and email."""
    query = select(users).order_by(users.c.role, users.c.council_code, users.c.email)
    return list(connection.execute(query).mappings())


def insert_user(
    connection: Connection, *, email: str, role: str, council_code: str | None, password_hash: str, now: datetime
) -> None:
    connection.execute(
        insert(users).values(
            email=email,
            role=role,
            council_code=council_code,
            password_hash=password_hash,
            disabled=False,
            created_at=now,
            updated_at=now,
        )
    )


def update_user(connection: Connection, user_id: int, **values: object) -> None:
    """Set columns of one account (`disabled`, `password_hash`, `last_login_at`, `updated_at`)."""
    connection.execute(update(users).where(users.c.id == user_id).values(**values))


def count_login_failures(connection: Connection, scope: str, subject: str, since: datetime) -> int:
    t = login_failures.c
    query = select(func.count()).where(and_(t.scope == scope, t.subject == subject, t.failed_at > since))
    return int(connection.execute(query).scalar_one())


def login_failure_stats(
    connection: Connection, scope: str, subject: str, since: datetime
) -> tuple[int, datetime | None]:
    """(how many failed sign-ins of this scope and subject since `since`, the latest one's time)."""
    t = login_failures.c
    query = select(func.count(), func.max(t.failed_at)).where(
        and_(t.scope == scope, t.subject == subject, t.failed_at > since)
    )
    count, latest = connection.execute(query).one()
    return int(count), latest


def insert_login_failures(connection: Connection, failures: list[tuple[str, str]], now: datetime) -> None:
    """One failed sign-in per (scope, subject), e.g. [("account", email), ("ip", address)]."""
    connection.execute(
        insert(login_failures), [{"scope": scope, "subject": subject, "failed_at": now} for scope, subject in failures]
    )


def delete_login_failures(
    connection: Connection, *, before: datetime | None = None, scope: str | None = None, subject: str | None = None
) -> None:
    """Forget failed sign-ins older than `before`, or those of one scope and subject."""
    t = login_failures.c
    conditions = []
    if before is not None:
        conditions.append(t.failed_at < before)
    if scope is not None:
        conditions.append(t.scope == scope)
    if subject is not None:
        conditions.append(t.subject == subject)
    if not conditions:
        raise ValueError("say which login failures to delete")
    connection.execute(delete(login_failures).where(and_(*conditions)))


def insert_session(connection: Connection, *, token_hash: str, user_id: int, csrf_token: str, now: datetime) -> None:
    connection.execute(
        insert(sessions).values(
            token_hash=token_hash, user_id=user_id, csrf_token=csrf_token, created_at=now, last_seen_at=now
        )
    )


def find_session(connection: Connection, token_hash: str) -> RowMapping | None:
    """The session with its account's columns; the session's own times as `session_created_at`
    and `session_last_seen_at` (the account has a `created_at` too)."""
    query = (
        select(
            sessions.c.csrf_token,
            sessions.c.created_at.label("session_created_at"),
            sessions.c.last_seen_at.label("session_last_seen_at"),
            *users.c,
        )
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == token_hash)
    )
    return connection.execute(query).mappings().first()


def touch_session(connection: Connection, token_hash: str, now: datetime) -> None:
    connection.execute(update(sessions).where(sessions.c.token_hash == token_hash).values(last_seen_at=now))


def delete_sessions(
    connection: Connection,
    *,
    token_hash: str | None = None,
    user_id: int | None = None,
    created_before: datetime | None = None,
) -> None:
    """Delete one session (by its token's hash), every session of an account, or those created
    before a time: exactly one of the three."""
    if sum(c is not None for c in (token_hash, user_id, created_before)) != 1:
        raise ValueError("say which sessions to delete: one of token_hash, user_id, created_before")
    if token_hash is not None:
        condition = sessions.c.token_hash == token_hash
    elif user_id is not None:
        condition = sessions.c.user_id == user_id
    else:
        assert created_before is not None
        condition = sessions.c.created_at < created_before
    connection.execute(delete(sessions).where(condition))
