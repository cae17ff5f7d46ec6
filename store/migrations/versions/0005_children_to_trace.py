"""Children to trace: the cross-council findings followed up by the councils told about them
(`store.tracing`), one row per stable identity, with their status, resolution and note.

Revision ID: 0005_tracing
Revises: 0004_queries
Create Date: 2026-12-01 22:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_tracing"
down_revision: str | None = "0004_queries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# written out, not imported: a migration never changes after it ships
STATUSES = ("open", "acknowledged", "resolved")
RESOLUTIONS = ("found_recorded", "not_ours", "other")


def upgrade() -> None:
    op.create_table(
        "traced_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=4), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("from_council_code", sa.String(length=9), nullable=False),
        sa.Column("to_council_code", sa.String(length=9), nullable=False),
        sa.Column("from_local_child_id", sa.Text(), nullable=True),
        sa.Column("to_local_child_id", sa.Text(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("birth_month", sa.String(length=7), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("first_seen_on", sa.Date(), nullable=False),
        sa.Column("first_seen_period", sa.String(length=7), nullable=False),
        sa.Column("last_seen_on", sa.Date(), nullable=False),
        sa.Column("last_seen_period", sa.String(length=7), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_by", sa.String(length=200), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="ck_traced_findings_status"),
        sa.CheckConstraint(
            f"resolution IS NULL OR resolution IN {RESOLUTIONS!r}", name="ck_traced_findings_resolution"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identity", name="uq_traced_findings_identity"),
    )
    op.create_index("ix_traced_findings_from", "traced_findings", ["from_council_code", "status"])
    op.create_index("ix_traced_findings_to", "traced_findings", ["to_council_code", "status"])


def downgrade() -> None:
    op.drop_index("ix_traced_findings_to", table_name="traced_findings")
    op.drop_index("ix_traced_findings_from", table_name="traced_findings")
    op.drop_table("traced_findings")
