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
        self.at_start: list[tuple[str, Lane, Callable[[], object]]] = []
        self.others: list[Startable] = []
        self.started = False

    def lane(self, name: str, workers: int, max_pending: int | None = None) -> Lane:
        return self.pool.lane(name, workers, max_pending)

    def manage(self, item: Startable) -> None:
        """Start ``item`` first and stop it last, with the rest."""
        self.others.append(item)

    def on_start(self, name: str, lane: Lane, fn: Callable[[], object]) -> None:
        """Run ``fn`` once in ``lane`` when the runtime starts (work left by the last stop)."""
        self.at_start.append((name, lane, fn))

    @property
    def pending(self) -> int:
        """Jobs of every lane reserved, queued or running (scheduled jobs included)."""
        return self.pool.pending

    def wait_idle(self, timeout: float) -> bool:
        return self.pool.wait_idle(timeout)

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        for item in self.others:
            item.start()
        self.scheduler.start()
        for name, lane, fn in self.at_start:
            lane.submit(name, fn)

    def stop(self, wait: bool = True, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the scheduler, then the pool (``wait``: let queued jobs run and join the
        threads; else drop them), then what ``manage`` added."""
        self.scheduler.stop()
        self.pool.stop(wait=wait, timeout=timeout)
        for item in reversed(self.others):
            item.shutdown()
