"""Root-activity alerts: the queue the events come from (``bot.aws.queue``), the events claimed
once across replicas and the alert messages (``bot.store.alerts.AlertStore``, raising
``StoreError`` when the database cannot answer), and the chat side they are told to
(``bot.slack.alerts.SlackAlerts``), with where a message was posted (``Placed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.events.fold import Uses
from bot.events.models import RootActivity
from bot.records.alerts import Alert, Claimed, Folded, Pruned
from bot.records.aws import Received


class AlertRepository(Protocol):
    """Root-activity events claimed once across replicas, and their alert messages (the outbox
    the alerts are posted from; ``bot.store.alerts.AlertStore``)."""

    def claim_event(
        self,
        event_id: str,
        account_id: str,
        activity: str,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> Claimed: ...

    def record_alert(
        self,
        *,
        event_id: str,
        owner: str,
        activity: str,
        account_id: str,
        key_id: str,
        at: datetime,
        now: datetime,
        origin: Sequence[str] = (),
        channel: str | None = None,
        ts: str | None = None,
        threads: Sequence[tuple[str, str]] = (),
        hold_until: datetime | None = None,
    ) -> Alert | None: ...

    def fold_use(
        self,
        *,
        event_id: str,
        owner: str,
        account_id: str,
        key_id: str,
        action: str,
        at: datetime,
        ip: str,
        now: datetime,
        hold_until: datetime | None = None,
    ) -> Folded | None: ...

    def claim_post(
        self,
        alert_id: int,
        owner: str,
        now: datetime,
        stale_before: datetime,
        hold_until: datetime | None = None,
    ) -> str | None: ...

    def release_post(self, alert_id: int, claim: str, retry_at: datetime) -> None: ...

    def set_message(self, alert_id: int, channel: str, ts: str) -> None: ...

    def unposted(self, now: datetime, limit: int) -> list[Alert]: ...

    def get(self, alert_id: int) -> Alert: ...

    def recent(self, account_id: str, since: datetime) -> list[Alert]: ...

    def prune(self, events_before: datetime, alerts_before: datetime) -> Pruned: ...


@dataclass(frozen=True)
class Placed:
    """Where an alert was posted."""

    channel: str
    ts: str


class Queue(Protocol):
    def receive(self) -> list[Received]: ...

    def delete(self, messages: Sequence[Received]) -> list[str]: ...


class AlertNotifier(Protocol):
    """What the use case tells the chat side; ``delivery`` identifies a post across processes,
    ``posted_since`` (a takeover) asks to look for an earlier post of it first."""

    def key_alert(
        self,
        activity: RootActivity,
        account_name: str | None,
        *,
        delivery: str,
        posted_since: datetime | None,
    ) -> Placed | None: ...

    def uses_opened(
        self,
        uses: Uses,
        account_name: str | None,
        *,
        delivery: str,
        posted_since: datetime | None,
    ) -> Placed | None: ...

    def uses_updated(self, placed: Placed, uses: Uses, account_name: str | None) -> None: ...

    def key_deleted(
        self,
        activity: RootActivity,
        account_name: str | None,
        threads: Sequence[Placed],
        *,
        delivery: str | None = None,
        posted_since: datetime | None = None,
    ) -> Placed | None:
        """The note in each of ``threads``; where the notes are once all are in (None: not
        all), ``ts`` the last one's, or empty with no thread."""
        ...


class PostedAlerts(Protocol):
    def posted_since(self, since: datetime, limit: int = 50) -> list[Alert]: ...
