"""Initial tables: register, periods, versioned submissions, findings, explanations, facts,
child records (pseudonymised) and the append-only audit log.

Fact and child columns are those of standard 1.0, written out (a migration never changes after
it ships; a 1.1 field is a new revision).

Revision ID: 0001
Revises:
Create Date: 2026-11-25 05:59:38.588512
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# audit_log is append-only: the database itself refuses UPDATE, DELETE (and TRUNCATE on PostgreSQL).
PG_APPEND_ONLY = [
    """
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
    END;
    $$
    """,
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]
SQLITE_APPEND_ONLY = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END",
]


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    statements = PG_APPEND_ONLY if dialect == "postgresql" else SQLITE_APPEND_ONLY if dialect == "sqlite" else []
    for statement in statements:
        op.execute(statement)


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("council_code", sa.String(length=9), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_council_period", "audit_log", ["council_code", "period"])
    _append_only_triggers()

    op.create_table(
        "councils",
        sa.Column("council_code", sa.String(length=9), nullable=False),
        sa.Column("la_number", sa.String(length=3), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=9), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("lineage_id", sa.String(length=9), nullable=False),
        sa.PrimaryKeyConstraint("council_code"),
    )
    op.create_index(op.f("ix_councils_la_number"), "councils", ["la_number"])
    op.create_index(op.f("ix_councils_lineage_id"), "councils", ["lineage_id"])

    op.create_table(
        "periods",
        sa.Column("code", sa.String(length=7), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "council_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("predecessor_code", sa.String(length=9), nullable=False),
        sa.Column("successor_code", sa.String(length=9), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["predecessor_code"],
            ["councils.council_code"],
        ),
        sa.ForeignKeyConstraint(
            ["successor_code"],
            ["councils.council_code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("predecessor_code", "successor_code", "kind"),
    )
    op.create_table(
        "council_periods",
        sa.Column("council_code", sa.String(length=9), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["council_code"],
            ["councils.council_code"],
        ),
        sa.ForeignKeyConstraint(
            ["period"],
            ["periods.code"],
        ),
        sa.PrimaryKeyConstraint("council_code", "period"),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("council_code", sa.String(length=9), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("standard_version", sa.String(length=10), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("queries", sa.Integer(), nullable=False),
        sa.Column("signed_off_by", sa.String(length=200), nullable=True),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('rejected', 'accepted', 'signed_off')", name="ck_submissions_status"),
        sa.CheckConstraint("version >= 1", name="ck_submissions_version"),
        sa.ForeignKeyConstraint(
            ["council_code"],
            ["councils.council_code"],
        ),
        sa.ForeignKeyConstraint(
            ["period"],
            ["periods.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("council_code", "period", "checksum", name="uq_submissions_checksum"),
        sa.UniqueConstraint("council_code", "period", "version", name="uq_submissions_version"),
    )
    op.create_index("ix_submissions_council_period", "submissions", ["council_code", "period"])
    op.create_index("ix_submissions_period_status", "submissions", ["period", "status"])

    op.create_table(
        "about_facts",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("standard_version", sa.String(length=200), nullable=True),
        sa.Column("council_code", sa.String(length=9), nullable=True),
        sa.Column("la_number", sa.String(length=3), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("prepared_by_email", sa.String(length=320), nullable=True),
        sa.Column("signed_off_by", sa.String(length=200), nullable=True),
        sa.Column("signed_off_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("submission_id"),
    )
    op.create_table(
        "activity_facts",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("children_newly_identified", sa.Integer(), nullable=True),
        sa.Column("children_open_at_end", sa.Integer(), nullable=True),
        sa.Column("referrals_to_police", sa.Integer(), nullable=True),
        sa.Column("missing_episodes", sa.Integer(), nullable=True),
        sa.Column("children_missing", sa.Integer(), nullable=True),
        sa.Column("return_interviews_offered", sa.Integer(), nullable=True),
        sa.Column("return_interviews_within_72h", sa.Integer(), nullable=True),
        sa.Column("abduction_warning_notices", sa.Integer(), nullable=True),
        sa.Column("investigations_started", sa.Integer(), nullable=True),
        sa.Column("charges", sa.Integer(), nullable=True),
        sa.Column("convictions", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("submission_id"),
    )
    op.create_table(
        "child_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("council_code", sa.String(length=9), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("upn_key", sa.String(length=64), nullable=True),
        sa.Column("nhs_key", sa.String(length=64), nullable=True),
        sa.Column("birth_month", sa.Date(), nullable=True),
        sa.Column("local_child_id", sa.String(length=36), nullable=False),
        sa.Column("no_id_reason", sa.String(length=19), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("ethnicity", sa.String(length=4), nullable=True),
        sa.Column("identified_on", sa.Date(), nullable=True),
        sa.Column("risk_level", sa.String(length=6), nullable=True),
        sa.Column("looked_after", sa.String(length=1), nullable=True),
        sa.Column("missing_episodes", sa.Integer(), nullable=True),
        sa.Column("ind_missing", sa.String(length=1), nullable=True),
        sa.Column("ind_unexplained_injury", sa.String(length=1), nullable=True),
        sa.Column("ind_sti", sa.String(length=1), nullable=True),
        sa.Column("ind_pregnancy", sa.String(length=1), nullable=True),
        sa.Column("ind_offending", sa.String(length=1), nullable=True),
        sa.Column("ind_truancy", sa.String(length=1), nullable=True),
        sa.Column("ind_substance_misuse", sa.String(length=1), nullable=True),
        sa.Column("ind_gang_association", sa.String(length=1), nullable=True),
        sa.Column("return_interview_offered", sa.String(length=1), nullable=True),
        sa.Column("referred_to_police", sa.String(length=1), nullable=True),
        sa.Column("moved_from_council", sa.String(length=9), nullable=True),
        sa.Column("moved_from_child_id", sa.String(length=36), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closure_reason", sa.String(length=12), nullable=True),
        sa.Column("moved_to_council", sa.String(length=9), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_child_records_council_period", "child_records", ["council_code", "period"])
    op.create_index(op.f("ix_child_records_nhs_key"), "child_records", ["nhs_key"])
    op.create_index(op.f("ix_child_records_submission_id"), "child_records", ["submission_id"])
    op.create_index(op.f("ix_child_records_upn_key"), "child_records", ["upn_key"])

    op.create_table(
        "explanations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("cell", sa.String(length=60), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("explained_by", sa.String(length=200), nullable=False),
        sa.Column("explained_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", "rule", "row", name="uq_explanations_finding"),
    )
    op.create_index(op.f("ix_explanations_submission_id"), "explanations", ["submission_id"])

    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=1), nullable=False),
        sa.Column("sheet", sa.String(length=40), nullable=True),
        sa.Column("cell", sa.String(length=60), nullable=True),
        sa.Column("field", sa.String(length=80), nullable=True),
        sa.Column("local_child_id", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_findings_submission_id"), "findings", ["submission_id"])

    op.create_table(
        "strategy_facts",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("cse_strategy", sa.String(length=8), nullable=True),
        sa.Column("strategy_reviewed_on", sa.Date(), nullable=True),
        sa.Column("cse_lead_named", sa.String(length=1), nullable=True),
        sa.Column("multi_agency_team", sa.String(length=10), nullable=True),
        sa.Column("team_police", sa.String(length=1), nullable=True),
        sa.Column("team_health", sa.String(length=1), nullable=True),
        sa.Column("team_social_care", sa.String(length=1), nullable=True),
        sa.Column("team_education", sa.String(length=1), nullable=True),
        sa.Column("team_youth_justice", sa.String(length=1), nullable=True),
        sa.Column("team_voluntary", sa.String(length=1), nullable=True),
        sa.Column("info_sharing_protocol", sa.String(length=6), nullable=True),
        sa.Column("protocol_includes_health", sa.String(length=1), nullable=True),
        sa.Column("staff_trained", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.PrimaryKeyConstraint("submission_id"),
    )


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_table("strategy_facts")
    op.drop_index(op.f("ix_findings_submission_id"), table_name="findings")

    op.drop_table("findings")
    op.drop_index(op.f("ix_explanations_submission_id"), table_name="explanations")

    op.drop_table("explanations")
    op.drop_index(op.f("ix_child_records_upn_key"), table_name="child_records")
    op.drop_index(op.f("ix_child_records_submission_id"), table_name="child_records")
    op.drop_index(op.f("ix_child_records_nhs_key"), table_name="child_records")
    op.drop_index("ix_child_records_council_period", table_name="child_records")

    op.drop_table("child_records")
    op.drop_table("activity_facts")
    op.drop_table("about_facts")
    op.drop_index("ix_submissions_period_status", table_name="submissions")
    op.drop_index("ix_submissions_council_period", table_name="submissions")

    op.drop_table("submissions")
    op.drop_table("council_periods")
    op.drop_table("council_links")
    op.drop_table("periods")
    op.drop_index(op.f("ix_councils_lineage_id"), table_name="councils")
    op.drop_index(op.f("ix_councils_la_number"), table_name="councils")

    op.drop_table("councils")
    op.drop_index("ix_audit_log_council_period", table_name="audit_log")

    op.drop_table("audit_log")
