"""Work that happens after Slack's 3-second ack: a bounded pool, and a guard against repeats
(``MemoryGuard`` in one process, ``SharedGuard`` across replicas on one database).

The guard has two steps. ``first_time`` runs before the ack and answers from this process's
memory only (no I/O): a repeat reaching the same process gets an empty ack. ``claim`` runs
after the ack, just before the work starts (an audit, a digest, a click's effect): with a
database it records the key there, so a repeat that reached another replica was acknowledged
normally but starts nothing and posts nothing.

Audits run in their own small pool, never in Bolt's listener threads, so a slow Organization
scan can never delay the next command's ack. When the pool is full the command is told so at
once instead of waiting in an unbounded queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from bot.store.records import StoreError

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self, workers: int = 4, max_pending: int = 32) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rootkey-job")
        self.max_pending = max_pending
        self.pending = 0
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)

    def submit(self, name: str, fn: Callable[[], None]) -> bool:
        """Queue ``fn``; False (and nothing queued) when ``max_pending`` jobs are waiting."""
        return self.reserve(name) and self.run_reserved(name, fn)

    def reserve(self, name: str) -> bool:
        """Count one job as pending before it is queued (``run_reserved`` queues it later);
        False when ``max_pending`` jobs are waiting."""
        with self.lock:
            if self.pending >= self.max_pending:
                log.warning("job %s refused: %d jobs pending", name, self.pending)
                return False
            self.pending += 1
            return True

    def run_reserved(self, name: str, fn: Callable[[], None]) -> bool:
        """Queue ``fn`` in a slot taken by ``reserve``; False when stopping (slot given back)."""

        def run() -> None:
            try:
                fn()
            finally:
                self.release()

        try:
            future = self.executor.submit(run)
        except RuntimeError:  # shutting down: the job is dropped, its slot given back
            log.warning("job %s not started: stopping", name)
            self.release()
            return False
        future.add_done_callback(lambda f: report_crash(name, f.exception()))
        return True

    def release(self) -> None:
        with self.lock:
            self.pending -= 1
            self.idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.idle.wait(left)
        return True

    def shutdown(self, wait: bool = True) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=not wait)


def report_crash(name: str, exc: BaseException | None) -> None:
    # Jobs report their own errors to the user; anything arriving here is a bug in a job.
    if exc is not None:
        log.error("job %s crashed", name, exc_info=exc)


class RequestGuard(Protocol):
    def first_time(self, key: str) -> bool:
        """Before the ack, without I/O: True the first time this process sees ``key`` (a Slack
        retry or a replay to the same process sees False)."""
        ...

    def claim(self, key: str) -> bool:
        """After the ack, before the work: True for the one process, of all replicas, that
        does the work of ``key``."""
        ...


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
