"""The tables ``root_events`` and ``root_alerts``, and a ``root_alerts`` row as the use case sees
it: ``Alert``.

Every row is an alert waiting for its post (``ts`` NULL) or posted: a created or reactivated
key, a key's uses in one 10-minute window (``uses``), or the notes of a deletion in the threads
of the key's alerts. For a key's own event ``origin`` keeps what its message shows that the row
has no column for: the call's source address, then its user agent (``sources``). A deletion's
notes also go in ``threads``: those of the account's open remediation requests when it was
recorded. ``tries`` counts the posts Slack refused, ``next_try_at`` says when one is due again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.events.fold import Uses
from bot.records.alerts import Alert
from bot.store.models import Base, BigId, JsonType, UtcDateTime, table_of


class RootEventRow(Base):
    __tablename__ = "root_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12), nullable=False)
    activity: Mapped[str] = mapped_column(String(16), nullable=False)
    owner: Mapped[str] = mapped_column(String(128), nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    alert_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (Index("ix_root_events_claimed_at", "claimed_at"),)


class RootAlertRow(Base):
    __tablename__ = "root_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    activity: Mapped[str] = mapped_column(String(16), nullable=False)
    account_id: Mapped[str] = mapped_column(String(12), nullable=False)
    key_id: Mapped[str] = mapped_column(String(128), nullable=False)
    event_id: Mapped[str] = mapped_column(String(128), nullable=False)  # the first event
    fold_key: Mapped[str | None] = mapped_column(String(200), unique=True)  # uses only
    window_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    counts: Mapped[dict[str, int]] = mapped_column(JsonType, nullable=False)
    sources: Mapped[list[str]] = mapped_column(JsonType, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    # Revision 0011: refusals so far, when the post is due again, a note's other threads.
    tries: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    next_try_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    threads: Mapped[list[list[str]] | None] = mapped_column(JsonType)

    __table_args__ = (Index("ix_root_alerts_account", "account_id", "created_at"),)


KEY_CHANGES = ("created", "reactivated")  # activities that add an active root key
EVENTS = table_of(RootEventRow)
ALERTS = table_of(RootAlertRow)


def uses_of(row: Any) -> Uses:
    return Uses(
        account_id=row.account_id,
        key_id=row.key_id,
        window=row.window_start,
        first_at=row.first_at,
        last_at=row.last_at,
        counts={str(k): int(v) for k, v in (row.counts or {}).items()},
        sources=tuple(str(s) for s in row.sources or ()),
    )


def alert_of(row: Any) -> Alert:
    window = bool(row.fold_key)
    return Alert(
        id=row.id,
        activity=row.activity,
        account_id=row.account_id,
        key_id=row.key_id,
        event_id=row.event_id,
        uses=uses_of(row) if window else None,
        version=row.version,
        channel=row.channel,
        ts=row.ts,
        created_at=row.created_at,
        at=row.first_at,
        origin=() if window else tuple(str(s) for s in row.sources or ()),
        threads=tuple((str(c), str(t)) for c, t in row.threads or ()),
        tries=int(row.tries or 0),
    )
