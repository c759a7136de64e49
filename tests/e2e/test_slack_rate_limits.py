"""Slack's 429 (with Retry-After) is honoured on every Web API method the bot calls, not only
on posts: the bot's own Web API client, over HTTP, against the stand-in that answers 429 as
Slack does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import load_config
from bot.wiring import web_client
from simulator.slack import SlackStandin

TOKEN = "xoxb-test-token"
GROUP = "S0APPROVE1"
USER = "U0ALEX0001"


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=TOKEN) as standin:
        standin.set_usergroup(GROUP, [USER])
        yield standin


def client_for(slack: SlackStandin) -> WebClient:
    config = load_config({"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": slack.base_url})
    return web_client(config)


CALLS = {
    "auth.test": lambda c: c.auth_test(),
    "usergroups.users.list": lambda c: c.usergroups_users_list(usergroup=GROUP),
    "views.publish": lambda c: c.views_publish(user_id=USER, view={"type": "home", "blocks": []}),
}


@pytest.mark.parametrize("method", sorted(CALLS))
def test_a_rate_limited_call_is_sent_again_after_retry_after(
    slack: SlackStandin, method: str
) -> None:
    slack.fail(method, "ratelimited", retry_after=0)

    answer = CALLS[method](client_for(slack))

    assert answer["ok"] is True
    assert [a.status for a in slack.attempts(method)] == [429, 200]


def test_group_members_are_read_through_two_rate_limits(slack: SlackStandin) -> None:
    slack.fail("usergroups.users.list", "ratelimited", times=2, retry_after=0)

    answer = client_for(slack).usergroups_users_list(usergroup=GROUP)

    assert answer["users"] == [USER]


def test_a_call_rate_limited_without_end_fails_as_ratelimited(slack: SlackStandin) -> None:
    slack.fail("usergroups.users.list", "ratelimited", times=10, retry_after=0)

    with pytest.raises(SlackApiError) as raised:
        client_for(slack).usergroups_users_list(usergroup=GROUP)

    assert raised.value.response["error"] == "ratelimited"
    assert len(slack.attempts("usergroups.users.list")) == 3  # the call and two retries


def test_a_retry_after_longer_than_a_listener_may_wait_is_not_slept(slack: SlackStandin) -> None:
    slack.fail("views.publish", "ratelimited", retry_after=3600)

    with pytest.raises(SlackApiError) as raised:
        CALLS["views.publish"](client_for(slack))

    assert raised.value.response["error"] == "ratelimited"
    assert len(slack.attempts("views.publish")) == 1


def test_posts_are_left_to_the_poster_which_retries_and_logs_them(slack: SlackStandin) -> None:
    slack.fail("chat.postMessage", "ratelimited", retry_after=0)

    with pytest.raises(SlackApiError):
        client_for(slack).chat_postMessage(channel="C0SECURITY", text="hello")

    assert [a.status for a in slack.attempts("chat.postMessage")] == [429]
