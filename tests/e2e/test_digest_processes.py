"""Bots on one throw-away PostgreSQL database, the digest due every minute by a clock the test
moves (``ManualClock``): no real minute passes.

Two bots sharing the clock post exactly one digest per slot between them (the claim is in the
database; each bot's scheduler claims under its own owner id); a bot stopped, a slot missed
while none ran, a new bot posts it once at start, and a replica starting after it does not
post it again. The bots run in the test's process (``InProcessBot``, the same start and stop as
``python -m bot``); a process killed while a digest is being built is
``tests/reliability/test_kill_restart.py``'s (real processes, SIGKILL). Slack is the local
stand-in (each digest names the slot it was posted for), AWS is moto's server.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.store import Store
from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws
from simulator.clock import ManualClock
from simulator.slack import SlackStandin
from tests.support.botproc import bot_env
from tests.support.database import postgres_database
from tests.support.inprocess import InProcessBot
from tests.support.waiting import wait_until

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


def a_clock() -> ManualClock:
    """Half a minute into the current minute (real dates: the keys' ages stay true)."""
    return ManualClock(datetime.now(UTC).replace(second=30, microsecond=0))


def next_slot(clock: ManualClock, bots: list[InProcessBot]) -> datetime:
    """Move the clock to the start of the next minute, a slot of the minutely cron, once the
    ``bots`` have ended the work of the last slot (a digest job still running when the next
    slot comes due would skip it)."""
    for bot in bots:
        bot.wait_idle()
    slot = clock.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    clock.set(slot)
    return slot


def taken(logs: str, slot: datetime) -> int:
    """How often a bot said ``slot`` was taken by another (it claimed it and lost)."""
    return logs.count(f"digest slot {slot} for {CHANNEL}: taken by another process")


def stood_back(bots: list[InProcessBot], slot: datetime) -> None:
    """Exactly one of ``bots`` says it found ``slot`` taken by another."""
    wait_until(lambda: sum(taken(bot.logs, slot) for bot in bots) == 1, 60, f"{slot} refused")


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


def posted_once(slack: SlackStandin, pg_url: str, slot: datetime) -> None:
    """``slot``'s digest is in the channel and recorded as posted."""
    slack.wait_for(lambda: minute(slot) in slots_posted(slack), timeout=60)
    rows = settled(slack, pg_url)
    assert rows[minute(slot)] == "posted", rows


def test_two_bots_post_exactly_one_digest_per_slot(
    slack: SlackStandin, aws: SimulatedAws, pg_url: str
) -> None:
    aws.set_root_keys(MANAGEMENT_ACCOUNT, [RootKeySpec(slot=1, active=True)])
    env = digest_bot_env(slack, aws, pg_url)
    clock = a_clock()
    slots: list[datetime] = []
    with InProcessBot(env, clock=clock) as first, InProcessBot(env, clock=clock) as second:
        for _ in range(3):
            slot = next_slot(clock, [first, second])
            slots.append(slot)
            posted_once(slack, pg_url, slot)
            # Both bots came for the slot: the one that lost the claim stood back.
            stood_back([first, second], slot)
        rows = settled(slack, pg_url)
    posted = slots_posted(slack)
    assert posted == Counter({minute(slot): 1 for slot in slots}), posted
    assert {k for k, v in rows.items() if v == "posted"} == set(posted)
    # consecutive minutes, none skipped while both ran
    times = sorted(datetime.strptime(k, "%Y-%m-%d %H:%M") for k in posted)
    assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(times))
    # each bot scheduled the digest, and each slot was claimed by one and refused to the other
    for bot in (first, second):
        assert bot.logs.count(f"digest for {CHANNEL} on '* * * * *'") == 1, bot.logs
    assert sum(taken(first.logs + second.logs, slot) for slot in slots) == len(slots)
    # every digest names the account and says what it found, chart and CSV in its thread
    for message in digests(slack):
        assert "1 of 1 account with a root access key" in message.args["text"]
        thread = [u.filename for u in slack.uploads() if u.thread_ts == message.ts]
        assert any(f.endswith(".png") for f in thread) and any(f.endswith(".csv") for f in thread)


def test_a_slot_missed_while_no_bot_ran_is_posted_once_by_the_next_to_start(
    slack: SlackStandin, aws: SimulatedAws, pg_url: str
) -> None:
    env = digest_bot_env(slack, aws, pg_url)
    clock = a_clock()
    with InProcessBot(env, clock=clock) as bot:
        first = next_slot(clock, [bot])
        posted_once(slack, pg_url, first)
    # The next slot passes while no bot runs.
    missed = first + timedelta(minutes=1)
    clock.set(missed + timedelta(seconds=20))
    assert minute(missed) not in slots_posted(slack)

    with InProcessBot(env, clock=clock) as restarted:
        posted_once(slack, pg_url, missed)
        # Another replica starting now does not post the missed slot again: it finds it taken.
        with InProcessBot(env, clock=clock) as replica:
            stood_back([replica], missed)
        settled(slack, pg_url)
    posted = slots_posted(slack)
    assert posted == Counter({minute(first): 1, minute(missed): 1}), posted
    assert "was missed; posting it now" in restarted.logs, restarted.logs
    assert "was missed" not in replica.logs, replica.logs
