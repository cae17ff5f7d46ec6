"""The API's own tables (standard §8): OAuth 2.0 clients, the tokens issued to them and the
idempotency keys of their submissions, and the functions that read and write them.

Nothing secret is kept in the clear: a client's secret only as its argon2 hash (made by the
pipeline), a token only as its sha256. The tables share the project database and its Alembic
history (revision `0008_api`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    RowMapping,
    String,
    Table,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)

from store.models import Base

clients = Table(
    "api_clients",
    Base.metadata,
    Column("client_id", String(40), primary_key=True),
    Column("council_code", String(9), ForeignKey("councils.council_code"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(255), nullable=False),
    Column("scopes", String(200), nullable=False),  # space-separated, as OAuth 2.0 writes them
    Column("created_at", DateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("rotated_at", DateTime, nullable=True),
    Column("revoked_at", DateTime, nullable=True),
    UniqueConstraint("council_code", "name", name="uq_api_clients_council_name"),
)

tokens = Table(
    "api_tokens",
    Base.metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the access token, never the token
    Column("client_id", String(40), ForeignKey("api_clients.client_id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Index("ix_api_tokens_client", "client_id"),
)

requests = Table(
    "api_requests",
    Base.metadata,
    Column("client_id", String(40), ForeignKey("api_clients.client_id", ondelete="CASCADE"), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("period", String(7), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),  # None while the first request is being answered
    Column("answer", JSON, nullable=True),
    Column("created_at", DateTime, nullable=False),
)


states = Table(
    "api_states",
    Base.metadata,
    # what the next delta applies to (transforms.delta.state_of): no raw identifier, no date of birth
    Column("council_code", String(9), ForeignKey("councils.council_code"), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("submission_id", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)


def find_state(connection: Connection, council_code: str, period: str) -> RowMapping | None:
    query = select(states).where(states.c.council_code == council_code, states.c.period == period)
    return connection.execute(query).mappings().first()


def save_state(connection: Connection, council_code: str, period: str, **values: Any) -> None:
    done = connection.execute(
        update(states).where(states.c.council_code == council_code, states.c.period == period).values(**values)
    ).rowcount
    if not done:
        connection.execute(insert(states), {"council_code": council_code, "period": period, **values})


def insert_client(connection: Connection, **values: Any) -> None:
    connection.execute(insert(clients), values)


def find_client(connection: Connection, client_id: str) -> RowMapping | None:
    return connection.execute(select(clients).where(clients.c.client_id == client_id)).mappings().first()


def all_clients(connection: Connection, council_code: str | None = None) -> list[RowMapping]:
    query = select(clients).order_by(clients.c.council_code, clients.c.name)
    if council_code is not None:
        query = query.where(clients.c.council_code == council_code)
    return list(connection.execute(query).mappings())


def update_client(connection: Connection, client_id: str, **values: Any) -> None:
    connection.execute(update(clients).where(clients.c.client_id == client_id).values(**values))


def insert_token(connection: Connection, **values: Any) -> None:
    connection.execute(insert(tokens), values)


def find_token(connection: Connection, token_hash: str) -> RowMapping | None:
    """The token with its client's council and state (one query per request)."""
    query = (
        select(
            tokens,
            clients.c.council_code,
            clients.c.name,
            clients.c.revoked_at,
        )
        .join(clients, clients.c.client_id == tokens.c.client_id)
        .where(tokens.c.token_hash == token_hash)
    )
    return connection.execute(query).mappings().first()


def delete_tokens(connection: Connection, client_id: str, *, expired_before: datetime | None = None) -> None:
    query = delete(tokens).where(tokens.c.client_id == client_id)
    if expired_before is not None:
        query = query.where(tokens.c.expires_at < expired_before)
    connection.execute(query)


def find_request(connection: Connection, client_id: str, key: str) -> RowMapping | None:
    query = select(requests).where(requests.c.client_id == client_id, requests.c.idempotency_key == key)
    return connection.execute(query).mappings().first()


def insert_request(connection: Connection, **values: Any) -> None:
    connection.execute(insert(requests), values)


def finish_request(connection: Connection, client_id: str, key: str, status_code: int, answer: dict[str, Any]) -> None:
    connection.execute(
        update(requests)
        .where(requests.c.client_id == client_id, requests.c.idempotency_key == key)
        .values(status_code=status_code, answer=answer)
    )


def forget_request(connection: Connection, client_id: str, key: str) -> None:
    """An answer that failed on our side: the key may be tried again."""
    connection.execute(delete(requests).where(requests.c.client_id == client_id, requests.c.idempotency_key == key))
