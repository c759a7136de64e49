"""What the root-activity alerts use case needs from the outside: the queue it reads and the
chat side it tells (``AlertNotifier``), and where a message was posted (``Placed``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.events.fold import Uses
from bot.events.models import Activity, ApiCall, RootActivity
from bot.records.alerts import Alert
from bot.records.aws import Received


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


def activity_of(alert: Alert) -> RootActivity:
    """A key's event as its stored alert keeps it: enough to build its message again."""
    ip, agent = (*alert.origin, "", "")[:2]
    call = ApiCall(
        event_id=alert.event_id,
        detail_type="AWS API Call via CloudTrail",
        account_id=alert.account_id,
        at=alert.at,
        region="",
        source_ip=ip,
        user_agent=agent,
    )
    return RootActivity(Activity(alert.activity), call, alert.key_id)
