"""All the bot's background work in one place: one job pool (``pool``), one scheduler
(``schedule``) on one clock (``clock``), started and stopped together.

The scheduler's jobs are the digest's cron and its catch-up (``bot.scheduler``), the
remediation sweep, the digest claims' heartbeats and the events queue's polling; the pool's
lanes run them, and the work after Slack's ack (audits, the remediation work after a click, a
form's checks). ``bot.wiring`` builds one ``Runtime``; ``Services.start`` and
``Services.shutdown`` start and stop it. The use cases see only its ports
(``bot.services.ports``: ``Clock``, ``JobQueue``, ``Timers``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from bot.runtime.clock import SystemClock
from bot.runtime.pool import MAX_THREADS, JobPool, Lane
from bot.runtime.schedule import Scheduled, Scheduler
from bot.services.ports import Clock

__all__ = ["JobPool", "Lane", "Runtime", "Scheduled", "Scheduler", "SystemClock"]

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0  # seconds ``stop(wait=True)`` waits for the pool's threads


class Startable(Protocol):
    """Something else that starts and stops with the bot (the audit's worker processes)."""

    def start(self) -> None: ...

    def shutdown(self) -> None: ...


class Runtime:
    def __init__(self, clock: Clock | None = None, *, max_threads: int = MAX_THREADS) -> None:
        self.clock: Clock = clock or SystemClock()
        self.pool = JobPool(max_threads)
        self.scheduler = Scheduler(self.clock, self.pool)
        self.at_start: list[Callable[[], object]] = []
        self.others: list[Startable] = []
        self.started = False

    def lane(self, name: str, workers: int, max_pending: int | None = None) -> Lane:
        return self.pool.lane(name, workers, max_pending)

    def manage(self, item: Startable) -> None:
        """Start ``item`` before the scheduler; stop it after the scheduler, before the pool."""
        self.others.append(item)

    def on_start(self, fn: Callable[[], object]) -> None:
        """Call ``fn`` once the scheduler runs (to queue work the last stop left)."""
        self.at_start.append(fn)

    @property
    def pending(self) -> int:
        """Jobs of every lane reserved, queued or running (scheduled jobs included)."""
        return self.pool.pending

    def wait_idle(self, timeout: float) -> bool:
        """True once no counted job is pending; False after ``timeout`` seconds."""
        return self.pool.wait_idle(timeout)

    def settle(self, timeout: float = 30.0) -> bool:
        """True once every job due by the clock's time now has been started and has ended
        (and the jobs they scheduled, if due); False after ``timeout`` seconds. What a test
        waits for after moving a ``ManualClock``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if not self.scheduler.caught_up(left) or not self.pool.wait_idle(left):
                return False
            if self.scheduler.caught_up(0) and self.pool.pending == 0:
                return True

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        for item in self.others:
            item.start()
        self.scheduler.start()
        for fn in self.at_start:
            fn()

    def stop(self, wait: bool = True, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the scheduler, then what ``manage`` added (last added first), then the pool
        (``wait``: let queued jobs run and join its threads; else drop them)."""
        self.scheduler.stop()
        for item in reversed(self.others):
            item.shutdown()
        self.pool.stop(wait=wait, timeout=timeout)
