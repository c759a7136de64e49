"""The bot's one scheduler: when each background job is due, by the injected clock.

The timing rules are APScheduler's triggers (``CronTrigger``, ``IntervalTrigger``,
``DateTrigger`` and their ``get_next_fire_time``); the loop that waits for the next due job is
ours, so it waits on the clock (``bot.services.ports.Clock``): the system clock in the bot, a
clock moved by hand in tests (every job due by the new time runs at once).

A due job runs in its lane of the job pool, never in the loop, so a long digest never delays
the sweep. As APScheduler's ``coalesce`` and ``max_instances=1``: runs missed while the bot was
busy or away are one run, and a job still running when it comes due again is not started twice.
A job with a ``grace`` is skipped (and logged) when it is found due later than that. A job that
raises is logged and runs again at its next time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.runtime.pool import JobPool, Lane
from bot.services.ports import Clock

log = logging.getLogger(__name__)

Job = Callable[[], object]


@dataclass(eq=False)
class Scheduled:
    """One job of the scheduler: its trigger (None: it runs again as soon as it ends, or
    ``pause`` after it failed), its lane, and when it runs next (None: not again)."""

    name: str
    fn: Job
    trigger: BaseTrigger | None
    lane: Lane
    next_run: datetime | None
    grace: timedelta | None = None
    pause: timedelta = timedelta(seconds=5)
    active: bool = False  # submitted to its lane and not ended yet
    runs: int = field(default=0)


class Scheduler:
    """Jobs by name; ``start`` runs the loop in a thread, ``stop`` ends it."""

    def __init__(self, clock: Clock, pool: JobPool) -> None:
        self.clock = clock
        self.pool = pool
        self.jobs: dict[str, Scheduled] = {}
        self.lock = threading.Lock()
        self.wake = threading.Event()  # set to make the loop look again (a job, the clock)
        self.stopping = False
        self.thread: threading.Thread | None = None
        self.looked: datetime | None = None  # the clock's time the loop last started jobs at
        self.looking = threading.Condition()

    # -- adding and removing jobs ------------------------------------------------------------------

    def add(
        self,
        name: str,
        fn: Job,
        trigger: BaseTrigger,
        *,
        lane: Lane | None = None,
        grace: timedelta | None = None,
    ) -> Scheduled:
        """Run ``fn`` at each fire time of ``trigger`` (replacing a job of the same name)."""
        first: datetime | None = trigger.get_next_fire_time(None, self.clock.now())
        return self.put(Scheduled(name, fn, trigger, lane or self.lane(name), first, grace))

    def every(self, name: str, seconds: float, fn: Job, *, lane: Lane | None = None) -> Scheduled:
        """Run ``fn`` every ``seconds``, the first time ``seconds`` from now."""
        start = self.clock.now() + timedelta(seconds=seconds)
        trigger = IntervalTrigger(seconds=seconds, start_date=start, timezone=UTC)
        return self.add(name, fn, trigger, lane=lane)

    def once(self, name: str, when: datetime, fn: Job, *, lane: Lane | None = None) -> Scheduled:
        """Run ``fn`` once at ``when`` (at once if that has passed), however late; in ``lane``,
        else in the lane all one-off jobs share."""
        trigger = DateTrigger(run_date=when, timezone=UTC)
        return self.add(name, fn, trigger, lane=lane or self.pool.lane("later", workers=1))

    def later(self, name: str, delay: timedelta, fn: Job) -> None:
        """Run ``fn`` once, ``delay`` from now by the clock (the use cases' ``Timers`` port)."""
        self.once(name, self.clock.now() + delay, fn)

    def repeat(
        self, name: str, fn: Job, *, pause: timedelta, lane: Lane | None = None
    ) -> Scheduled:
        """Run ``fn`` now and again as soon as each run ends, or after the ``timedelta`` it
        returns; ``pause`` after a run that raised (a loop such as the events queue's long
        poll: its lane is not counted as pending work)."""
        lane = lane or self.pool.lane(f"scheduled {name}", workers=1, counted=False)
        job = Scheduled(name, fn, None, lane, self.clock.now(), pause=pause)
        return self.put(job)

    def remove(self, name: str) -> None:
        with self.lock:
            self.jobs.pop(name, None)

    def get(self, name: str) -> Scheduled | None:
        with self.lock:
            return self.jobs.get(name)

    def lane(self, name: str) -> Lane:
        return self.pool.lane(f"scheduled {name}", workers=1)

    def put(self, job: Scheduled) -> Scheduled:
        with self.lock:
            self.jobs[job.name] = job
        with self.looking:
            self.looked = None  # the loop has a new job to look at
        self.wake.set()
        return job

    def next_run(self, name: str) -> datetime | None:
        job = self.get(name)
        return job.next_run if job is not None else None

    # -- the loop ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self.thread is not None:
            return
        self.stopping = False
        self.thread = threading.Thread(target=self.loop, name="rootkey-scheduler", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping = True
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)
            self.thread = None

    def loop(self) -> None:
        while not self.stopping:
            self.wake.clear()  # before looking: a job added or a clock moved meanwhile wakes us
            now = self.clock.now()
            self.run_due(now)
            with self.looking:
                self.looked = now
                self.looking.notify_all()
            self.clock.sleep_until(self.next_due(), self.wake)

    def caught_up(self, timeout: float) -> bool:
        """True once the loop has started every job due by the clock's time now (at once when
        it is not running); False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self.looking:
            while self.thread is not None and self.looked != self.clock.now():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.looking.wait(min(left, 0.5))
        return True

    def next_due(self) -> datetime | None:
        with self.lock:
            times = [j.next_run for j in self.jobs.values() if j.next_run and not j.active]
        return min(times, default=None)

    def run_due(self, now: datetime) -> None:
        """Start every job due by ``now``."""
        with self.lock:
            due = [j for j in self.jobs.values() if j.next_run and j.next_run <= now]
        for job in due:
            if not self.stopping:
                self.fire(job, now)

    def fire(self, job: Scheduled, now: datetime) -> None:
        with self.lock:
            fire_time = job.next_run
            if fire_time is None or self.jobs.get(job.name) is not job:
                return
            job.next_run = self.following(job, fire_time, now)
            if job.next_run is None and job.trigger is not None:
                self.jobs.pop(job.name, None)  # a one-off, or a trigger that has ended
            late = now - fire_time
            if job.grace is not None and late > job.grace:
                log.warning("scheduled job %s missed its time by %s: skipped", job.name, late)
                return
            if job.active:
                log.warning("scheduled job %s still running: this run skipped", job.name)
                return
            job.active = True
        if not job.lane.submit(job.name, lambda: self.run(job)):
            with self.lock:
                job.active = False

    def following(self, job: Scheduled, fire_time: datetime, now: datetime) -> datetime | None:
        """The next run after ``fire_time``, past ``now`` (missed runs are coalesced)."""
        if job.trigger is None:
            return None  # set when the run ends
        trigger = job.trigger
        following: datetime | None = trigger.get_next_fire_time(fire_time, now)
        if following is not None and following <= now:  # runs were missed: the next from now
            following = trigger.get_next_fire_time(None, now)
            if following is not None and following <= now:
                following = trigger.get_next_fire_time(following, now)
        return following

    def run(self, job: Scheduled) -> None:
        wait: object = job.pause
        try:
            wait = job.fn()
        except Exception:  # logged; the job runs again at its next time
            log.exception("scheduled job %s failed", job.name)
        finally:
            with self.lock:
                job.active = False
                job.runs += 1
                if job.trigger is None and self.jobs.get(job.name) is job:
                    after = wait if isinstance(wait, timedelta) else timedelta(0)
                    job.next_run = self.clock.now() + after
            self.wake.set()
