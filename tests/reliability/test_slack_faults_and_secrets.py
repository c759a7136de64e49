"""Slack misbehaving under the running bot, and secrets that must never leak.

Faults come from the Web API stand-in for real (HTTP 429 with ``Retry-After``, 500s, a request
that hangs past the client's timeout, ``not_in_channel``, ``channel_not_found``, a failing
``response_url``): every message is delivered exactly once, and a failure that does not go away
is reported in the right place (the command's ``response_url`` and the log), never dropped.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.remediation.states import State
from bot.slack.action_ids import ActionId
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.reliability.harness import (
    ALICE,
    APPROVER,
    AWS_SECRET,
    CHANNEL,
    SECRETS,
    Bot,
    ask_for,
    bot_env,
    click,
    command,
    everything_sent,
    export_log,
    wait_state,
    wait_until,
)
from tests.support.botproc import ROOT

pytestmark = pytest.mark.slow

SLACK_CLIENT_TIMEOUT = 15.0  # bot.wiring.SLACK_TIMEOUT


@pytest.fixture(scope="module")
def bot(
    slack: SlackStandin, moto_server: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    db = tmp_path_factory.mktemp("faults") / "rootkey.db"
    env = bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org")
    bot = Bot(env, f"sqlite:///{db}").start()
    yield bot
    bot.stop()


def org(aws: SimulatedAws, members: int = 2) -> list[str]:
    made = aws.create_organization(members=members)
    accounts = [m.account_id for m in made.members]
    aws.set_root_keys(accounts[0], [RootKeySpec(slot=1, active=True, created=days_ago(90))])
    return accounts


def results(slack: SlackStandin, channel: str = CHANNEL) -> list[object]:
    return [m for m in slack.messages(channel) if not m.thread_ts]


def settle(slack: SlackStandin, seconds: float = 1.5) -> None:
    """Leave time for a duplicate to show up, if the bot were to send one."""
    time.sleep(seconds)


# -- Web API faults -------------------------------------------------------------------------------


def test_429_with_retry_after_then_500s_deliver_the_result_once(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    org(aws)
    fresh.fail("chat.postMessage", "ratelimited", times=2, retry_after=1)
    fresh.fail("chat.postMessage", "server_error", times=2)

    assert command(bot, fresh, "check all").status_code == 200

    fresh.wait_for(lambda: results(fresh), timeout=40)
    settle(fresh)
    attempts = fresh.attempts("chat.postMessage")
    assert [a.status for a in attempts] == [429, 429, 500, 500, 200]
    assert attempts[1].at - attempts[0].at >= 1.0 and attempts[2].at - attempts[1].at >= 1.0
    assert len(results(fresh)) == 1
    assert "ratelimited; retrying in 1.0 s" in bot.logs


def test_a_large_result_attaches_its_csv_once_despite_upload_faults(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    org(aws, members=14)  # more than the message names: the CSV goes in the thread
    fresh.fail("files.getUploadURLExternal", "ratelimited", retry_after=1)
    fresh.fail("files.completeUploadExternal", "server_error")

    command(bot, fresh, "check all")

    [upload] = fresh.wait_for(lambda: fresh.uploads(), timeout=40)
    settle(fresh)
    assert len(fresh.uploads()) == 1 and len(results(fresh)) == 1
    rows = list(csv.reader(io.StringIO(upload.content.decode())))
    assert len(rows) == 1 + 15


def test_a_post_that_hangs_past_the_timeout_is_not_posted_twice(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """The stand-in takes the message but answers after the client gave up: the bot looks
    for its own delivery before posting again."""
    org(aws)
    fresh.fail("chat.postMessage", "timeout", delay=SLACK_CLIENT_TIMEOUT + 0.05)

    command(bot, fresh, "check all")

    fresh.wait_for(lambda: results(fresh), timeout=60)
    wait_until(lambda: "had arrived despite" in bot.logs, 20, "the bot noticed the delivery")
    settle(fresh)
    assert len(results(fresh)) == 1
    assert len(fresh.attempts("chat.postMessage")) == 1


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found"])
def test_an_unreachable_channel_answers_through_response_url_even_when_it_fails_once(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws, error: str
) -> None:
    accounts = org(aws)
    fresh.refuse_channel("C0PRIVATE1", error)
    fresh.fail_responses(500)  # the response_url itself hiccups once

    command(bot, fresh, "check all", channel="C0PRIVATE1")

    [reply] = fresh.wait_for(lambda: fresh.responses(), timeout=30)
    settle(fresh)
    assert len(fresh.responses()) == 1, "delivered once"
    assert reply["response_type"] == "in_channel"
    assert accounts[0] in json.dumps(reply["blocks"]) and error in json.dumps(reply["blocks"])
    assert not fresh.messages()


def test_rate_limited_for_good_is_reported_through_response_url_and_the_log(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    org(aws)
    fresh.fail("chat.postMessage", "ratelimited", times=5, retry_after=0.2)

    command(bot, fresh, "check all")

    [reply] = fresh.wait_for(lambda: fresh.responses(), timeout=30)
    assert "could not post the result (ratelimited)" in reply["text"]
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    assert len(fresh.attempts("chat.postMessage")) == 5
    assert not results(fresh)
    wait_until(lambda: "chat.postMessage failed after 5 attempts: ratelimited" in bot.logs, 10)


def test_a_permanent_failure_with_a_dead_response_url_is_still_logged(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    org(aws)
    fresh.fail("chat.postMessage", "account_inactive")
    fresh.fail_responses(404)

    command(bot, fresh, "check all")

    wait_until(lambda: "could not post in C0ROOTKEY1: account_inactive" in bot.logs, 30)
    wait_until(lambda: "could not report the failure" in bot.logs, 30)
    assert bot.process is not None and bot.process.alive()
    # and the next command works as usual
    command(bot, fresh, "check all")
    fresh.wait_for(lambda: results(fresh), timeout=30)


def test_digest_posted_once_through_rate_limits(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    org(aws)
    fresh.fail("chat.postMessage", "ratelimited", retry_after=1)
    fresh.fail("chat.postMessage", "server_error")

    command(bot, fresh, "digest")

    digest = fresh.wait_for(lambda: results(fresh), timeout=40)[0]
    settle(fresh)
    assert len(results(fresh)) == 1
    assert [a.status for a in fresh.attempts("chat.postMessage")][:3] == [429, 500, 200]
    assert "1 of 3" in json.dumps(digest.args) or "3 accounts" in json.dumps(digest.args)


# -- secrets ---------------------------------------------------------------------------------------


def test_secrets_never_appear_in_logs_messages_uploads_or_exports(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws, tmp_path: Path
) -> None:
    """Drive every path that writes text (results with errors, the CSV, a remediation through
    its thread, the digest, history, status, a Slack fault), then scan all of it."""
    accounts = org(aws, members=13)
    aws.deny(accounts[2], "GetAccountSummary")
    fresh.fail("chat.postMessage", "server_error")
    command(bot, fresh, "check all")
    fresh.wait_for(lambda: fresh.uploads(), timeout=40)
    request_id, _ = ask_for(bot, fresh, accounts[0], ALICE)
    click(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER)
    wait_state(bot, request_id, State.TRACKING)
    for text in ("digest", f"history {accounts[0]}", "status", "help", "nonsense"):
        command(bot, fresh, text)
    fresh.wait_for(lambda: len(results(fresh)) >= 2, timeout=40)
    settle(fresh)

    cli = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--org", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={
            **os.environ,
            **aws.env(),
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "PYTHONPATH": str(ROOT),
        },
    )
    assert accounts[0] in cli.stdout, cli.stderr
    db_path = Path(bot.database_url.removeprefix("sqlite:///"))
    seen = {
        "bot log": bot.logs,
        "Slack Web API calls, response_url messages and uploads": everything_sent(fresh),
        "audit log export (csv)": export_log(bot.database_url, "csv"),
        "audit log export (json)": export_log(bot.database_url, "json"),
        "python -m bot check output": cli.stdout + cli.stderr,
        "the database file": db_path.read_bytes().decode("latin-1"),
    }
    assert "GetAccountSummary" in seen["Slack Web API calls, response_url messages and uploads"]
    assert "request #" in seen["Slack Web API calls, response_url messages and uploads"].lower()
    leaks = [
        (where, secret[:8]) for where, text in seen.items() for secret in SECRETS if secret in text
    ]
    assert leaks == []
