"""A ``root_alerts`` row as the use case sees it: ``Alert``.

Every row is an alert waiting for its post (``ts`` NULL) or posted: a created or reactivated
key, a key's uses in one 10-minute window (``uses``), or the notes of a deletion in the threads
of the key's alerts. For a key's own event ``origin`` keeps what its message shows that the row
has no column for: the call's source address, then its user agent (``sources``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.events.fold import Uses

NOTES = "deleted"  # a deletion's row: notes in threads, never an alert of its own


@dataclass(frozen=True)
class Alert:
    """An alert message as stored: where it is (once posted) and, for uses, the fold."""

    id: int
    activity: str
    account_id: str
    key_id: str
    event_id: str
    uses: Uses | None
    version: int
    channel: str | None
    ts: str | None
    created_at: datetime
    at: datetime  # the event's time (for uses, the window's first)
    origin: tuple[str, ...] = ()  # a key's event: its source address, then its user agent


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
    )
