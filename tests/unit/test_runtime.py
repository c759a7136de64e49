"""The bot's one runtime on a clock moved by hand: scheduled jobs run when the clock passes
their time (never before), once per time, a failing job runs again, and ``stop`` leaves no
thread behind."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.runtime import Runtime
from simulator.clock import ManualClock
from tests.support.waiting import wait_until

START = datetime(2026, 3, 2, 8, 58, tzinfo=UTC)  # a Monday, two minutes before 09:00


def thread_names() -> set[str]:
    return {t.name for t in threading.enumerate()}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def runtime(clock: ManualClock) -> Iterator[Runtime]:
    before = thread_names()
    runtime = Runtime(clock)
    yield runtime
    runtime.stop(wait=True)
    assert thread_names() <= before  # nothing the runtime started is left


class Runs:
    """A job that records the clock's time at each run."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.times: list[datetime] = []

    def __call__(self) -> None:
        self.times.append(self.clock.now())


def settle(runtime: Runtime) -> None:
    """Until the scheduler has started every job due by the clock's time and they ended."""
    assert runtime.settle(5)


def test_a_cron_job_fires_once_when_the_clock_passes_its_slot_and_not_before(
    runtime: Runtime, clock: ManualClock
) -> None:
    digest = Runs(clock)
    trigger = CronTrigger.from_crontab("0 9 * * *", timezone=UTC)
    runtime.scheduler.add("digest", digest, trigger, grace=timedelta(hours=6))
    runtime.start()

    clock.advance(timedelta(minutes=1))  # 08:59
    settle(runtime)
    assert digest.times == []
    clock.advance(timedelta(minutes=1, seconds=5))  # 09:00:05
    wait_until(lambda: digest.times, timeout=5, what="the digest")
    clock.advance(timedelta(minutes=30))
    settle(runtime)
    assert digest.times == [START + timedelta(minutes=2, seconds=5)]  # once for the slot
    assert runtime.scheduler.next_run("digest") == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def test_a_slot_found_later_than_its_grace_is_skipped_and_the_next_one_kept(
    runtime: Runtime, clock: ManualClock
) -> None:
    digest = Runs(clock)
    trigger = CronTrigger.from_crontab("0 9 * * *", timezone=UTC)
    runtime.scheduler.add("digest", digest, trigger, grace=timedelta(hours=6))
    runtime.start()
    clock.advance(timedelta(hours=12))  # 20:58: the 09:00 slot is 12 hours gone
    settle(runtime)
    assert digest.times == []
    clock.set(datetime(2026, 3, 3, 9, 1, tzinfo=UTC))
    wait_until(lambda: digest.times, timeout=5, what="the next day's digest")


def test_an_interval_job_runs_each_interval_and_missed_runs_are_one(
    runtime: Runtime, clock: ManualClock
) -> None:
    sweep = Runs(clock)
    runtime.scheduler.every("sweep", 60, sweep)
    runtime.start()
    for minute in range(1, 4):
        clock.advance(timedelta(seconds=60))
        wait_until(lambda m=minute: len(sweep.times) == m, timeout=5, what=f"sweep {minute}")
    clock.advance(timedelta(minutes=10))  # ten intervals at once: one run
    wait_until(lambda: len(sweep.times) == 4, timeout=5, what="the coalesced sweep")
    settle(runtime)
    assert len(sweep.times) == 4


