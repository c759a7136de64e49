"""The real bot in Socket Mode: slack_sdk's built-in client connects to a local websocket
server (handed out by the stand-in's apps.connections.open), gets a slash command envelope,
acks it over the socket and posts the result through the Web API."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, parse_qsl

import pytest

from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin, SocketModeServer
from tests.support.botproc import BotProcess
from tests.support.signing import FINDING_MESSAGE, actions_body, command_body

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-app-token"


@pytest.fixture
def socket_bot(aws: SimulatedAws) -> Iterator[tuple[BotProcess, SlackStandin, SocketModeServer]]:
    with (
        SlackStandin(bot_token=BOT_TOKEN, app_token=APP_TOKEN, earlier=[FINDING_MESSAGE]) as slack,
        SocketModeServer() as ws,
    ):
        slack.set_socket_url(ws.url)
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": slack.base_url,
            **aws.env(),
        }
        with BotProcess(env) as bot:
            ws.wait_connected()
            yield bot, slack, ws
        assert APP_TOKEN not in bot.logs and BOT_TOKEN not in bot.logs


def slash_payload(text: str, slack: SlackStandin) -> dict[str, str]:
    body = command_body(text, response_url=slack.response_url(), trigger_id=uuid.uuid4().hex)
    return dict(parse_qsl(body))


def test_slash_command_over_socket_mode_is_acked_and_answered(
    socket_bot: tuple[BotProcess, SlackStandin, SocketModeServer], aws: SimulatedAws
) -> None:
    bot, slack, ws = socket_bot
    org = aws.create_organization(members=["prod", "dev"])
    bad = org.members[1].account_id
    aws.set_root_keys(bad, [RootKeySpec(slot=2, active=False, created=days_ago(90))])

    envelope = ws.push("slash_commands", slash_payload("check all", slack))

    ack = ws.wait_ack(envelope)
    assert "Auditing every active account" in ack["payload"]["text"]
    [message] = slack.wait_for(lambda: slack.messages())
    assert message.args["blocks"][0]["text"]["text"] == "Root access keys in 1 of 3 accounts"
    section = next(b for b in message.args["blocks"] if b.get("block_id", "").endswith(bad))
    assert "deactivated (delete it to finish)" in section["text"]["text"]
    buttons = next(
        b for b in message.args["blocks"] if b.get("block_id") == f"rootkey_finding_actions:{bad}"
    )
    assert buttons["elements"][0]["value"].startswith(bad)
    assert bot.wait_healthy(5)["mode"] == "socket"


def test_help_over_socket_mode_is_private(
    socket_bot: tuple[BotProcess, SlackStandin, SocketModeServer],
) -> None:
    _, slack, ws = socket_bot

    ack = ws.wait_ack(ws.push("slash_commands", slash_payload("bogus", slack)))

    assert ack["payload"]["response_type"] == "ephemeral"
    assert "unknown command 'bogus'" in ack["payload"]["text"]
    assert not slack.calls("chat.postMessage")


def test_a_button_click_over_socket_mode_runs_the_audit_again(
    socket_bot: tuple[BotProcess, SlackStandin, SocketModeServer], aws: SimulatedAws
) -> None:
    _, slack, ws = socket_bot
    ws.wait_ack(ws.push("slash_commands", slash_payload("check", slack)))
    [first] = slack.wait_for(lambda: slack.messages())
    actions = next(b for b in first.args["blocks"] if b.get("block_id") == "rootkey_actions")
    rerun = actions["elements"][0]
    form = actions_body(rerun["action_id"], rerun["value"], response_url=slack.response_url())
    payload = json.loads(parse_qs(form)["payload"][0])

    ack = ws.wait_ack(ws.push("interactive", payload))

    assert ack["envelope_id"]
    second = slack.wait_for(lambda: len(slack.messages()) >= 2 and slack.messages())[1]
    assert second.args["blocks"][0] == first.args["blocks"][0]  # same account, same verdict
