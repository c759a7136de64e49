"""Real bot processes on one throw-away PostgreSQL database, the digest due every minute.

Two processes post exactly one digest per slot between them; a process killed (SIGKILL) and
started again after a slot it missed posts that slot once. Slack is the local stand-in (each
digest names the slot it was posted for), AWS is moto's server.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.store import Store
from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws
from simulator.slack import SlackStandin
from tests.support.botproc import BotProcess, bot_env
from tests.support.database import postgres_database

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C0DIGEST01"
SLOT = re.compile(r"Scheduled digest of (\d{4}-\d\d-\d\d \d\d:\d\d) UTC")


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database("rootkey_e2e") as url:
        yield url


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=BOT_TOKEN) as standin:
        yield standin


def digest_bot_env(slack: SlackStandin, aws: SimulatedAws, pg_url: str) -> dict[str, str]:
    """A bot posting the digest every minute (UTC) to CHANNEL."""
    return bot_env(
        slack, pg_url, aws.env(),
        ROOTKEY_SCOPE="account", ROOTKEY_DIGEST_CHANNEL=CHANNEL, ROOTKEY_DIGEST_CRON="* * * * *",
        ROOTKEY_TIMEZONE="UTC",
    )  # fmt: skip


def slot_of(message: Any) -> str:
    found = SLOT.search(json.dumps(message.args["blocks"]))
    assert found, f"a scheduled digest names its slot: {message.args['text']}"
    return found.group(1)


def digests(slack: SlackStandin) -> list[Any]:
    return [m for m in slack.messages(CHANNEL) if m.thread_ts is None]


def slots_posted(slack: SlackStandin) -> Counter[str]:
    return Counter(slot_of(m) for m in digests(slack))


def minute(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def wait_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def settled(slack: SlackStandin, pg_url: str) -> dict[str, str]:
    """Every digest message matched by a posted slot in the database: {slot: state}."""
    store = Store.open(pg_url, migrate=False)
    try:

        def done() -> dict[str, str] | None:
            rows = {minute(s.slot_time): s.state for s in store.slots(CHANNEL)}
            posted = {k for k, v in rows.items() if v == "posted"}
            return rows if posted == set(slots_posted(slack)) else None

        return slack.wait_for(done, timeout=60)
    finally:
        store.close()


def test_two_processes_post_exactly_one_digest_per_minute(
    slack: SlackStandin, aws: SimulatedAws, pg_url: str
) -> None:
    aws.set_root_keys(MANAGEMENT_ACCOUNT, [RootKeySpec(slot=1, active=True)])
    env = digest_bot_env(slack, aws, pg_url)
    with BotProcess(env) as first, BotProcess(env) as second:
        started = datetime.now(UTC)
        # Two slots after both are up (the start-up minute may be caught up or not).
        slack.wait_for(lambda: len(slots_posted(slack)) >= 2, timeout=200)
        rows = settled(slack, pg_url)
    logs = first.logs + second.logs
    posted = slots_posted(slack)
    assert all(count == 1 for count in posted.values()), posted
    assert len(posted) >= 2
    assert {k for k, v in rows.items() if v == "posted"} == set(posted)
    # consecutive minutes, none skipped while both ran
    times = sorted(datetime.strptime(k, "%Y-%m-%d %H:%M") for k in posted)
    assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(times))
    assert times[-1].replace(tzinfo=UTC) >= started.replace(second=0, microsecond=0)
    # both processes competed for the slots; the losers stood back
    assert logs.count(f"digest for {CHANNEL} on '* * * * *'") == 2
    assert "taken by another process" in logs
    # every digest names the account and says what it found, chart and CSV in its thread
    for message in digests(slack):
        assert "1 of 1 account with a root access key" in message.args["text"]
        thread = [u.filename for u in slack.uploads() if u.thread_ts == message.ts]
        assert any(f.endswith(".png") for f in thread) and any(f.endswith(".csv") for f in thread)


def test_a_process_killed_and_restarted_after_a_missed_slot_posts_it_once(
    slack: SlackStandin, aws: SimulatedAws, pg_url: str
) -> None:
    env = digest_bot_env(slack, aws, pg_url)
    bot = BotProcess(env).start()
    try:
        slack.wait_for(lambda: len(slots_posted(slack)) >= 1, timeout=120)
        settled(slack, pg_url)
    finally:
        bot.kill()  # SIGKILL: no shutdown of any kind
    killed_at = datetime.now(UTC)
    missed = killed_at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    wait_until(missed + timedelta(seconds=3))  # the next slot passes while nobody runs
    assert minute(missed) not in slots_posted(slack)

    restarted = BotProcess(env).start()
    replica = None
    try:
        slack.wait_for(lambda: minute(missed) in slots_posted(slack), timeout=60)
        # another replica starting now does not post the missed slot again
        replica = BotProcess(env).start()
        slack.wait_for(lambda: "digest slot" in replica.logs or "missed" in replica.logs, 30)
        settled(slack, pg_url)
    finally:
        restarted.stop()
        if replica is not None:
            replica.stop()
    posted = slots_posted(slack)
    assert posted[minute(missed)] == 1, posted
    assert all(count == 1 for count in posted.values()), posted
    assert "was missed; posting it now" in restarted.logs, restarted.logs