def test_a_job_that_raises_is_logged_and_runs_again_at_its_next_time(
    runtime: Runtime, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[datetime] = []

    def failing() -> None:
        calls.append(clock.now())
        raise RuntimeError("the database went away")

    runtime.scheduler.every("sweep", 30, failing)
    runtime.start()
    with caplog.at_level(logging.ERROR, logger="bot.runtime.schedule"):
        clock.advance(30)
        wait_until(lambda: len(calls) == 1, timeout=5, what="the first run")
        settle(runtime)
        clock.advance(30)
        wait_until(lambda: len(calls) == 2, timeout=5, what="the second run")
    assert "scheduled job sweep failed" in caplog.text
    assert "the database went away" in caplog.text


def test_a_job_still_running_is_not_started_twice(runtime: Runtime, clock: ManualClock) -> None:
    release = threading.Event()
    started: list[datetime] = []

    def slow() -> None:
        started.append(clock.now())
        assert release.wait(10)

    runtime.scheduler.every("slow", 10, slow)
    runtime.start()
    clock.advance(10)
    wait_until(lambda: started, timeout=5, what="the first run")
    clock.advance(20)  # due again twice while it still runs
    wait_until(
        lambda: runtime.scheduler.next_run("slow") == START + timedelta(seconds=40),
        timeout=5,
        what="the due run passed over",
    )
    release.set()
    assert runtime.wait_idle(5)
    assert len(started) == 1
    clock.advance(10)  # the next time after the run ended: it runs again
    wait_until(lambda: len(started) == 2, timeout=5, what="the next run")


def test_a_repeated_job_runs_back_to_back_and_pauses_by_the_clock_after_a_failure(
    runtime: Runtime, clock: ManualClock
) -> None:
    polls: list[datetime] = []
    failures = iter([False, False, True])

    def poll() -> None:
        polls.append(clock.now())
        if next(failures, False):
            raise OSError("queue unreachable")
        if len(polls) >= 3:
            runtime.scheduler.remove("poll")

    runtime.scheduler.repeat("poll", poll, pause=timedelta(seconds=5))
    runtime.start()
    wait_until(lambda: len(polls) == 3, timeout=5, what="three polls without the clock moving")
    assert polls == [START, START, START]


def test_a_later_job_waits_for_the_clock(runtime: Runtime, clock: ManualClock) -> None:
    done = Runs(clock)
    runtime.start()
    runtime.scheduler.later("recheck", timedelta(seconds=5), done)
    settle(runtime)
    assert done.times == []
    clock.advance(5)
    wait_until(lambda: done.times, timeout=5, what="the delayed job")
    assert runtime.scheduler.get("recheck") is None  # a one-off is gone once run


def test_pending_counts_every_lane_and_a_full_lane_refuses(runtime: Runtime) -> None:
    audits = runtime.lane("audits", workers=1, max_pending=2)
    clicks = runtime.lane("clicks", workers=1)
    release = threading.Event()
    assert audits.submit("audit 1", lambda: release.wait(10))
    assert audits.submit("audit 2", lambda: release.wait(10))
    assert not audits.submit("audit 3", lambda: None)  # two pending: the third is refused
    ran = threading.Event()
    assert clicks.submit("click", ran.set)  # another lane is not held up by a busy one
    assert ran.wait(5)
    assert runtime.pending == 2
    release.set()
    assert runtime.wait_idle(5)
    assert runtime.pending == 0


def test_stop_ends_the_scheduler_and_every_thread_and_refuses_new_work(
    clock: ManualClock,
) -> None:
    before = thread_names()
    runtime = Runtime(clock)
    sweep = Runs(clock)
    runtime.scheduler.every("sweep", 60, sweep)
    lane = runtime.lane("audits", workers=2)
    started = [lane.submit(f"audit {n}", lambda: None) for n in range(4)]
    runtime.start()
    clock.advance(60)
    wait_until(lambda: sweep.times, timeout=5, what="the sweep")
    assert "rootkey-scheduler" in thread_names()

    runtime.stop(wait=True)
    assert all(started) and runtime.pending == 0  # queued work ran before the stop returned
    assert thread_names() <= before
    assert not lane.submit("late", lambda: None)
    clock.advance(600)
    assert len(sweep.times) == 1


def test_stop_without_waiting_drops_queued_work(clock: ManualClock) -> None:
    runtime = Runtime(clock)
    lane = runtime.lane("audits", workers=1)
    release, began = threading.Event(), threading.Event()
    ran: list[int] = []
    assert lane.submit("running", lambda: began.set() or release.wait(10))
    assert began.wait(5)
    for n in range(3):
        assert lane.submit(f"queued {n}", lambda n=n: ran.append(n))
    runtime.stop(wait=False)
    assert runtime.pending == 1  # only the running one
    release.set()
    assert runtime.wait_idle(5)
    assert ran == []


def test_a_lane_as_an_executor_hands_back_results_and_errors(runtime: Runtime) -> None:
    checks = runtime.lane("form checks", workers=2).executor()
    assert checks.submit(lambda a, b: a + b, 2, 3).result(5) == 5

    def failing() -> None:
        raise LookupError("no such request")

    with pytest.raises(LookupError, match="no such request"):
        checks.submit(failing).result(5)
    assert runtime.wait_idle(5)
    runtime.stop()
    with pytest.raises(RuntimeError):
        checks.submit(lambda: None)


def test_a_lane_gives_up_waiting_for_a_call_that_takes_too_long(runtime: Runtime) -> None:
    checks = runtime.lane("form checks", workers=2).executor()
    assert checks.within(5, lambda: "checked") == "checked"
    release = threading.Event()
    with pytest.raises(TimeoutError):
        checks.within(0.05, release.wait)  # a check the database holds up
    release.set()
    assert runtime.wait_idle(5)
