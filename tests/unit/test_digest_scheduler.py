"""The digest scheduler in process: slots, catch-up after downtime, failures retried at start,
one post per slot between schedulers. AWS is moto's server, Slack the local stand-in, the store
a SQLite file; only the clock is set by the test (a ``ManualClock``: the runtime's scheduler
fires the digest as soon as the clock passes the slot)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from slack_sdk import WebClient

from bot.audit.models import Scope
from bot.aws.auditor import AwsAuditor
from bot.config import load_config
from bot.runtime import Runtime
from bot.scheduler import CLAIM_LEASE, DigestScheduler, previous_slot
from bot.services.digest import DigestService
from bot.slack.notifier import SlackDigestNotifier
from bot.slack.poster import DeliveryError, Poster
from bot.store import Store
from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws
from simulator.clock import ManualClock as Clock
from simulator.slack import SlackStandin
from tests.support.waiting import wait_until

CHANNEL = "C0DIGEST01"
DAY1 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_previous_slot_is_the_last_fire_time_at_or_before_now() -> None:
    daily = CronTrigger.from_crontab("0 9 * * *", timezone="Europe/Berlin")
    now = datetime(2026, 11, 30, 7, 59, tzinfo=UTC)  # 08:59 in Berlin
    assert previous_slot(daily, now) == datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert previous_slot(daily, now + timedelta(minutes=1)) == datetime(
        2026, 11, 30, 8, 0, tzinfo=UTC
    )
    minutely = CronTrigger.from_crontab("* * * * *", timezone="UTC")
    assert previous_slot(minutely, datetime(2026, 11, 30, 9, 3, 59, tzinfo=UTC)) == datetime(
        2026, 11, 30, 9, 3, tzinfo=UTC
    )
    monthly = CronTrigger.from_crontab("0 6 1 * *", timezone="UTC")
    assert previous_slot(monthly, datetime(2026, 11, 30, tzinfo=UTC)) == datetime(
        2026, 11, 1, 6, tzinfo=UTC
    )


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin() as standin:
        yield standin


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


class Bot:
    """What ``build_app`` wires for the digest, with a settable clock and recorded sleeps."""

    def __init__(
        self, db_url: str, aws: SimulatedAws, slack: SlackStandin, clock: Clock, **env: str
    ) -> None:
        self.config = load_config(
            {
                "ROOTKEY_DIGEST_CHANNEL": CHANNEL,
                "ROOTKEY_DIGEST_CRON": "0 9 * * *",
                "DATABASE_URL": db_url,
                **env,
            }
        )
        self.store = Store.open(db_url)
        self.sleeps: list[float] = []
        self.auditor = AwsAuditor(self.config, aws.session)
        poster = Poster(
            WebClient(token="xoxb-test-token", base_url=slack.base_url),
            attempts=3,
            sleep=self.sleeps.append,
        )
        self.digest = DigestService(
            self.store,
            auditor=self.auditor,
            notifier=SlackDigestNotifier(poster),
            scope=Scope("account"),
            clock=clock,
        )
        self.runtime = Runtime(clock)
        self.scheduler = DigestScheduler(
            self.config, self.store, self.digest, self.runtime.scheduler
        )

    def close(self) -> None:
        self.runtime.stop()
        self.auditor.close()
        self.store.close()


@pytest.fixture
def make_bot(db_url: str, aws: SimulatedAws, slack: SlackStandin) -> Iterator[Callable[..., Bot]]:
    bots: list[Bot] = []

    def make(clock: Clock, url: str = db_url, **env: str) -> Bot:
        bot = Bot(url, aws, slack, clock, **env)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        bot.close()


def digests(slack: SlackStandin) -> list:
    return [m for m in slack.messages(CHANNEL) if m.thread_ts is None]


def test_a_slot_is_posted_with_chart_and_csv_in_its_thread(
    make_bot, slack: SlackStandin, aws: SimulatedAws
) -> None:
    aws.set_root_keys(MANAGEMENT_ACCOUNT, [RootKeySpec(slot=1, active=True)])
    bot = make_bot(Clock(DAY1 + timedelta(seconds=1)))
    published = bot.scheduler.fire()
    assert published is not None and published.run_id is not None
    [message] = digests(slack)
    assert "1 of 1 account with a root access key" in message.args["text"]
    files = {u.filename.rsplit("-", 3)[0]: u for u in slack.uploads()}
    assert set(files) == {"rootkey-trend", "rootkey-digest"}
    assert all(u.thread_ts == message.ts for u in files.values())
    assert files["rootkey-trend"].content[:4] == b"\x89PNG"
    assert MANAGEMENT_ACCOUNT in files["rootkey-digest"].content.decode()
    [slot] = bot.store.slots(CHANNEL)
    assert (slot.state, slot.slot_time, slot.run_id) == ("posted", DAY1, published.run_id)
    assert bot.store.get_run(published.run_id).trigger == "schedule"
    # the same slot fired again (another process, a restart) posts nothing
    assert bot.scheduler.fire() is None
    assert len(digests(slack)) == 1


def test_a_slot_missed_while_down_is_posted_once_at_start_within_the_grace_time(
    make_bot, slack: SlackStandin
) -> None:
    first = make_bot(Clock(DAY1 + timedelta(seconds=2)))
    first.scheduler.fire()  # day 1 posted; then the bot is down over day 2 and day 3, 09:00
    back = Clock(DAY1 + timedelta(days=2, hours=3))
    restarted = make_bot(back)
    assert restarted.scheduler.catch_up() is not None
    again = make_bot(back)  # a second process (or a second restart) catches up nothing more
    assert again.scheduler.catch_up() is None
    assert len(digests(slack)) == 2
    slots = [(s.slot_time, s.state) for s in restarted.store.slots(CHANNEL)]
    assert slots == [(DAY1, "posted"), (DAY1 + timedelta(days=2), "posted")]


def test_a_missed_slot_beyond_the_grace_time_is_not_posted(make_bot, slack: SlackStandin) -> None:
    make_bot(Clock(DAY1 + timedelta(seconds=2))).scheduler.fire()
    late = make_bot(Clock(DAY1 + timedelta(days=1, hours=7)), ROOTKEY_DIGEST_GRACE="6h")
    assert late.scheduler.catch_up() is None
    assert len(digests(slack)) == 1


def test_a_first_start_does_not_post_a_slot_that_passed_before_it(
    make_bot, slack: SlackStandin
) -> None:
    assert make_bot(Clock(DAY1 + timedelta(hours=1))).scheduler.catch_up() is None
    assert digests(slack) == []


def test_a_digest_that_finally_fails_is_recorded_and_retried_at_the_next_start(
    make_bot, slack: SlackStandin
) -> None:
    make_bot(Clock(DAY1 + timedelta(seconds=1))).scheduler.fire()
    slack.fail("chat.postMessage", "internal_error", times=3)
    failing = make_bot(Clock(DAY1 + timedelta(days=1, seconds=1)))
    with pytest.raises(DeliveryError):
        failing.scheduler.fire()
    failed = failing.store.unfinished_slot(CHANNEL)
    assert failed is not None and failed.state == "failed" and "internal_error" in failed.error
    # the next start, long after the grace time, still retries the failed one, once
    restarted = make_bot(Clock(DAY1 + timedelta(days=1, hours=8)))
    assert restarted.scheduler.catch_up() is not None
    assert make_bot(Clock(DAY1 + timedelta(days=1, hours=9))).scheduler.catch_up() is None
    assert len(digests(slack)) == 2
    assert [s.state for s in restarted.store.slots(CHANNEL)] == ["posted", "posted"]
    assert restarted.store.slots(CHANNEL)[1].attempts == 2


def test_a_rate_limited_post_waits_as_long_as_slack_asks(make_bot, slack: SlackStandin) -> None:
    slack.fail("chat.postMessage", "ratelimited", times=1, retry_after=7)
    bot = make_bot(Clock(DAY1))
    assert bot.scheduler.fire() is not None
    assert bot.sleeps[0] == 7
    assert len(slack.attempts("chat.postMessage")) == 2
    assert len(digests(slack)) == 1


def test_two_schedulers_firing_together_post_one_digest(make_bot, slack: SlackStandin) -> None:
    clock = Clock(DAY1 + timedelta(milliseconds=5))
    bots = [make_bot(clock), make_bot(clock)]
    barrier = threading.Barrier(2)
    results: list[object] = []

    def fire(bot: Bot) -> None:
        barrier.wait()
        results.append(bot.scheduler.fire())

    threads = [threading.Thread(target=fire, args=(b,)) for b in bots]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1
    assert len(digests(slack)) == 1


def test_without_a_channel_there_is_no_scheduler_and_it_is_said_once(
    make_bot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = make_bot(Clock(DAY1))
    quiet = DigestScheduler(
        replace(bot.config, digest_channel=None), bot.store, bot.digest, bot.runtime.scheduler
    )
    with caplog.at_level("INFO"):
        assert not quiet.install()
    assert bot.runtime.scheduler.jobs == {}
    said = [r.message for r in caplog.records if "ROOTKEY_DIGEST_CHANNEL" in r.message]
    assert said == ["no scheduled digest: ROOTKEY_DIGEST_CHANNEL is not set"]


def test_a_slot_left_claimed_by_a_dead_process_is_taken_over_once_the_claim_is_stale(
    make_bot, slack: SlackStandin
) -> None:
    make_bot(Clock(DAY1 + timedelta(seconds=1))).scheduler.fire()  # an earlier digest
    slot = DAY1 + timedelta(days=1)
    clock = Clock(slot + timedelta(seconds=30))
    bot = make_bot(clock)
    assert bot.store.claim_slot(CHANNEL, slot, "dead-process", now=clock()) is not None
    # restarted a minute later: the claim is still fresh, so the slot is watched, not posted
    clock.set(slot + timedelta(minutes=1))
    bot.scheduler.install()
    bot.runtime.start()  # the catch-up runs at once and finds the slot held
    watch = f"digest watch {slot.isoformat()}"
    due = wait_until(lambda: bot.runtime.scheduler.next_run(watch), timeout=20, what="the watch")
    assert due == slot + timedelta(seconds=30) + CLAIM_LEASE + timedelta(seconds=1)
    assert bot.runtime.settle(20)
    assert len(digests(slack)) == 1
    # when the watch fires, the dead claim has gone stale: this process posts the slot
    clock.set(due)
    wait_until(lambda: len(digests(slack)) == 2, timeout=20, what="the slot taken over")
    assert bot.runtime.wait_idle(20)
    assert bot.store.get_slot(CHANNEL, slot).state == "posted"


def test_the_running_bot_posts_the_digest_once_when_its_clock_passes_the_slot(
    make_bot, slack: SlackStandin, aws: SimulatedAws
) -> None:
    aws.set_root_keys(MANAGEMENT_ACCOUNT, [RootKeySpec(slot=1, active=True)])
    clock = Clock(DAY1 - timedelta(minutes=2))
    bot = make_bot(clock)
    assert bot.scheduler.install()
    bot.runtime.start()
    assert bot.runtime.settle(20)  # the catch-up: a first start posts nothing
    clock.advance(timedelta(minutes=1, seconds=59))  # 08:59:59
    assert bot.runtime.settle(20)
    assert digests(slack) == []

    clock.advance(timedelta(seconds=2))  # 09:00:01
    wait_until(lambda: digests(slack), timeout=20, what="the digest")
    assert bot.runtime.settle(20)
    clock.advance(timedelta(hours=1))
    assert bot.runtime.settle(20)
    assert len(digests(slack)) == 1  # once for the slot
    assert [s.slot_time for s in bot.store.slots(CHANNEL)] == [DAY1]
    assert bot.runtime.scheduler.next_run("digest") == DAY1 + timedelta(days=1)
