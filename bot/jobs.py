"""The guard against repeated requests (``MemoryGuard`` in one process, ``SharedGuard`` across
replicas on one database), for work that happens after Slack's 3-second ack.

The guard has two steps. ``first_time`` runs before the ack and answers from this process's
memory only (no I/O): a repeat reaching the same process gets an empty ack. ``claim`` runs
after the ack, just before the work starts (an audit, a digest, a click's effect): with a
database it records the key there, so a repeat that reached another replica was acknowledged
normally but starts nothing and posts nothing.

The work itself runs in a lane of the bot's job pool (``bot.runtime``), never in Bolt's listener
threads, so a slow Organization scan can never delay the next command's ack; when the lane is
full the command is told so at once instead of waiting in an unbounded queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Protocol

from bot.services.ports import RequestGuard
from bot.store.records import StoreError

log = logging.getLogger(__name__)

__all__ = ["Claims", "MemoryGuard", "RequestGuard", "SharedGuard"]


class MemoryGuard:
    """Keys seen in the last ``ttl`` seconds, in this process."""

    def __init__(self, ttl: float = 900.0, max_keys: int = 50_000) -> None:
        self.ttl = ttl
        self.max_keys = max_keys
        self.seen: OrderedDict[str, float] = OrderedDict()
        self.lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        now = time.monotonic()
        with self.lock:
            while self.seen and (
                next(iter(self.seen.values())) < now - self.ttl or len(self.seen) > self.max_keys
            ):
                self.seen.popitem(last=False)
            if key in self.seen:
                return False
            self.seen[key] = now
            return True

    def claim(self, key: str) -> bool:
        # One process: ``first_time`` already let exactly one delivery of ``key`` through.
        return True


class Claims(Protocol):
    def claim(self, key: str) -> bool:
        """True for the one process, of all sharing the database, that records ``key`` first."""
        ...


class SharedGuard:
    """Repeats caught across bot replicas on one database.

    Before the ack this process's memory answers (a repeat reaching the same process costs no
    database call, and no ack ever waits for the database). After the ack ``claim`` records
    the key in the store, which every replica sees; only the process whose claim succeeds does
    the work. When the database cannot answer in time the work goes ahead, deduplicated in this
    process only: a rare second audit is better than a command silently dropped.
    """

    def __init__(self, claims: Claims, memory: MemoryGuard | None = None) -> None:
        self.claims = claims
        self.memory = memory or MemoryGuard()

    def first_time(self, key: str) -> bool:
        return self.memory.first_time(key)

    def claim(self, key: str) -> bool:
        try:
            first = self.claims.claim(key)
        except StoreError as exc:
            log.warning("request not claimed in the database (%s); checked in this process", exc)
            return True
        if not first:
            log.info("a repeated request was claimed by another process: nothing started")
        return first
