"""The real bot in HTTP mode (in the test's process: the same start and stop as
``python -m bot``): signed requests in, Web API calls out to the stand-in, moto's server behind
it. What must not happen (a refused command audited after all) is looked for once the bot has
no pending work, not after a pause."""

from __future__ import annotations

import csv
import http.client
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.slack.action_ids import ActionId
from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws, days_ago
from simulator.slack import TEAM, SlackStandin
from tests.support.botproc import bot_env
from tests.support.inprocess import InProcessBot
from tests.support.signing import (
    FINDING_MESSAGE,
    TEST_SIGNING_SECRET,
    actions_body,
    command_body,
    post_signed,
    sign,
)

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C0ROOTKEY1"


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=BOT_TOKEN, earlier=[FINDING_MESSAGE]) as standin:
        yield standin


@pytest.fixture(scope="module")
def bot(slack: SlackStandin, moto_server: SimulatedAws) -> Iterator[InProcessBot]:
    env = bot_env(slack, None, moto_server.env(), ROOTKEY_SCOPE="account", SLACK_TEAM_ID=TEAM)
    with InProcessBot(env) as running:
        yield running
    assert TEST_SIGNING_SECRET not in running.logs
    assert BOT_TOKEN not in running.logs


@pytest.fixture
def fresh(slack: SlackStandin, aws: SimulatedAws, bot: InProcessBot) -> SlackStandin:
    slack.reset()
    return slack


def command(bot: InProcessBot, slack: SlackStandin, text: str, **kw: Any) -> requests.Response:
    body = command_body(text, response_url=kw.pop("response_url", slack.response_url()), **kw)
    return post_signed(bot.events_url, body)


def result_in(slack: SlackStandin, channel: str = CHANNEL, count: int = 1) -> list[Any]:
    return slack.wait_for(lambda: (m := slack.messages(channel)) and len(m) >= count and m)


def sections(message: Any) -> list[dict[str, Any]]:
    return [b for b in message.args["blocks"] if b["type"] == "section"]


def finding(message: Any, account_id: str) -> dict[str, Any]:
    for block in sections(message):
        if block.get("block_id", "").endswith(account_id):
            return block
    raise AssertionError(f"no section for {account_id}")


def remediation_button(message: Any, account_id: str) -> dict[str, Any]:
    """The finding's "Request remediation" button (in the actions block under its section)."""
    for block in message.args["blocks"]:
        if block.get("block_id") == f"rootkey_finding_actions:{account_id}":
            return dict(block["elements"][0])
    raise AssertionError(f"no buttons for {account_id}")


def org_with_one_key(aws: SimulatedAws) -> tuple[str, str]:
    org = aws.create_organization(members=["prod", "staging", "sandbox"])
    bad = org.members[0].account_id
    aws.set_root_keys(
        bad,
        [
            RootKeySpec(
                slot=1,
                active=True,
                created=days_ago(400),
                last_used=days_ago(2),
                region="eu-west-1",
                service="s3",
            )
        ],
    )
    return bad, org.members[1].account_id


