"""Time and background work (``bot.runtime`` implements these; ``simulator.clock.ManualClock``
is the clock tests move by hand).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """The time the use cases and the schedule go by: ``bot.runtime.SystemClock`` in the bot,
    ``simulator.clock.ManualClock`` (moved by hand) in tests. Services take ``clock.now``."""

    def now(self) -> datetime:
        """The time now, in UTC."""
        ...

    def sleep_until(self, when: datetime | None, wake: threading.Event) -> bool:
        """Wait until ``when`` (for ever when None), or until ``wake`` is set; True when the
        time came. ``wake`` is a cue to look again, set by whoever has news for the sleeper
        (a job added, the bot stopping, a clock moved by hand): never a reason by itself."""
        ...


class JobQueue(Protocol):
    """Work that runs after the caller returns, in a bounded lane of the bot's job pool
    (``bot.runtime``): named, counted while pending, refused when full or stopping."""

    @property
    def pending(self) -> int:
        """Jobs reserved, queued or running."""
        ...

    def submit(self, name: str, fn: Callable[[], object]) -> bool:
        """Queue ``fn``; False (and nothing queued) when full or stopping."""
        ...

    def reserve(self, name: str) -> bool:
        """Count one job as pending before it is queued; False when full or stopping."""
        ...

    def run_reserved(self, name: str, fn: Callable[[], object]) -> bool:
        """Queue ``fn`` in a slot ``reserve`` took; False when stopping (slot given back)."""
        ...

    def release(self) -> None:
        """Give back a slot ``reserve`` took, for a job that will not be queued."""
        ...


class Timers(Protocol):
    """Work at a later time by the clock (``bot.runtime``'s scheduler)."""

    def later(self, name: str, delay: timedelta, fn: Callable[[], object]) -> None:
        """Run ``fn`` once, ``delay`` from now."""
        ...


class Deadline(Protocol):
    """Work the caller waits for, and may give up on (a submitted form's checks, within
    Slack's 3 seconds): run in a lane of the bot's job pool (``bot.runtime``)."""

    def within(self, seconds: float, fn: Callable[[], T]) -> T:
        """``fn``'s result; ``TimeoutError`` when it takes longer than ``seconds`` (it may
        still finish, unheard), ``RuntimeError`` when the lane refuses it (full, stopping)."""
        ...


class DigestSchedule(Protocol):
    """When the scheduled digest is posted (``bot.scheduler.CronSchedule``)."""

    def next_digest(self, after: datetime) -> datetime | None:
        """The next digest's time after ``after``; None when its schedule never fires."""
        ...
