"""The API (standard §8): OAuth 2.0 clients (secrets as argon2 hashes), the tokens issued to
them (as sha256), the idempotency keys of their submissions, and the state a delta applies to
(children's keys and birth months, never a raw identifier or a date of birth).

Revision ID: 0008_api
Revises: 0006_picture
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_api"
down_revision: str | None = "0006_picture"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("client_id", sa.String(40), primary_key=True),
        sa.Column("council_code", sa.String(9), sa.ForeignKey("councils.council_code"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(255), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("rotated_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("council_code", "name", name="uq_api_clients_council_name"),
    )
    op.create_index("ix_api_clients_council_code", "api_clients", ["council_code"])
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "client_id", sa.String(40), sa.ForeignKey("api_clients.client_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_api_tokens_client", "api_tokens", ["client_id"])
    op.create_table(
        "api_requests",
        sa.Column(
            "client_id", sa.String(40), sa.ForeignKey("api_clients.client_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "api_states",
        sa.Column("council_code", sa.String(9), sa.ForeignKey("councils.council_code"), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_states")
    op.drop_table("api_requests")
    op.drop_index("ix_api_tokens_client", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("ix_api_clients_council_code", table_name="api_clients")
    op.drop_table("api_clients")
