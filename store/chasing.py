"""Who to tell, and what was told: each council's contacts, and every message sent.

- `council_contacts`: the e-mail addresses a council's messages go to, managed by the national
  team's administrators (`lscb contacts`, the portal's Contacts page). Removing a contact keeps
  its row (inactive), so the log still says who was written to.
- `messages`: one row per message, keyed by what it is about (`dedupe_key`, e.g.
  `reminder:-14:2025-Q1:E06000001`), so a rerun of any day never sends the same message twice.
  A row is claimed (`pending`) in its own transaction before the message is sent, then marked
  `sent` or `failed`; a later run sends the pending and failed ones again, never the sent ones.
  Rows hold council codes, periods, counts and addresses: never a child identifier or a
  local_child_id (messages never carry one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from store.audit import record
from store.models import Base, UTCDateTime, utcnow
from store.queries import StoreError, check_actor, normalise_council, orm_all, orm_first

MESSAGE_STATUSES = ("pending", "sent", "failed")


class CouncilContact(Base):
    __tablename__ = "council_contacts"
    __table_args__ = (UniqueConstraint("council_code", "email", name="uq_council_contacts_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    council_code: Mapped[str] = mapped_column(ForeignKey("councils.council_code"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class MessageRecord(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_messages_dedupe_key"),
        Index("ix_messages_council_period", "council_code", "period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    council_code: Mapped[str | None] = mapped_column(String(9))
    period: Mapped[str | None] = mapped_column(String(7))
    recipients: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


@dataclass(frozen=True)
class Contact:
    council_code: str
    email: str
    name: str | None
    active: bool


def _email(text: str) -> str:
    address = str(text or "").strip().lower()
    local, at, domain = address.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in address) or len(address) > 254:
        raise StoreError(f"{text!r} is not an e-mail address")
    return address


def add_contact(engine: Engine, council_code: str, email: str, *, name: str | None, by: str) -> Contact:
    """Add (or reactivate) a contact of a council."""
    code, address, actor = normalise_council(council_code), _email(email), check_actor(by, "who adds it")
    with engine.begin() as connection:
        existing: CouncilContact | None = orm_first(
            connection,
            select(CouncilContact).where(CouncilContact.council_code == code, CouncilContact.email == address),
        )
        if existing is None:
            connection.execute(
                insert(CouncilContact),
                {"council_code": code, "email": address, "name": (name or None), "active": True,
                 "created_at": utcnow(), "created_by": actor},
            )  # fmt: skip
        else:
            connection.execute(
                update(CouncilContact).where(CouncilContact.id == existing.id).values(active=True, name=name or None)
            )
        record(connection, actor, "contact_add", council_code=code, detail={"email": address})
    return Contact(code, address, name or None, True)


def remove_contact(engine: Engine, council_code: str, email: str, *, by: str) -> None:
    code, address, actor = normalise_council(council_code), _email(email), check_actor(by, "who removes it")
    with engine.begin() as connection:
        changed = connection.execute(
            update(CouncilContact)
            .where(CouncilContact.council_code == code, CouncilContact.email == address, CouncilContact.active)
            .values(active=False)
        ).rowcount
        if not changed:
            raise StoreError(f"{address} is not a contact of {code}")
        record(connection, actor, "contact_remove", council_code=code, detail={"email": address})


def contacts(engine: Engine, council_code: str | None = None, *, active_only: bool = True) -> list[Contact]:
    """Contacts of one council (or every council), by council then address."""
    query = select(CouncilContact).order_by(CouncilContact.council_code, CouncilContact.email)
    if council_code is not None:
        query = query.where(CouncilContact.council_code == normalise_council(council_code))
    if active_only:
        query = query.where(CouncilContact.active)
    with engine.connect() as connection:
        rows: list[CouncilContact] = orm_all(connection, query)
    return [Contact(r.council_code, r.email, r.name, r.active) for r in rows]


# ---- the message log ------------------------------------------------------------------------------


def claim_message(
    engine: Engine,
    *,
    dedupe_key: str,
    kind: str,
    council_code: str | None,
    period: str | None,
    recipients: list[str],
    subject: str,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Claim the right to send a message: True when it is new, or was pending or failed before
    (a rerun sends it again); False when it was sent already."""
    with engine.begin() as connection:
        existing: MessageRecord | None = orm_first(
            connection, select(MessageRecord).where(MessageRecord.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return existing.status != "sent"
        try:
            with connection.begin_nested():
                connection.execute(
                    insert(MessageRecord),
                    {"dedupe_key": dedupe_key, "kind": kind, "council_code": council_code, "period": period,
                     "recipients": ", ".join(recipients), "subject": subject, "status": "pending",
                     "created_at": utcnow(), "detail": detail},
                )  # fmt: skip
        except IntegrityError:  # a racing run claimed it first
            return False
    return True


def mark_message(engine: Engine, dedupe_key: str, *, sent: bool, error: str | None = None) -> None:
    values: dict[str, Any] = {"status": "sent" if sent else "failed", "error": (error or None)}
    if sent:
        values["sent_at"] = utcnow()
    with engine.begin() as connection:
        connection.execute(update(MessageRecord).where(MessageRecord.dedupe_key == dedupe_key).values(**values))


@dataclass(frozen=True)
class SentMessage:
    dedupe_key: str
    kind: str
    council_code: str | None
    period: str | None
    recipients: str
    subject: str
    status: str
    sent_at: datetime | None


def message_log(
    engine: Engine, *, council_code: str | None = None, period: str | None = None, kind: str | None = None
) -> list[SentMessage]:
    """The messages recorded, oldest first."""
    query = select(MessageRecord).order_by(MessageRecord.id)
    if council_code is not None:
        query = query.where(MessageRecord.council_code == council_code)
    if period is not None:
        query = query.where(MessageRecord.period == period)
    if kind is not None:
        query = query.where(MessageRecord.kind == kind)
    with engine.connect() as connection:
        rows: list[MessageRecord] = orm_all(connection, query)
    return [
        SentMessage(r.dedupe_key, r.kind, r.council_code, r.period, r.recipients, r.subject, r.status, r.sent_at)
        for r in rows
    ]
