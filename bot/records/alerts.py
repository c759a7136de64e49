"""Root-activity alerts as the use case sees them: an alert message as stored (``Alert``), how a
CloudTrail event's claim went (``Claim``, ``Claimed``), what a folded use did (``Folded``) and what
a prune forgot (``Pruned``). ``bot.store.alerts`` answers with these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

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
    threads: tuple[tuple[str, str], ...] = ()  # a deletion: requests' threads (channel, ts)
    tries: int = 0  # posts Slack refused so far


class Claim(StrEnum):
    NEW = "new"
    DONE = "done"
    BUSY = "busy"
    TAKEN_OVER = "taken_over"


@dataclass(frozen=True)
class Claimed:
    claim: Claim
    since: datetime | None = None  # TAKEN_OVER: when the earlier process claimed it


@dataclass(frozen=True)
class Pruned:
    """What ``prune`` forgot: handled events and alerts, among them ``unposted`` (never
    posted); ``kept``: old key changes still unposted, kept until they are."""

    events: int
    alerts: int
    unposted: list[Alert]
    kept: int


@dataclass(frozen=True)
class Folded:
    alert: Alert
    opened: bool  # this use opened the window: its process posts the message
