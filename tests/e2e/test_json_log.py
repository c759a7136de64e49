"""The bot's log as a log pipeline reads it with ``ROOTKEY_LOG_FORMAT=json``: every line of a
real bot run (its audit worker processes included) is one JSON object, a traceback too."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from simulator.aws import SimulatedAws
from simulator.slack import SlackStandin
from tests.support.botproc import BotProcess, bot_env, run_bot_once
from tests.support.signing import command_body, post_signed
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

CHANNEL = "C0ROOTKEY1"


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token="xoxb-test-token") as standin:
        yield standin


def check(bot: BotProcess, slack: SlackStandin, text: str) -> None:
    body = command_body(text, channel=CHANNEL, response_url=slack.response_url())
    assert post_signed(bot.events_url, body).status_code == 200


def test_every_log_line_of_a_bot_run_is_one_json_object_in_json_format(
    slack: SlackStandin, aws: SimulatedAws
) -> None:
    # A queue that does not exist: every poll fails and is logged with its traceback.
    missing = aws.endpoint_url.rstrip("/") + "/111111111111/rootkey-no-such-queue"
    env = bot_env(
        slack,
        None,
        aws.env(),
        ROOTKEY_LOG_FORMAT="json",
        ROOTKEY_EVENTS_QUEUE_URL=missing,
        ROOTKEY_DIGEST_CHANNEL=CHANNEL,
        ROOTKEY_ACCOUNT_TIMEOUT="1s",
    )
    slack.reset()
    org = aws.create_organization(members=["slow"])
    # past the account's time limit: the audit's worker process logs it
    aws.set_latency(3.0, org.members[0].account_id)
    with BotProcess(env) as process:
        check(process, slack, "check all")
        slack.wait_for(lambda: slack.messages(CHANNEL))
        wait_until(lambda: "polling failed" in process.logs, what="the failed poll logged")
    lines = process.logs.splitlines()

    records = [json.loads(line) for line in lines]  # every line, or this raises

    assert all(isinstance(r, dict) for r in records)
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    assert any(r["message"].startswith("rootkey listening on") for r in records)
    assert any("passed its time limit" in r["message"] for r in records)  # the worker's
    failed = next(r for r in records if "polling failed" in r["message"])
    assert failed["level"] == "ERROR"
    assert "Traceback (most recent call last)" in failed["exception"]
    assert failed["time"].endswith("Z")


def test_a_log_format_that_is_neither_text_nor_json_stops_start_up_in_one_line(
    slack: SlackStandin, moto_server: SimulatedAws
) -> None:
    done = run_bot_once(bot_env(slack, None, moto_server.env(), ROOTKEY_LOG_FORMAT="yaml"))

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "configuration error: ROOTKEY_LOG_FORMAT: expected 'text' or 'json', got 'yaml'"
    ]
