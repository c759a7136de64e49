"""Root-activity alerts: the events claimed once across replicas and the alert messages
(``bot.store.alerts.AlertStore``). Raises ``StoreError`` when the database cannot answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.records.alerts import Alert, Claimed, Folded, Pruned


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
