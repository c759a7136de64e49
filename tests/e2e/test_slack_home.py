"""The App Home tab through the running bot: a signed app_home_opened event in, the view the
bot publishes read back from the Slack stand-in (views.publish), the store behind it filled by a
real /rootkey check against the simulated AWS."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.support.botproc import BotProcess, bot_env
from tests.support.signing import TEST_SIGNING_SECRET, click_payload, command_body, post_signed
from tests.support.slackflow import filled_form, submit

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
    env = bot_env(
        slack, None, moto_server.env(),
        SLACK_TEAM_ID=TEAM, ROOTKEY_SCOPE="org", ROOTKEY_DIGEST_CHANNEL=DIGESTS,
        ROOTKEY_DIGEST_CRON="0 9 29 2 *",  # far from any test run: no digest audits
        ROOTKEY_TIMEZONE="Europe/Berlin",
    )  # fmt: skip
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


def test_the_home_tab_makes_no_aws_call(
    slack: SlackStandin, bot: BotProcess, moto_server: SimulatedAws
) -> None:
    moto_server.reset_calls()
    assert post_event(bot, home_opened("U0NOAWS001")) == 200
    slack.wait_for(lambda: slack.home_view("U0NOAWS001"))
    assert moto_server.calls_by_action() == {}


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


# ------------------------------------------------ the stand-in refuses what Slack refuses


@pytest.mark.parametrize(
    ("view", "error"),
    [
        ({"type": "modal", "blocks": []}, "invalid_arguments"),
        ({"type": "home", "blocks": [{"type": "divider"}] * 101}, "invalid_blocks"),
        (
            {
                "type": "home",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            },
            "invalid_blocks",
        ),
        ({"type": "home", "blocks": [], "private_metadata": "x" * 250_001}, "view_too_large"),
    ],
)
def test_the_stand_in_refuses_a_view_slack_would_refuse(
    slack: SlackStandin, view: dict[str, Any], error: str
) -> None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=BOT_TOKEN, base_url=slack.base_url)
    with pytest.raises(SlackApiError) as caught:
        client.views_publish(user_id="U0ATTACK01", view=view)
    assert caught.value.response["error"] == error
    assert slack.home_view("U0ATTACK01") is None


def test_the_stand_in_checks_the_hash_of_the_current_home_view(slack: SlackStandin) -> None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=BOT_TOKEN, base_url=slack.base_url)
    first = client.views_publish(user_id="U0HASH0001", view={"type": "home", "blocks": []})
    with pytest.raises(SlackApiError) as caught:
        client.views_publish(
            user_id="U0HASH0001", view={"type": "home", "blocks": []}, hash="1.stale"
        )
    assert caught.value.response["error"] == "hash_conflict"
    again = client.views_publish(
        user_id="U0HASH0001", view={"type": "home", "blocks": []}, hash=first["view"]["hash"]
    )
    assert again["view"]["id"] == first["view"]["id"]


def home_click(
    slack: SlackStandin, view: dict[str, Any], user: str, action_id: str, value: str
) -> str:
    """A ``block_actions`` payload of a button on the Home tab, as Slack sends it: no channel,
    no message, no response_url; the Home view instead, and a trigger the stand-in issues
    now (it opens a modal within 3 s, once)."""
    trigger = slack.workspace.new_trigger(user)
    payload = {
        **click_payload(
            action_id, value, user=user, username=user.lower(), team=TEAM, trigger_id=trigger
        ),
        "container": {"type": "view", "view_id": view["id"]},
        "view": view,
    }
    return urlencode({"payload": json.dumps(payload)})


def home_request_button(slack: SlackStandin, bot: BotProcess, user: str) -> dict[str, Any]:
    """``user`` opens the Home tab of ``bot``: its view, with the "Request remediation" button
    of the finding as ``button``."""
    assert post_event(bot, home_opened(user)) == 200
    view = slack.wait_for(lambda: slack.home_view(user))
    (button,) = [
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "rootkey_request_remediation"
    ]
    return {**view, "button": button}


def click_home_request(
    slack: SlackStandin, bot: BotProcess, view: dict[str, Any], user: str
) -> None:
    button = view.pop("button")
    body = home_click(slack, view, user, button["action_id"], button["value"])
    assert post_signed(bot.events_url, body).status_code == 200


def test_request_remediation_from_the_home_tab_goes_to_the_digest_channel(
    slack: SlackStandin, bot: BotProcess
) -> None:
    """The finding's audit ran in another channel; without ROOTKEY_REQUEST_CHANNEL a request
    from the Home tab goes to the digest channel, where the bot posts for everyone."""
    user = "U0HOMEREQ1"
    click_home_request(slack, bot, home_request_button(slack, bot, user), user)

    form = filled_form(slack, bot.keyed)  # type: ignore[attr-defined]
    meta = json.loads(form["private_metadata"])
    assert (meta["a"], meta["c"]) == (bot.keyed, DIGESTS)  # type: ignore[attr-defined]
    reply = submit(bot.events_url, form, user, {"reason": "from the Home tab"})
    assert reply.status_code == 200
    posted = slack.wait_for(
        lambda: [m for m in slack.messages(DIGESTS) if "from the Home tab" in json.dumps(m.args)]
    )
    assert posted[0].channel == DIGESTS
    # and the requester's Home tab lists it among their own requests
    assert post_event(bot, home_opened(user)) == 200
    slack.wait_for(lambda: "remediation of" in json.dumps((slack.home_view(user) or {})["blocks"]))


def test_with_neither_channel_set_the_home_button_says_so_and_opens_no_form(
    slack: SlackStandin, bot: BotProcess, moto_server: SimulatedAws
) -> None:
    user = "U0HOMENONE"
    env = bot_env(slack, None, moto_server.env(), SLACK_TEAM_ID=TEAM, ROOTKEY_SCOPE="org")
    with BotProcess(env) as lone:
        view = home_request_button(slack, bot, user)  # the finding, as the Home tab shows it
        opened = len(slack.calls("views.open"))
        updates = len(slack.calls("views.update"))
        click_home_request(slack, lone, view, user)
        shown = slack.wait_for(lambda: slack.calls("views.open")[opened:])
        text = json.dumps(shown[0].args["view"])
        assert "ROOTKEY_REQUEST_CHANNEL" in text and "ROOTKEY_DIGEST_CHANNEL" in text, text
        assert not shown[0].args["view"].get("submit")  # a note, not a form
        # no form is filled in later either: the bot has nothing queued for it
        assert post_event(lone, home_opened(user)) == 200
        slack.wait_for(lambda: slack.calls("views.publish") and slack.home_view(user))
        assert not [
            c for c in slack.calls("views.update")[updates:] if c.args["view"].get("submit")
        ]


def test_a_request_where_no_approver_is_a_member_is_refused_in_the_form(
    slack: SlackStandin, bot: BotProcess, moto_server: SimulatedAws
) -> None:
    """ROOTKEY_REQUEST_CHANNEL is a private channel none of the approvers is in: the form says
    so (and nothing is posted); once an approver is invited, the same form goes through."""
    user, approver, private = "U0HOMEPRIV", "U0APPROVE9", "C0PRIVREQ1"
    slack.workspace.add_channel(private, "approvals", private=True, members=[user])
    env = bot_env(
        slack, None, moto_server.env(),
        SLACK_TEAM_ID=TEAM, ROOTKEY_SCOPE="org", ROOTKEY_REQUEST_CHANNEL=private,
        ROOTKEY_APPROVERS=approver,
    )  # fmt: skip
    with BotProcess(env) as guarded:
        updates = len(slack.calls("views.update"))
        click_home_request(slack, guarded, home_request_button(slack, bot, user), user)
        form = filled_form(slack, bot.keyed, after=updates)  # type: ignore[attr-defined]
        reply = submit(guarded.events_url, form, user, {"reason": "nobody would see it"})
        assert reply.status_code == 200
        errors = reply.json()["errors"]
        assert "no approver" in errors["reason"].lower() and private in errors["reason"], errors
        assert not slack.messages(private)

        slack.workspace.conversations[private].members.add(approver)
        reply = submit(guarded.events_url, form, user, {"reason": "an approver is in now"})
        assert reply.status_code == 200 and not reply.text, reply.text
        slack.wait_for(lambda: slack.messages(private))


def test_a_home_tab_button_rootkey_did_not_write_is_told_in_a_direct_message(
    slack: SlackStandin, bot: BotProcess
) -> None:
    """A click on the Home tab has no response_url and no channel: a private note about it
    (here: a button value rootkey did not write, as a tampered or truncated payload carries)
    goes to the clicker in a direct message, never nowhere."""
    user = "U0HOMEBAD1"
    view = home_request_button(slack, bot, user)
    button = view.pop("button")
    body = home_click(slack, view, user, button["action_id"], "not-a-finding")
    opened = len(slack.calls("views.open"))

    assert post_signed(bot.events_url, body).status_code == 200

    told = slack.wait_for(
        lambda: [m for m in slack.messages(user) if "button is not valid" in m.args["text"]]
    )
    assert len(told) == 1
    assert len(slack.calls("views.open")) == opened  # no form for it
