"""What the AWS adapters answer with, as the use cases read it: a root key as the root session
sees it (``bot.aws.root``), a message received from the root-activity queue (``bot.aws.queue``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.audit.models import mask_key_id


@dataclass(frozen=True)
class RootKey:
    """A root access key as the root session sees it, with its last use."""

    key_id: str
    active: bool
    created: datetime | None = None
    last_used_date: datetime | None = None
    last_used_region: str | None = None
    last_used_service: str | None = None

    @property
    def masked(self) -> str:
        return mask_key_id(self.key_id)

    def describe(self) -> str:
        """``AKIA************0001 (active, created 2020-01-01, last used 2026-11-02 in
        eu-west-1 by s3)`` -- the key id masked."""
        parts = ["active" if self.active else "inactive"]
        if self.created:
            parts.append(f"created {self.created:%Y-%m-%d}")
        if self.last_used_date:
            where = f" in {self.last_used_region}" if self.last_used_region else ""
            by = f" by {self.last_used_service}" if self.last_used_service else ""
            parts.append(f"last used {self.last_used_date:%Y-%m-%d}{where}{by}")
        else:
            parts.append("never used")
        return f"{self.masked} ({', '.join(parts)})"


@dataclass(frozen=True)
class Received:
    message_id: str
    receipt: str
    body: str
    receive_count: int  # ApproximateReceiveCount: 1 on the first delivery
