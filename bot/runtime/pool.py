"""The bot's one pool of worker threads, shared by named lanes.

A lane is one kind of background work (audits, the remediation work after a click, a scheduled
job) with its own limits: how many of its jobs run at once (``workers``) and how many may wait
(``max_pending``; a lane that is full refuses at once instead of queueing without end). The
pool's threads are shared: a thread is started when a job is ready and no thread is idle, and
the lanes' limits keep the total at or below ``MAX_THREADS``, so a busy lane never starves
another (a slow Organization scan never delays a click's work).

Threads are daemons: a job still running when the bot has stopped (after its grace time) is
left behind, never waited for at exit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

log = logging.getLogger(__name__)

MAX_THREADS = 32  # the lanes' workers together; a lane that would pass it is refused

Job = Callable[[], object]
T = TypeVar("T")


class Lane:
    """One kind of work in the pool: at most ``workers`` running, ``max_pending`` counted
    (queued or running; None: no bound). The ``JobQueue`` port of the use cases. A lane not
    ``counted`` (a loop that never ends, such as the events queue's long poll) is left out of
    the pool's ``pending`` and ``wait_idle``."""

    def __init__(
        self, pool: JobPool, name: str, workers: int, max_pending: int | None, counted: bool
    ) -> None:
        self.pool = pool
        self.name = name
        self.workers = workers
        self.max_pending = max_pending
        self.counted = counted
        self.pending = 0  # reserved, queued or running
        self.running = 0
        self.queued: deque[tuple[str, Job]] = deque()
        self.lock = pool.lock

    def submit(self, name: str, fn: Job) -> bool:
        """Queue ``fn``; False (and nothing queued) when the lane is full or stopping."""
        return self.reserve(name) and self.run_reserved(name, fn)

    def reserve(self, name: str) -> bool:
        """Count one job as pending before it is queued (``run_reserved`` queues it later);
        False when ``max_pending`` jobs are waiting or the pool is stopping."""
        with self.lock:
            if self.pool.stopping:
                return False
            if self.max_pending is not None and self.pending >= self.max_pending:
                log.warning("job %s refused: %d %s jobs pending", name, self.pending, self.name)
                return False
            self.pending += 1
            return True

    def run_reserved(self, name: str, fn: Job) -> bool:
        """Queue ``fn`` in a slot taken by ``reserve``; False when stopping (slot given back)."""
        with self.lock:
            if self.pool.stopping:
                log.warning("job %s not started: stopping", name)
                self.pending -= 1
                self.pool.idle.notify_all()
                return False
            self.queued.append((name, fn))
            self.pool.dispatch(self)
        return True

    def release(self) -> None:
        """Give back a slot ``reserve`` took, for a job that will not be queued after all."""
        with self.lock:
            self.pending -= 1
            self.pool.idle.notify_all()

    def busy(self) -> bool:
        """A job of this lane is queued or running."""
        with self.lock:
            return bool(self.running or self.queued)

    def wait_idle(self, timeout: float) -> bool:
        return self.pool.wait_idle(timeout, lanes=(self,))

    def executor(self) -> LaneExecutor:
        """This lane as a ``concurrent.futures.Executor``, for a caller that waits for a
        result and may give up on it (a form's checks, within Slack's 3 seconds)."""
        return LaneExecutor(self)


class LaneExecutor(Executor):
    """``submit`` runs in the lane and returns a ``Future``; a lane that refuses (full, or
    stopping) raises ``RuntimeError``, as an executor that was shut down does."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)

        name = getattr(fn, "__name__", "call")
        if not self.lane.submit(name, run):
            raise RuntimeError(f"{self.lane.name}: cannot take {name} now")
        return future

    def within(self, seconds: float, fn: Callable[[], T]) -> T:
        """``fn``'s result, run in the lane; ``TimeoutError`` after ``seconds`` (the
        ``Deadline`` port of the use cases)."""
        result: T = self.submit(fn).result(seconds)
        return result


class JobPool:
    """The lanes and the threads that run their jobs; ``pending`` counts every lane's work."""

    def __init__(self, max_threads: int = MAX_THREADS, name: str = "rootkey-job") -> None:
        self.max_threads = max_threads
        self.name = name
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.work = threading.Condition(self.lock)
        self.ready: deque[tuple[Lane, str, Job]] = deque()
        self.lanes: dict[str, Lane] = {}
        self.threads: list[threading.Thread] = []
        self.waiting_threads = 0
        self.stopping = False

    def lane(
        self, name: str, workers: int, max_pending: int | None = None, *, counted: bool = True
    ) -> Lane:
        """The lane ``name`` (made on first use with these limits)."""
        with self.lock:
            if name in self.lanes:
                return self.lanes[name]
            total = sum(lane.workers for lane in self.lanes.values()) + workers
            if total > self.max_threads:
                raise ValueError(f"lane {name}: {total} workers would pass {self.max_threads}")
            lane = Lane(self, name, workers, max_pending, counted)
            self.lanes[name] = lane
            return lane

    @property
    def pending(self) -> int:
        """Jobs of the counted lanes reserved, queued or running."""
        with self.lock:
            return sum(lane.pending for lane in self.counted())

    def counted(self) -> list[Lane]:
        return [lane for lane in self.lanes.values() if lane.counted]

    # -- running ---------------------------------------------------------------------------------

    def dispatch(self, lane: Lane) -> None:
        """With the lock held: hand the lane's next jobs to the threads, within its limit."""
        while lane.queued and lane.running < lane.workers:
            name, fn = lane.queued.popleft()
            lane.running += 1
            self.ready.append((lane, name, fn))
            if self.waiting_threads >= len(self.ready):
                self.work.notify()
            else:
                self.spawn()

    def spawn(self) -> None:
        thread = threading.Thread(
            target=self.serve, name=f"{self.name}-{len(self.threads)}", daemon=True
        )
        self.threads.append(thread)
        thread.start()

    def serve(self) -> None:
        while True:
            with self.lock:
                while not self.ready and not self.stopping:
                    self.waiting_threads += 1
                    self.work.wait()
                    self.waiting_threads -= 1
                if not self.ready:
                    return  # stopping, and nothing left to run
                lane, name, fn = self.ready.popleft()
            try:
                fn()
            except Exception:  # jobs report their own errors; one arriving here is a bug
                log.exception("job %s crashed", name)
            finally:
                with self.lock:
                    lane.running -= 1
                    lane.pending -= 1
                    self.dispatch(lane)
                    self.idle.notify_all()

    def wait_idle(self, timeout: float, lanes: tuple[Lane, ...] | None = None) -> bool:
        """True once no job of ``lanes`` (the counted ones, when None) is pending; False after
        ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while sum(lane.pending for lane in lanes or self.counted()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.idle.wait(left)
        return True

    def stop(self, wait: bool = True, timeout: float = 30.0) -> None:
        """Take no more work. ``wait``: run what is queued, then join the threads (for at most
        ``timeout`` seconds); else drop what is queued and leave running jobs to end alone."""
        with self.lock:
            self.stopping = True
            if not wait:
                for lane in self.lanes.values():
                    lane.pending -= len(lane.queued)
                    lane.queued.clear()
                for lane, _name, _fn in self.ready:
                    lane.running -= 1
                    lane.pending -= 1
                self.ready.clear()
                self.idle.notify_all()
            self.work.notify_all()
        if wait:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with self.lock:  # a job ending may start a thread for the next one queued
                    alive = [t for t in self.threads if t.is_alive()]
                if not alive:
                    return
                alive[0].join(max(0.0, deadline - time.monotonic()))
