"""The remediation tables: requests, approvals, risk exceptions and the append-only log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.records.remediation import OPEN_FOR_ACCOUNT
from bot.store.models import Base, BigId, UtcDateTime, table_of

OPEN_WHERE = text("state IN (" + ", ".join(f"'{s.value}'" for s in OPEN_FOR_ACCOUNT) + ")")


class RequestRow(Base):
    __tablename__ = "remediation_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    account_id: Mapped[str] = mapped_column(String(12), nullable=False)
    account_name: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    mode: Mapped[str | None] = mapped_column(String(16))
    requester: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    ticket_url: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(64), nullable=False)
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(64))
    exception_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    state_since: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminded_assignee_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminded_approvers_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(128))  # executing: which process
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    dry_run: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # rev. 0004
    key_prints: Mapped[str | None] = mapped_column(Text)  # rev. 0007: JSON, bot.remediation.keys

    __table_args__ = (
        Index("ix_remediation_requests_state", "state", "kind"),
        Index("ix_remediation_requests_account", "account_id", "state"),
        Index(
            "uq_remediation_requests_open_account",
            "account_id",
            "kind",
            unique=True,
            sqlite_where=OPEN_WHERE,
            postgresql_where=OPEN_WHERE,
        ),
    )


class ApprovalRow(Base):
    __tablename__ = "remediation_approvals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("remediation_requests.id"), nullable=False
    )
    user: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("request_id", "user", name="uq_remediation_approvals_request_user"),
    )


class LogRow(Base):
    __tablename__ = "remediation_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("remediation_requests.id"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    event: Mapped[str] = mapped_column(String(16), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Revision 0006: the account and kind as written, and the line's place in the hash chain.
    account_id: Mapped[str | None] = mapped_column(String(12))
    kind: Mapped[str | None] = mapped_column(String(16))
    hash: Mapped[str | None] = mapped_column(String(64))
    # Revision 0009: the actor's name as the directory gave it (plain text; NULL before).
    actor_name: Mapped[str | None] = mapped_column(String(255))
    # Revision 0010: the terms decided on this line (JSON, bot.remediation.terms; NULL: none).
    terms: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_remediation_log_request", "request_id", "id"),)


class ExceptionRow(Base):
    __tablename__ = "risk_exceptions"

    request_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("remediation_requests.id"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(String(12), nullable=False)
    account_name: Mapped[str | None] = mapped_column(String(255))
    owner: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index("ix_risk_exceptions_account", "account_id", "expires_at"),)


R = table_of(RequestRow)
A = table_of(ApprovalRow)
L = table_of(LogRow)
X = table_of(ExceptionRow)
