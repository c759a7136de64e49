"""The tables of audit history and digest slots (SQLAlchemy 2 declarative models).

Times are stored as naive UTC (``UtcDateTime``) so that SQLite and PostgreSQL compare them the
same way; they come back timezone-aware. Other parts of rootkey add their tables to the same
``Base`` (and their own Alembic revision after ``0001``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# JSON on SQLite, JSONB on PostgreSQL.
JsonType = JSON().with_variant(JSONB(), "postgresql")
# An autoincrementing 64-bit key on PostgreSQL that stays SQLite's INTEGER PRIMARY KEY (rowid).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC instant: stored naive (UTC), returned aware."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs a timezone-aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # a raw SQLite string (e.g. from an aggregate)
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class RunRow(Base):
    """One audit: when, what, why (trigger) and who asked."""

    __tablename__ = "audit_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    scope: Mapped[str] = mapped_column(String(16), nullable=False)  # account/org/accounts/reports
    trigger: Mapped[str] = mapped_column(String(16), nullable=False)  # command/schedule/recheck
    requested_by: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    compliant: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    noncompliant: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    errors: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    features: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    __table_args__ = (Index("ix_audit_runs_finished_at", "finished_at"),)


class VerdictRow(Base):
    """One account's verdict in one run, with the evidence it stands on."""

    __tablename__ = "audit_verdicts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("audit_runs.id", ondelete="CASCADE"), nullable=False
    )
    account_id: Mapped[str] = mapped_column(String(12), nullable=False)
    account_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(255), nullable=False)
    keys: Mapped[list[dict[str, Any]]] = mapped_column(JsonType, nullable=False)
    root_mfa_active: Mapped[bool | None] = mapped_column(Boolean)
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonType, nullable=False)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        # Covering indexes: an account's history (streaks, last change, timeline) and the
        # day-by-day trend are read from the index alone, never from the wide rows, in the
        # order they are walked (checked_at, then id), so nothing is sorted again.
        Index("ix_audit_verdicts_account_history", "account_id", "checked_at", "id", "status"),
        Index("ix_audit_verdicts_time_account", "checked_at", "account_id", "status"),
        Index("ix_audit_verdicts_run", "run_id", "account_id"),
    )


class StatusChangeRow(Base):
    """A verdict whose status differs from the account's verdict before it (by checked_at,
    then id), or its first: each account's history in a few rows instead of one per audit.
    Written with the verdicts (``bot.store.changes``); the digest's streaks and trend read it."""

    __tablename__ = "audit_status_changes"

    verdict_id: Mapped[int] = mapped_column(
        BigId,
        ForeignKey("audit_verdicts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    account_id: Mapped[str] = mapped_column(String(12), nullable=False)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)

    __table_args__ = (
        Index(
            "ix_audit_status_changes_account",
            "account_id",
            "checked_at",
            "verdict_id",
            "status",
        ),
        Index("ix_audit_status_changes_time", "checked_at", "account_id", "status"),
    )


class DigestSlotRow(Base):
    """A scheduled digest for one channel and one cron slot: claimed once across processes."""

    __tablename__ = "digest_slots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(64), nullable=False)
    slot_time: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)  # claimed / posted / failed
    claimed_by: Mapped[str] = mapped_column(String(255), nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    run_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("audit_runs.id", ondelete="SET NULL")
    )
    baseline_run_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("audit_runs.id", ondelete="SET NULL")
    )
    message_ts: Mapped[str | None] = mapped_column(String(32))
    posted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("slot_time", "channel", name="uq_digest_slots_slot_channel"),
        Index("ix_digest_slots_channel_state", "channel", "state", "slot_time"),
    )


def table_of(model: type[Base]) -> Table:
    """The Core table of a declarative model (typed, for insert/update/select)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