def test_check_all_acks_then_posts_the_finding_with_its_button(
    bot: InProcessBot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bad, good = org_with_one_key(aws)

    ack = command(bot, fresh, "check all")

    assert ack.status_code == 200
    assert "Auditing every active account of the Organization" in ack.json()["text"]
    [message] = result_in(fresh)
    header = message.args["blocks"][0]["text"]["text"]
    assert header == "Root access keys in 1 of 4 accounts"
    section = finding(message, bad)
    assert "prod" in section["text"]["text"]
    assert "*active*" in section["text"]["text"]
    assert "400 days old" in section["text"]["text"]
    assert "eu-west-1" in section["text"]["text"] and "(s3)" in section["text"]["text"]
    button = remediation_button(message, bad)
    assert button["action_id"] == ActionId.REQUEST_REMEDIATION
    assert button["value"].split(":")[0] == bad
    compliant = next(b for b in sections(message) if b["block_id"] == "rootkey_compliant")
    assert f"{good} (staging)" in compliant["text"]["text"]
    assert bad in message.args["text"]  # the notification fallback names it too


def test_bare_check_audits_the_configured_scope_and_names_the_account(
    bot: InProcessBot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    ack = command(bot, fresh, "check")

    assert "the account of the bot's AWS credentials" in ack.json()["text"]
    [message] = result_in(fresh)
    assert MANAGEMENT_ACCOUNT in message.args["blocks"][0]["text"]["text"]
    assert "No root access key" in message.args["blocks"][0]["text"]["text"]


def test_named_accounts_are_audited_and_bad_ids_refused_privately(
    bot: InProcessBot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bad, good = org_with_one_key(aws)

    refused = command(bot, fresh, f"check {bad} 12345 <!channel>")
    ack = command(bot, fresh, f"check {bad} {good}")

    assert refused.status_code == 200
    assert refused.json().get("response_type", "ephemeral") == "ephemeral"
    # 12345 is no id; "<!channel>" could be an account name (AWS allows < and !), never echoed
    assert "'12345' is not an AWS account id" in refused.json()["text"]
    assert "<!channel>" not in str(refused.json()["blocks"])
    assert "Auditing 2 accounts" in ack.json()["text"]
    [message] = result_in(fresh)
    assert message.args["blocks"][0]["text"]["text"] == "Root access keys in 1 of 2 accounts"
    bot.wait_idle()  # an audit of the refused command would have been posted by now
    assert len(fresh.messages()) == 1


@pytest.mark.parametrize("text", ["help", "", "frobnicate now"])
def test_help_and_unknown_commands_answer_privately(
    bot: InProcessBot, fresh: SlackStandin, text: str
) -> None:
    ack = command(bot, fresh, text)

    assert ack.status_code == 200
    body = ack.json()
    assert body.get("response_type", "ephemeral") == "ephemeral"
    assert "/rootkey check all" in str(body["blocks"])
    if text.startswith("frobnicate"):
        assert "unknown command 'frobnicate'" in body["text"]
    assert not fresh.calls("chat.postMessage")


def test_bad_signature_and_stale_timestamp_are_refused(
    bot: InProcessBot, fresh: SlackStandin
) -> None:
    body = command_body("check", response_url=fresh.response_url())
    wrong = post_signed(bot.events_url, body, "not-the-secret")
    stale = post_signed(bot.events_url, body, timestamp=int(time.time()) - 600)
    future = post_signed(bot.events_url, body, timestamp=int(time.time()) + 600)
    unsigned = requests.post(
        bot.events_url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    ts = str(int(time.time()))
    tampered = requests.post(
        bot.events_url,
        data=body.replace("text=check", "text=check+all"),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(TEST_SIGNING_SECRET, ts, body),
        },
    )

    assert [r.status_code for r in (wrong, stale, future, unsigned, tampered)] == [401] * 5
    ok = command(bot, fresh, "check")
    assert ok.status_code == 200
    result_in(fresh)
    assert len(fresh.messages()) == 1


def test_a_slack_retry_never_starts_a_second_audit(
    bot: InProcessBot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    body = command_body("check", response_url=fresh.response_url())

    first = post_signed(bot.events_url, body)
    retry = post_signed(
        bot.events_url,
        body,
        extra_headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    result_in(fresh)
    later = command(bot, fresh, "check")  # a new command is audited as usual
    result_in(fresh, count=2)

    assert first.status_code == retry.status_code == later.status_code == 200
    bot.wait_idle()  # the retry, audited by mistake, would have been posted by now
    assert len(fresh.messages()) == 2


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found"])
def test_a_channel_the_bot_cannot_post_in_gets_the_result_through_response_url(
    bot: InProcessBot, fresh: SlackStandin, aws: SimulatedAws, error: str
) -> None:
    bad, _ = org_with_one_key(aws)
    fresh.refuse_channel("C0PRIVATE1", error)

    command(bot, fresh, "check all", channel="C0PRIVATE1")

    [reply] = fresh.wait_for(lambda: fresh.responses())
    assert reply["response_type"] == "in_channel"
    text = str(reply["blocks"])
    assert bad in text
    assert "/invite @rootkey" in text
    assert error in text
    assert not fresh.messages()


def test_rate_limits_and_server_errors_are_retried_and_delivered_once(
    bot: InProcessBot, fresh: SlackStandin
) -> None:
    fresh.fail("chat.postMessage", "ratelimited", retry_after=1)
    fresh.fail("chat.postMessage", "server_error")

    command(bot, fresh, "check")

    result_in(fresh)
    attempts = fresh.attempts("chat.postMessage")
    assert [a.status for a in attempts] == [429, 500, 200]
    assert attempts[1].at - attempts[0].at >= 1.0  # Retry-After: 1 was honoured
    assert len(fresh.messages()) == 1


def test_when_posting_fails_for_good_the_user_is_told(
    bot: InProcessBot, fresh: SlackStandin
) -> None:
    fresh.fail("chat.postMessage", "invalid_blocks")

    command(bot, fresh, "check")

    [reply] = fresh.wait_for(lambda: fresh.responses())
    assert "could not post the result (invalid_blocks)" in reply["text"]
    assert reply["response_type"] == "ephemeral"
    assert "could not post" in bot.logs


def test_a_large_organization_stays_within_slack_limits_and_gets_the_csv(
    bot: InProcessBot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    org = aws.create_organization(members=60)
    noncompliant = [m.account_id for m in org.members[:50]]
    for age, account_id in enumerate(noncompliant):
        aws.set_root_keys(account_id, [RootKeySpec(slot=1, active=True, created=days_ago(age))])

    command(bot, fresh, "check all")

    [message] = result_in(fresh)
    blocks = message.args["blocks"]
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in sections(message))
    assert blocks[0]["text"]["text"] == "Root access keys in 50 of 61 accounts"
    shown = [b for b in blocks if str(b.get("block_id")).startswith("rootkey_finding_actions:")]
    oldest = noncompliant[-1]
    assert oldest in shown[0]["block_id"]  # worst (oldest key) first
    assert "every account is in the full report (CSV) in the thread" in str(blocks)
    [upload] = fresh.wait_for(lambda: fresh.uploads())
    assert upload.channel == CHANNEL and upload.thread_ts == message.ts
    rows = list(csv.reader(io.StringIO(upload.content.decode())))
    ids = {cell for row in rows[1:] for cell in row}
    assert {a.account_id for a in org.all_accounts} <= ids
    assert len(rows) == 1 + 61


def test_rerun_button_audits_again_and_the_finding_button_opens_the_request_form(
    bot: InProcessBot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bad, _ = org_with_one_key(aws)
    command(bot, fresh, "check all")
    [first] = result_in(fresh)
    actions = next(b for b in first.args["blocks"] if b.get("block_id") == "rootkey_actions")
    rerun = actions["elements"][0]
    remediate = remediation_button(first, bad)

    click = post_signed(
        bot.events_url,
        actions_body(rerun["action_id"], rerun["value"], response_url=fresh.response_url()),
    )
    request = post_signed(
        bot.events_url,
        actions_body(
            remediate["action_id"],
            remediate["value"],
            response_url=fresh.response_url(),
            trigger_id=fresh.workspace.new_trigger("U0ALICE001"),
        ),
    )
    tampered = post_signed(
        bot.events_url,
        actions_body(rerun["action_id"], "accounts:1,<!here>", response_url=fresh.response_url()),
    )

    assert click.status_code == request.status_code == tampered.status_code == 200
    second = result_in(fresh, count=2)[1]
    assert second.args["blocks"][0]["text"]["text"] == "Root access keys in 1 of 4 accounts"
    replies = fresh.wait_for(lambda: len(fresh.responses()) >= 2 and fresh.responses())
    texts = " ".join(r["text"] for r in replies)
    assert "Auditing every active account" in texts
    assert "This button is not valid" in texts
    assert all(r["response_type"] == "ephemeral" for r in replies)
    # The remediation flow takes the finding's button from here: it opens its request form.
    [form] = fresh.wait_for(lambda: fresh.calls("views.open"))
    assert form.args["view"]["type"] == "modal"


def test_an_audit_that_cannot_run_says_so_and_marks_nothing_compliant(
    bot: InProcessBot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    aws.create_organization(members=2)
    aws.deny(None, "ListAccounts")

    command(bot, fresh, "check all")

    [message] = result_in(fresh)
    assert "could not run" in message.args["text"]
    assert "ListAccounts" in message.args["text"] and "AccessDenied" in message.args["text"]
    assert "Nothing was marked compliant" in message.args["text"]


def test_a_request_for_another_workspace_is_refused(bot: InProcessBot, fresh: SlackStandin) -> None:
    foreign = command(bot, fresh, "check", team="T0STRANGER")
    assert foreign.status_code == 403
    ours = command(bot, fresh, "check")
    assert ours.status_code == 200
    result_in(fresh)
    bot.wait_idle()  # the foreign request, audited by mistake, would have been posted by now
    assert len(fresh.messages()) == 1


def test_health_check_and_unknown_paths(bot: InProcessBot) -> None:
    health = requests.get(f"{bot.base_url}/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json()["ok"] is True and health.json()["mode"] == "http"
    assert requests.get(f"{bot.base_url}/nothing", timeout=5).status_code == 404
    assert requests.get(bot.events_url, timeout=5).status_code == 405
    # A body announced as 5 MB is refused before a byte of it is read.
    conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=5)
    conn.putrequest("POST", "/slack/events")
    conn.putheader("Content-Length", str(5 * 1024 * 1024))
    conn.endheaders()
    assert conn.getresponse().status == 413
    conn.close()


def test_url_verification_is_answered(bot: InProcessBot) -> None:
    import json

    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"})
    ts = str(int(time.time()))
    reply = requests.post(
        bot.events_url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sign(TEST_SIGNING_SECRET, ts, body),
        },
        timeout=5,
    )
    assert reply.status_code == 200 and "abc123" in reply.text


def test_check_all_in_a_public_channel_the_bot_was_never_invited_to_gets_the_csv(
    bot: InProcessBot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    uninvited = "C0UNINVITE1"
    fresh.workspace.add_channel(uninvited, bot_member=False)
    org = aws.create_organization(members=60)
    for account in org.members[:50]:
        aws.set_root_keys(account.account_id, [RootKeySpec(slot=1, active=True)])

    command(bot, fresh, "check all", channel=uninvited)

    [message] = result_in(fresh, channel=uninvited)
    assert "every account is in the full report (CSV) in the thread" in str(message.args)
    [upload] = fresh.wait_for(lambda: fresh.uploads())
    assert (upload.channel, upload.thread_ts) == (uninvited, message.ts)
    rows = list(csv.reader(io.StringIO(upload.content.decode())))
    assert len(rows) == 1 + 61


def test_check_all_in_a_private_channel_the_bot_is_not_in_says_to_invite_it(
    bot: InProcessBot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    private = "C0PRIVATE2"
    fresh.workspace.add_channel(private, private=True, bot_member=False)
    org = aws.create_organization(members=60)
    for account in org.members[:50]:
        aws.set_root_keys(account.account_id, [RootKeySpec(slot=1, active=True)])
    response_url = fresh.response_url()

    command(bot, fresh, "check all", channel=private, response_url=response_url)

    reply = fresh.answer_to(response_url)
    assert reply["response_type"] == "in_channel"
    assert "invite @rootkey to get the CSV here" in str(reply["blocks"])
    assert not fresh.uploads() and not fresh.messages(private)
