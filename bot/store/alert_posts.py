"""Who posts a root-activity window's message: the claim kept in ``root_alerts.channel``.

While a process posts a window's message, the row's ``channel`` holds its claim,
``~<unix time>~<owner>`` (no Slack channel id starts with ``~``); once posted, the Slack channel
and ``ts``. A window whose post failed is given back (``channel`` NULL) and waits in the store
for the next try. An unposted window may be taken by another process when it was given back,
or when its claim is older than the lease (its process died): ``claimable``. The takeover is a
compare-and-set on the claim, so of any number of processes one posts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def posting(owner: str, since: datetime) -> str:
    """The claim of ``owner``, made at ``since``."""
    return f"~{since.timestamp():.0f}~{owner}"[:64]


def posting_since(channel: str) -> datetime | None:
    """When the claim ``channel`` was made; None when it names no time (an older version's)."""
    stamp = channel.split("~")[1] if channel.count("~") >= 2 else ""
    return datetime.fromtimestamp(int(stamp), UTC) if stamp.isdigit() else None


def claimable(row: Any, stale_before: datetime) -> bool:
    """An unposted window's post may be taken: given back (no channel), or claimed before
    ``stale_before`` (a claim naming no time: the window created before it)."""
    channel: str | None = row.channel
    if channel is None or not channel.startswith("~"):
        return channel is None
    since = posting_since(channel)
    return (since if since is not None else row.created_at) < stale_before
