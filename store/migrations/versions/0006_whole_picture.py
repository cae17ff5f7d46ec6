"""X6, the whole picture: a case's combined picture (which warning signs other councils recorded,
where and when; never their ids) kept with it, and the resolutions a council gives one ("already
known", "acted on") beside those of the other rules.

Revision ID: 0006_picture
Revises: 0005_tracing
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_picture"
down_revision: str | None = "0005_tracing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# written out, not imported: a migration never changes after it ships
BEFORE = ("found_recorded", "not_ours", "other")
AFTER = ("found_recorded", "not_ours", "already_known", "acted_on", "other")


def _resolutions(batch: object, allowed: tuple[str, ...]) -> None:
    batch.drop_constraint("ck_traced_findings_resolution", type_="check")  # type: ignore[attr-defined]
    batch.create_check_constraint(  # type: ignore[attr-defined]
        "ck_traced_findings_resolution", f"resolution IS NULL OR resolution IN {allowed!r}"
    )


def upgrade() -> None:
    with op.batch_alter_table("traced_findings") as batch:
        batch.add_column(sa.Column("picture", sa.JSON(), nullable=True))
        _resolutions(batch, AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM traced_findings WHERE rule = 'X6'")
    op.execute("UPDATE traced_findings SET resolution = 'other' WHERE resolution IN ('already_known', 'acted_on')")
    with op.batch_alter_table("traced_findings") as batch:
        _resolutions(batch, BEFORE)
        batch.drop_column("picture")
