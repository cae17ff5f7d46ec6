"""The project's database tables (SQLAlchemy 2, typed declarative).

Fixed tables (councils, periods, submissions, findings, explanations, reopenings, audit log) are
written out here. The fact tables and `child_records` get one column per field of the standard, generated
from `schemas/standard/*.yaml` (every field of every known version, so a field added in 1.1 is a
new column and needs a new Alembic revision; `tests/integration/test_store_migrations.py`
fails while the models and the migrations disagree).

Raw identifiers never have a column: `upn` and `nhs_number` become `upn_key` / `nhs_key`
(HMAC-SHA256 hex) and `date_of_birth` becomes `birth_month` (first day of the month).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from schemas.lifecycle import EXPLANATION_REVIEWS, REOPEN_CAUSES, SUBMISSION_STATUSES
from schemas.standard import Field, available_versions, load_standard

KEY_LENGTH = 64  # hex HMAC-SHA256


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone: store UTC, read UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class Council(Base):
    """The council register with its code history (seeded from `schemas/register`)."""

    __tablename__ = "councils"

    council_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    la_number: Mapped[str] = mapped_column(String(3), index=True)
    name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(9))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    lineage_id: Mapped[str] = mapped_column(String(9), index=True)  # latest code through recodes


class CouncilLink(Base):
    """A reorganisation: recode (same council, new code), merge or split."""

    __tablename__ = "council_links"
    __table_args__ = (UniqueConstraint("predecessor_code", "successor_code", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    predecessor_code: Mapped[str] = mapped_column(ForeignKey("councils.council_code"))
    successor_code: Mapped[str] = mapped_column(ForeignKey("councils.council_code"))
    kind: Mapped[str] = mapped_column(String(10))
    effective_on: Mapped[date] = mapped_column(Date)


class ReportingPeriod(Base):
    """A quarter (standard section 1); rows are added as returns for them arrive."""

    __tablename__ = "periods"

    code: Mapped[str] = mapped_column(String(7), primary_key=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)


class CouncilPeriod(Base):
    """One row per council and period that ever received an upload: the lock that keeps versions
    gapless and ordered (`SELECT ... FOR UPDATE` on PostgreSQL) and the last version handed out."""

    __tablename__ = "council_periods"

    council_code: Mapped[str] = mapped_column(ForeignKey("councils.council_code"), primary_key=True)
    period: Mapped[str] = mapped_column(ForeignKey("periods.code"), primary_key=True)
    last_version: Mapped[int] = mapped_column(Integer, default=0)


class Submission(Base):
    """One distinct upload (rejected ones included): version 1, 2, 3 ... per council and period."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("council_code", "period", "version", name="uq_submissions_version"),
        UniqueConstraint("council_code", "period", "checksum", name="uq_submissions_checksum"),
        CheckConstraint(f"status IN {SUBMISSION_STATUSES!r}", name="ck_submissions_status"),
        CheckConstraint("version >= 1", name="ck_submissions_version"),
        Index("ix_submissions_council_period", "council_code", "period"),
        Index("ix_submissions_period_status", "period", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    council_code: Mapped[str] = mapped_column(ForeignKey("councils.council_code"))
    period: Mapped[str] = mapped_column(ForeignKey("periods.code"))
    version: Mapped[int] = mapped_column(Integer)
    checksum: Mapped[str] = mapped_column(String(64))  # sha256 hex of the uploaded bytes
    source_name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(10))  # xlsx | csv
    size_bytes: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))
    late: Mapped[bool] = mapped_column(Boolean)
    standard_version: Mapped[str] = mapped_column(String(10))
    errors: Mapped[int] = mapped_column(Integer)
    queries: Mapped[int] = mapped_column(Integer)
    signed_off_by: Mapped[str | None] = mapped_column(String(200))
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FindingRecord(Base):
    """A finding of validation, kept with the version it was made on."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    rule: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(1))
    sheet: Mapped[str | None] = mapped_column(String(40))
    cell: Mapped[str | None] = mapped_column(String(60))
    field: Mapped[str | None] = mapped_column(String(80))
    local_child_id: Mapped[str | None] = mapped_column(Text)  # as written, even when too long
    message: Mapped[str] = mapped_column(Text)
    row: Mapped[int | None] = mapped_column(Integer)
    # set for a query an analyst raised by hand (rule scope `analyst`); None for validation's findings
    raised_by: Mapped[str | None] = mapped_column(String(200))
    raised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Explanation(Base):
    """A council's explanation of a query finding (rule + Excel row) of one version, and an
    analyst's review of it (a rejected one leaves the query open: `store.queries.query_is_open`)."""

    __tablename__ = "explanations"
    __table_args__ = (
        UniqueConstraint("submission_id", "rule", "row", name="uq_explanations_finding"),
        CheckConstraint(f"review IN {EXPLANATION_REVIEWS!r}", name="ck_explanations_review"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    rule: Mapped[str] = mapped_column(String(20))
    row: Mapped[int | None] = mapped_column(Integer)
    cell: Mapped[str | None] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text)
    explained_by: Mapped[str] = mapped_column(String(200))
    explained_at: Mapped[datetime] = mapped_column(UTCDateTime())
    review: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_reason: Mapped[str | None] = mapped_column(Text)  # why it was rejected, shown to the council


class Reopening(Base):
    """A signed-off version taken back to accepted: the sign-off it undid, who reopened it, when,
    why (`cause`: schemas.lifecycle.REOPEN_CAUSES) and the reason the council is shown."""

    __tablename__ = "reopenings"
    __table_args__ = (CheckConstraint(f"cause IN {REOPEN_CAUSES!r}", name="ck_reopenings_cause"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    cause: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    reopened_by: Mapped[str] = mapped_column(String(200))
    reopened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_off_by: Mapped[str] = mapped_column(String(200))
    signed_off_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Append-only log of every state change (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_council_period", "council_code", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    council_code: Mapped[str | None] = mapped_column(String(9))
    period: Mapped[str | None] = mapped_column(String(7))
    submission_id: Mapped[int | None] = mapped_column(Integer)  # no FK: a log outlives what it names
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# ---- tables generated from the standard ---------------------------------------------------------

# Children fields replaced before storage (raw identifiers, full date of birth) -> stored column.
REPLACED_CHILD_FIELDS = {"upn": "upn_key", "nhs_number": "nhs_key", "date_of_birth": "birth_month"}
CHILD_FIXED_COLUMNS = ("id", "submission_id", "council_code", "period", "row", *REPLACED_CHILD_FIELDS.values())
FACT_SHEETS = {"About": "about_facts", "Strategy": "strategy_facts", "Activity": "activity_facts"}


def standard_fields(sheet: str) -> list[Field]:
    """Every field a sheet has had in any known version of the standard, first seen first."""
    seen: dict[str, Field] = {}
    for version in sorted(available_versions(), key=lambda v: tuple(int(p) for p in v.split("."))):
        standard = load_standard(version)
        if sheet in standard.sheet_names:
            for f in standard.sheet(sheet).fields:
                seen.setdefault(f.name, f)
    return list(seen.values())


def column_type(f: Field) -> TypeEngine[Any]:
    """The SQL type for a field of the standard."""
    standard = load_standard(f.since) if f.since in available_versions() else load_standard()
    if f.type == "date":
        return Date()
    if f.type == "integer":
        return Integer()
    if f.type == "code" and f.codes:
        return String(max(len(code) for code in standard.code_lists[f.codes].codes))
    fixed = {"gss_code": 9, "la_number": 3, "period": 7, "email": 320}
    if f.type in fixed:
        return String(fixed[f.type])
    return String(f.max_length or 200)


def _fact_table(sheet: str, table_name: str) -> Table:
    columns: list[Column[Any]] = [
        Column("submission_id", Integer, ForeignKey("submissions.id"), primary_key=True),
    ]
    columns += [Column(f.name, column_type(f), nullable=True) for f in standard_fields(sheet)]
    return Table(table_name, Base.metadata, *columns)


def _child_table() -> Table:
    columns: list[Column[Any]] = [
        Column("id", Integer, primary_key=True),
        Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False, index=True),
        Column("council_code", String(9), nullable=False),
        Column("period", String(7), nullable=False),
        Column("row", Integer, nullable=False),  # Excel row in the council's file, for feedback
        Column("upn_key", String(KEY_LENGTH), nullable=True, index=True),
        Column("nhs_key", String(KEY_LENGTH), nullable=True, index=True),
        Column("birth_month", Date, nullable=True),
    ]
    for f in standard_fields("Children"):
        if f.identifier or f.name in REPLACED_CHILD_FIELDS:
            continue
        columns.append(Column(f.name, column_type(f), nullable=f.name != "local_child_id"))
    return Table(
        "child_records",
        Base.metadata,
        *columns,
        Index("ix_child_records_council_period", "council_code", "period"),
    )


about_facts = _fact_table("About", FACT_SHEETS["About"])
strategy_facts = _fact_table("Strategy", FACT_SHEETS["Strategy"])
activity_facts = _fact_table("Activity", FACT_SHEETS["Activity"])
child_records = _child_table()
FACT_TABLES: dict[str, Table] = {"About": about_facts, "Strategy": strategy_facts, "Activity": activity_facts}


class AboutFact(Base):
    __table__ = about_facts


class StrategyFact(Base):
    __table__ = strategy_facts


class ActivityFact(Base):
    __table__ = activity_facts


class ChildRecord(Base):
    __table__ = child_records


def stored_child_fields() -> list[str]:
    """Children columns copied as they are (everything but ids and replaced fields)."""
    return [c.name for c in child_records.columns if c.name not in CHILD_FIXED_COLUMNS]


def utcnow() -> datetime:
    return datetime.now(UTC)
