"""What an operator watches, read as Prometheus reads it: ``GET /metrics`` of the real bot
process (HTTP mode, the Slack stand-in, moto's server), parsed with prometheus_client's own
parser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import TEAM, SlackStandin
from tests.support.botproc import BotProcess, bot_env
from tests.support.signing import FINDING_MESSAGE, command_body, post_signed
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C0ROOTKEY1"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=BOT_TOKEN, earlier=[FINDING_MESSAGE]) as standin:
        yield standin


@pytest.fixture(scope="module")
def bot(slack: SlackStandin, moto_server: SimulatedAws) -> Iterator[BotProcess]:
    env = bot_env(slack, None, moto_server.env(), SLACK_TEAM_ID=TEAM)
    with BotProcess(env) as process:
        yield process


@pytest.fixture
def fresh(slack: SlackStandin, aws: SimulatedAws, bot: BotProcess) -> SlackStandin:
    slack.reset()
    return slack


def scrape(bot: BotProcess) -> Samples:
    """Every sample of ``/metrics`` by (name, labels); the exposition must parse."""
    reply = requests.get(f"{bot.base_url}/metrics", timeout=10)
    assert reply.status_code == 200, reply.text
    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 when the series is not there yet (a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def check(bot: BotProcess, slack: SlackStandin, text: str) -> None:
    body = command_body(text, channel=CHANNEL, response_url=slack.response_url())
    assert post_signed(bot.events_url, body).status_code == 200


def test_a_check_is_counted_timed_and_its_accounts_counted_by_verdict(
    bot: BotProcess, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    org = aws.create_organization(members=["prod", "staging", "sandbox"])
    prod, staging, _sandbox = (m.account_id for m in org.members)
    aws.set_root_keys(prod, [RootKeySpec(slot=1, active=True, created=days_ago(400))])
    aws.deny(staging, "*")  # AccessDenied on every call in it: an error verdict
    before = scrape(bot)

    check(bot, fresh, "check all")
    fresh.wait_for(lambda: fresh.messages(CHANNEL))

    after = scrape(bot)
    org_command = {"scope": "org", "trigger": "command"}
    assert value(after, "rootkey_audits_total", **org_command, outcome="completed") == (
        value(before, "rootkey_audits_total", **org_command, outcome="completed") + 1
    )
    count = "rootkey_audit_duration_seconds_count"
    total = "rootkey_audit_duration_seconds_sum"
    assert value(after, count, **org_command) == value(before, count, **org_command) + 1
    assert value(after, total, **org_command) > value(before, total, **org_command)
    # the Organization as it stands now: management, staging (error), sandbox, prod (key)
    assert value(after, "rootkey_accounts", verdict="noncompliant") == 1
    assert value(after, "rootkey_accounts", verdict="error") == 1
    assert value(after, "rootkey_accounts", verdict="compliant") == 2
    assert value(after, "rootkey_accounts", verdict="accepted_risk") == 0
    assert value(after, "rootkey_aws_errors_total", reason="AccessDenied") > value(
        before, "rootkey_aws_errors_total", reason="AccessDenied"
    )
    # no request is open, and every open state is shown as such (a series from the start)
    assert value(after, "rootkey_open_requests", kind="remediation", state="requested") == 0
    assert (
        "rootkey_open_requests",
        frozenset({("kind", "remediation"), ("state", "approved")}),
    ) in after


def test_slack_retries_and_refusals_are_counted_by_method_and_reason(
    bot: BotProcess, fresh: SlackStandin
) -> None:
    before = scrape(bot)
    fresh.fail("chat.postMessage", "ratelimited", retry_after=1)
    check(bot, fresh, "check")
    fresh.wait_for(lambda: fresh.messages(CHANNEL))
    fresh.reset()
    fresh.fail("chat.postMessage", "invalid_blocks")
    check(bot, fresh, "check")
    fresh.wait_for(lambda: fresh.responses())

    def counted() -> Samples | None:  # the refusal is counted as the reply goes out
        now = scrape(bot)
        refused = value(
            now, "rootkey_slack_refusals_total", method="chat.postMessage", error="invalid_blocks"
        )
        return now if refused else None

    after = wait_until(counted, what="the refusal counted")
    retry = {"method": "chat.postMessage", "reason": "ratelimited"}
    assert value(after, "rootkey_slack_retries_total", **retry) == (
        value(before, "rootkey_slack_retries_total", **retry) + 1
    )
    assert value(
        after, "rootkey_slack_refusals_total", method="chat.postMessage", error="invalid_blocks"
    ) == 1 + value(
        before, "rootkey_slack_refusals_total", method="chat.postMessage", error="invalid_blocks"
    )
