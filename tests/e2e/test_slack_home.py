"""The App Home tab through the running bot: a signed app_home_opened event in, the view the
bot publishes read back from the Slack stand-in (views.publish), the store behind it filled by a
real /rootkey check against the simulated AWS."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.support.botproc import BotProcess
from tests.support.signing import TEST_SIGNING_SECRET, command_body, post_signed

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-test-token"
TEAM = "T0TEAM0001"
CHANNEL = "C0ROOTKEY1"
DIGESTS = "C0DIGEST01"
RILEY = "U0RILEY001"


def home_opened(user: str, tab: str = "home", team: str = TEAM) -> str:
    return json.dumps(
        {
            "token": "unused",
            "team_id": team,
            "api_app_id": "A0ROOTKEY1",
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0RILEY001",
                "tab": tab,
                "event_ts": f"{time.time():.6f}",
            },
        }
    )


def post_event(bot: BotProcess, body: str, secret: str = TEST_SIGNING_SECRET) -> int:
    response = post_signed(
        bot.events_url, body, secret, extra_headers={"Content-Type": "application/json"}
    )
    return response.status_code


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=BOT_TOKEN) as standin:
        yield standin


@pytest.fixture(scope="module")
def bot(slack: SlackStandin, moto_server: SimulatedAws) -> Iterator[BotProcess]:
    moto_server.reset()
    org = moto_server.create_organization(2)
    keyed = org.members[0].account_id
    moto_server.set_root_keys(keyed, [RootKeySpec(slot=1, created=days_ago(30))])
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": TEST_SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "SLACK_TEAM_ID": TEAM,
        "ROOTKEY_SCOPE": "org",
        "ROOTKEY_DIGEST_CHANNEL": DIGESTS,
        "ROOTKEY_DIGEST_CRON": "0 9 * * 1",
        "ROOTKEY_TIMEZONE": "Europe/Berlin",
        **moto_server.env(),
    }
    with BotProcess(env) as process:
        # a real audit fills the store the Home tab is drawn from
        body = command_body("check", response_url=slack.response_url(CHANNEL), channel=CHANNEL)
        status = post_signed(process.events_url, body).status_code
        assert status == 200
        slack.wait_for(lambda: slack.messages(CHANNEL))
        process.keyed = keyed  # type: ignore[attr-defined]
        yield process
    assert BOT_TOKEN not in process.logs


def texts(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


def test_opening_the_home_tab_publishes_where_things_stand(
    slack: SlackStandin, bot: BotProcess
) -> None:
    assert post_event(bot, home_opened(RILEY)) == 200
    view = slack.wait_for(lambda: slack.home_view(RILEY))
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    text = texts(view)
    assert "3 accounts" in text and "1 noncompliant" in text and "66% compliant" in text
    assert "Open findings* (1)" in text
    assert "Next digest" in text and f"<#{DIGESTS}>" in text and "09:00 CE" in text
    assert f"<@{RILEY}>" in text
    actions = [
        e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert actions == ["rootkey_request_remediation", "rootkey_accept_risk"]
    (finding,) = [
        b for b in view["blocks"] if b.get("block_id", "").startswith("rootkey_home_finding:")
    ]
    assert finding["block_id"] == f"rootkey_home_finding:{bot.keyed}"  # type: ignore[attr-defined]
    assert MANAGEMENT_ACCOUNT not in json.dumps(finding)
    published = slack.calls("views.publish")
    assert published and published[-1].args["user_id"] == RILEY


def test_the_messages_tab_and_forged_events_publish_nothing(
    slack: SlackStandin, bot: BotProcess
) -> None:
    before = len(slack.attempts("views.publish"))
    assert post_event(bot, home_opened("U0MSGTAB01", tab="messages")) == 200
    assert post_event(bot, home_opened("U0FORGED01"), secret="not-the-secret") == 401
    # a later, genuine event is handled: the two above were passed over, not queued
    assert post_event(bot, home_opened("U0LATER001")) == 200
    slack.wait_for(lambda: slack.home_view("U0LATER001"))
    assert slack.home_view("U0MSGTAB01") is None and slack.home_view("U0FORGED01") is None
    assert len(slack.attempts("views.publish")) == before + 1


def test_a_home_tab_slack_refuses_leaves_the_bot_answering(
    slack: SlackStandin, bot: BotProcess
) -> None:
    slack.workspace.home_tab_enabled = False  # the app was installed without the Home tab
    try:
        assert post_event(bot, home_opened("U0NOHOME01")) == 200
        slack.wait_for(
            lambda: [c for c in slack.attempts("views.publish") if c.error == "not_enabled"]
        )
    finally:
        slack.workspace.home_tab_enabled = True
    assert post_event(bot, home_opened("U0NOHOME01")) == 200
    assert slack.wait_for(lambda: slack.home_view("U0NOHOME01"))["type"] == "home"
