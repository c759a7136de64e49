"""Hostile envelopes over Socket Mode: no HTTP signature there, so the workspace and app checks
and the repeat guard are what stand between a payload and a listener."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest

from bot.slack.action_ids import ActionId
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import TEAM, SlackStandin, SocketModeServer
from tests.reliability.harness import APP_ID, BOT_TOKEN, live_markup, wait_until
from tests.support.botproc import BotProcess
from tests.support.signing import FINDING_MESSAGE, actions_body, command_body

pytestmark = pytest.mark.slow

APP_TOKEN = "xapp-1-A0ROOTKEY1-rk6SECRETapptokenP3w9"


@pytest.fixture(scope="module")
def socket_bot(
    moto_server: SimulatedAws,
) -> Iterator[tuple[BotProcess, SlackStandin, SocketModeServer]]:
    with (
        SlackStandin(bot_token=BOT_TOKEN, app_token=APP_TOKEN, earlier=[FINDING_MESSAGE]) as slack,
        SocketModeServer() as ws,
    ):
        slack.set_socket_url(ws.url)
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": slack.base_url,
            "SLACK_TEAM_ID": TEAM,
            "SLACK_APP_ID": APP_ID,
            "ROOTKEY_SCOPE": "org",
            **moto_server.env(),
        }
        with BotProcess(env) as bot:
            ws.wait_connected()
            yield bot, slack, ws
        assert APP_TOKEN not in bot.logs and BOT_TOKEN not in bot.logs


def slash(text: str, slack: SlackStandin, **kw: str) -> dict[str, str]:
    body = command_body(text, response_url=slack.response_url(), trigger_id=uuid.uuid4().hex, **kw)
    return dict(parse_qsl(body))


def org_with_key(aws: SimulatedAws) -> str:
    org = aws.create_organization(members=["prod"])
    account = org.members[0].account_id
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(40))])
    aws.reset_calls()
    return account


@pytest.mark.parametrize(
    "team, app_id",
    [("T0OTHER001", APP_ID), ("", APP_ID), (TEAM, "A0OTHERAPP")],
    ids=["team", "no team", "app"],
)
def test_envelopes_for_another_workspace_or_app_do_nothing(
    socket_bot: tuple[BotProcess, SlackStandin, SocketModeServer],
    aws: SimulatedAws,
    team: str,
    app_id: str,
) -> None:
    bot, slack, ws = socket_bot
    slack.reset()
    account = org_with_key(aws)
    refusals = bot.logs.count("refused a request for another")
    ws.push("slash_commands", slash("check all", slack, team=team, api_app_id=app_id))
    click = json.loads(
        dict(
            parse_qsl(
                actions_body(
                    ActionId.REQUEST_REMEDIATION.value,
                    f"{account}:",
                    response_url=slack.response_url(),
                    team=team,
                    api_app_id=app_id,
                    trigger_id=slack.workspace.new_trigger("U0ALICE001"),
                )
            )
        )["payload"]
    )
    ws.push("interactive", click)
    # both envelopes refused (the command's lacks team_id when ``team`` is empty)
    wait_until(lambda: bot.logs.count("refused a request for another") == refusals + 2)
    time.sleep(1.5)  # give a wrongly accepted payload time to act
    assert slack.attempts() == [] and slack.responses() == []
    assert aws.call_count() == 0


def test_a_replayed_envelope_starts_one_audit(
    socket_bot: tuple[BotProcess, SlackStandin, SocketModeServer], aws: SimulatedAws
) -> None:
    _, slack, ws = socket_bot
    slack.reset()
    org_with_key(aws)
    payload = slash("check all", slack)
    first = ws.wait_ack(ws.push("slash_commands", payload))
    ws.wait_ack(ws.push("slash_commands", payload))  # the same command delivered again
    assert "Auditing" in first["payload"]["text"]
    slack.wait_for(lambda: slack.messages())
    time.sleep(1.5)
    assert len(slack.messages()) == 1
    assert aws.call_count(action="ListAccounts") == 1


def test_hostile_text_over_socket_mode_is_inert(
    socket_bot: tuple[BotProcess, SlackStandin, SocketModeServer],
) -> None:
    _, slack, ws = socket_bot
    slack.reset()
    ack = ws.wait_ack(ws.push("slash_commands", slash("<!channel> <@U0EVIL0001> hi", slack)))
    assert "unknown command" in ack["payload"]["text"]
    assert live_markup(ack["payload"]) == []
