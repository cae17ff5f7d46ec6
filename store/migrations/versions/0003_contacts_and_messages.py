"""Chasing councils: each council's contacts, and the log of every message sent (one row per
message, keyed so that a rerun never sends the same message twice). See `store/chasing.py`.

Revision ID: 0003_chasing
Revises: 0002_portal
Create Date: 2026-12-01 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_chasing"
down_revision: str | None = "0002_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "council_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_code", sa.String(length=9), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["council_code"], ["councils.council_code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("council_code", "email", name="uq_council_contacts_email"),
    )
    op.create_index(op.f("ix_council_contacts_council_code"), "council_contacts", ["council_code"], unique=False)
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("council_code", sa.String(length=9), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_messages_dedupe_key"),
    )
    op.create_index("ix_messages_council_period", "messages", ["council_code", "period"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_messages_council_period", table_name="messages")
    op.drop_table("messages")
    op.drop_index(op.f("ix_council_contacts_council_code"), table_name="council_contacts")
    op.drop_table("council_contacts")
