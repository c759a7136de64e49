"""The real bot in Socket Mode: slack_sdk's built-in client connects to a local websocket
server (handed out by the stand-in's apps.connections.open), gets a slash command envelope,
acks it over the socket and posts the result through the Web API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest

from tests.support.aws import RootKeySpec, SimulatedAws, days_ago
from tests.support.botproc import BotProcess
from tests.support.signing import command_body
from tests.support.slack_standin import SlackStandin, SocketModeServer

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-app-token"


@pytest.fixture
def socket_bot(aws: SimulatedAws) -> Iterator[tuple[BotProcess, SlackStandin, SocketModeServer]]:
    with SlackStandin(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as slack, SocketModeServer() as ws:
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
    assert section["accessory"]["value"].startswith(bad)
    assert bot.wait_healthy(5)["mode"] == "socket"


def test_help_over_socket_mode_is_private(
    socket_bot: tuple[BotProcess, SlackStandin, SocketModeServer],
) -> None:
    _, slack, ws = socket_bot

    ack = ws.wait_ack(ws.push("slash_commands", slash_payload("bogus", slack)))

    assert ack["payload"]["response_type"] == "ephemeral"
    assert "unknown command 'bogus'" in ack["payload"]["text"]
    assert not slack.calls("chat.postMessage")
