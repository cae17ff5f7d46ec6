"""The query workflow: analysts review explanations (accepted, or rejected with a reason, which
leaves the query open), raise queries of their own (findings with who raised them and when), and
reopen signed-off returns (each undone sign-off kept in `reopenings`).

Revision ID: 0004_queries
Revises: 0003_chasing
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_queries"
down_revision: str | None = "0003_chasing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch: SQLite adds a CHECK constraint (and drops columns) by copying the table
    with op.batch_alter_table("explanations") as batch:
        batch.add_column(sa.Column("review", sa.String(length=10), server_default="pending", nullable=False))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("review_reason", sa.Text(), nullable=True))
        batch.create_check_constraint("ck_explanations_review", "review IN ('pending', 'accepted', 'rejected')")
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("raised_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("raised_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "reopenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reopened_by", sa.String(length=200), nullable=False),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_off_by", sa.String(length=200), nullable=False),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cause IN ('reopened', 'query_raised', 'explanation_rejected')", name="ck_reopenings_cause"),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_reopenings_submission_id"), "reopenings", ["submission_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reopenings_submission_id"), table_name="reopenings")
    op.drop_table("reopenings")
    with op.batch_alter_table("findings") as batch:
        batch.drop_column("raised_at")
        batch.drop_column("raised_by")
    with op.batch_alter_table("explanations") as batch:
        batch.drop_constraint("ck_explanations_review", type_="check")
        batch.drop_column("review_reason")
        batch.drop_column("reviewed_at")
        batch.drop_column("reviewed_by")
        batch.drop_column("review")
