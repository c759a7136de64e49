"""Uses of one root key in one account fold into one message per 10-minute window.

Windows are aligned on the clock (10:40-10:50 UTC, by CloudTrail's ``eventTime``), so every
replica puts a use into the same window without asking the others; the store keeps one row per
(account, key, window) and counts each event once. The message says "used 14 times since
10:42: s3:ListBuckets ×9, ..." and is updated in place as uses arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

WINDOW = timedelta(minutes=10)
MAX_SOURCES = 5  # distinct source IPs kept per window


def window_of(at: datetime) -> datetime:
    """The start of the 10-minute window ``at`` falls in (UTC)."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 10, second=0, microsecond=0)


@dataclass(frozen=True)
class Uses:
    """A key's uses in one window: counts per action, when, and from where."""

    account_id: str
    key_id: str
    window: datetime
    first_at: datetime
    last_at: datetime
    counts: dict[str, int] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @classmethod
    def first(cls, account_id: str, key_id: str, action: str, at: datetime, ip: str) -> Uses:
        return cls(
            account_id=account_id,
            key_id=key_id,
            window=window_of(at),
            first_at=at,
            last_at=at,
            counts={action: 1},
            sources=(ip,) if ip else (),
        )

    def add(self, action: str, at: datetime, ip: str) -> Uses:
        """One more use (an event of this window; the caller counts each event once)."""
        counts = dict(self.counts)
        counts[action] = counts.get(action, 0) + 1
        sources = self.sources
        if ip and ip not in sources and len(sources) < MAX_SOURCES:
            sources = (*sources, ip)
        return replace(
            self,
            counts=counts,
            sources=sources,
            first_at=min(self.first_at, at),
            last_at=max(self.last_at, at),
        )

    def ranked(self) -> list[tuple[str, int]]:
        """Actions by count, most first (then by name, so the order is stable)."""
        return sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
