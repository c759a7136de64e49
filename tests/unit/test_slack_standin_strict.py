"""The Slack stand-in refuses what Slack refuses (with the bot scopes of slack/manifest.yml).

Each rule here was checked against Slack's method reference and reports from the slack_sdk /
bolt issue trackers (see simulator/slack/webapi.py); a product test that passes against the
stand-in must not pass only because the stand-in is kinder than Slack.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from simulator.slack import BOT_USER, SlackStandin
from simulator.slack.scopes import app_home, granted_scopes

TOKEN = "xoxb-test-token"
PUBLIC = "C0PUBLIC01"  # the bot was never invited
PRIVATE = "C0PRIVATE1"  # a private channel (ids of new private channels start with C too)
JOINED = "C0JOINED01"


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=TOKEN) as standin:
        standin.workspace.add_channel(PUBLIC, bot_member=False)
        standin.workspace.add_channel(PRIVATE, private=True, bot_member=False)
        standin.workspace.add_channel(JOINED)
        yield standin


@pytest.fixture
def client(slack: SlackStandin) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])


def refused(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as caught:
        call()
    return dict(caught.value.response.data)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_a_method_outside_the_manifest_scopes_is_missing_scope(client: WebClient) -> None:
    granted = granted_scopes()
    assert "team:read" not in granted

    answer = refused(lambda: client.team_info())

    assert answer["error"] == "missing_scope"
    assert answer["needed"] == "team:read"
    assert set(answer["provided"].split(",")) == granted


def test_history_scope_follows_the_kind_of_conversation() -> None:
    with SlackStandin(bot_token=TOKEN, scopes={"chat:write", "channels:history"}) as slack:
        slack.workspace.add_channel(PRIVATE, private=True)
        client = WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])
        client.conversations_history(channel=JOINED)

        answer = refused(lambda: client.conversations_history(channel=PRIVATE))

    assert (answer["error"], answer["needed"]) == ("missing_scope", "groups:history")


def test_chat_write_public_posts_in_a_public_channel_without_joining(
    client: WebClient, slack: SlackStandin
) -> None:
    client.chat_postMessage(channel=PUBLIC, text="result")

    assert [m.args["text"] for m in slack.messages(PUBLIC)] == ["result"]
    assert BOT_USER not in slack.workspace.conversations[PUBLIC].members


def test_without_chat_write_public_a_public_channel_needs_an_invite() -> None:
    with SlackStandin(bot_token=TOKEN, scopes={"chat:write"}) as slack:
        slack.workspace.add_channel(PUBLIC, bot_member=False)
        client = WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])

        answer = refused(lambda: client.chat_postMessage(channel=PUBLIC, text="result"))

    assert answer["error"] == "not_in_channel"


def test_a_private_channel_the_bot_is_not_in_cannot_be_posted_to_or_joined(
    client: WebClient, slack: SlackStandin
) -> None:
    posted = refused(lambda: client.chat_postMessage(channel=PRIVATE, text="result"))
    joined = refused(lambda: client.conversations_join(channel=PRIVATE))

    assert posted["error"] == "channel_not_found"  # a private channel is invisible to others
    assert joined["error"] == "method_not_supported_for_channel_type"
    assert not slack.messages(PRIVATE)


def test_an_ephemeral_message_needs_membership_even_with_chat_write_public(
    client: WebClient, slack: SlackStandin
) -> None:
    """Unlike chat.postMessage, chat.postEphemeral in a public channel the bot was never
    invited to is ``not_in_channel`` with chat:write.public granted (ifvictr/prox#30,
    node-slack-sdk#977); a private one stays invisible."""
    assert "chat:write.public" in granted_scopes()
    user = "U0ALICE001"
    ws = slack.workspace
    public = ws.add_channel("C0UNJOINED", members=[user], bot_member=False).channel_id
    private = ws.add_channel("C0SECRET01", members=[user], private=True, bot_member=False)
    joined = ws.add_channel("C0WITHBOT1", members=[user]).channel_id

    def ephemeral(channel: str) -> Any:
        return client.chat_postEphemeral(channel=channel, user=user, text="too late")

    assert refused(lambda: ephemeral(public))["error"] == "not_in_channel"
    assert refused(lambda: ephemeral(private.channel_id))["error"] == "channel_not_found"
    ephemeral(joined)
    shown = [(m.channel, m.ephemeral_to) for m in ws.messages.values()]
    assert shown == [(joined, user)]


def test_a_direct_message_cannot_be_joined(client: WebClient) -> None:
    answer = refused(lambda: client.conversations_join(channel="D0ALICE001"))

    assert answer["error"] == "method_not_supported_for_channel_type"


def test_an_upload_needs_membership_and_joining_a_public_channel_gives_it(
    client: WebClient, slack: SlackStandin
) -> None:
    result = client.chat_postMessage(channel=PUBLIC, text="result")

    answer = refused(
        lambda: client.files_upload_v2(
            channel=PUBLIC, filename="r.csv", content="a,b\r\n", thread_ts=result["ts"]
        )
    )
    assert answer["error"] == "not_in_channel"
    assert not slack.uploads()

    client.conversations_join(channel=PUBLIC)
    client.files_upload_v2(
        channel=PUBLIC, filename="r.csv", content="a,b\r\n", thread_ts=result["ts"]
    )
    [upload] = slack.uploads()
    assert (upload.channel, upload.thread_ts) == (PUBLIC, result["ts"])


def test_block_text_over_12000_characters_is_msg_blocks_too_long(
    client: WebClient, slack: SlackStandin
) -> None:
    blocks = [section("x" * 2900) for _ in range(4)] + [section("y" * 500)]  # 12,100

    answer = refused(lambda: client.chat_postMessage(channel=JOINED, text="t", blocks=blocks))

    assert answer["error"] == "msg_blocks_too_long"
    client.chat_postMessage(channel=JOINED, text="t", blocks=blocks[:4])  # 11,600: accepted
    assert len(slack.messages(JOINED)) == 1


def test_a_thread_ts_that_is_not_a_message_of_the_channel_is_refused(
    client: WebClient, slack: SlackStandin
) -> None:
    elsewhere = client.chat_postMessage(channel=PUBLIC, text="parent")["ts"]

    made_up = refused(
        lambda: client.chat_postMessage(channel=JOINED, text="r", thread_ts="1700000000.000100")
    )
    other_channel = refused(
        lambda: client.chat_postMessage(channel=JOINED, text="r", thread_ts=elsewhere)
    )

    assert made_up["error"] == other_channel["error"] == "thread_not_found"
    assert not slack.messages(JOINED)


def test_history_shows_no_thread_replies_and_replies_shows_the_thread(
    client: WebClient, slack: SlackStandin
) -> None:
    parent = client.chat_postMessage(channel=JOINED, text="parent")["ts"]
    client.chat_postMessage(channel=JOINED, text="reply", thread_ts=parent)

    history = client.conversations_history(channel=JOINED)["messages"]
    thread = client.conversations_replies(channel=JOINED, ts=parent)["messages"]

    assert [m["text"] for m in history] == ["parent"]
    assert [m["text"] for m in thread] == ["parent", "reply"]


def test_history_of_a_channel_the_bot_is_not_in_is_not_in_channel(client: WebClient) -> None:
    answer = refused(lambda: client.conversations_history(channel=PUBLIC))

    assert answer["error"] == "not_in_channel"


def test_chat_update_edits_only_the_bots_own_messages_within_the_limits(
    client: WebClient, slack: SlackStandin
) -> None:
    slack.add_message(JOINED, "1700000000.000200", "a person's message", from_bot=False)
    mine = client.chat_postMessage(
        channel=JOINED, text="finding", blocks=[section("red")],
        metadata={"event_type": "rootkey_delivery", "event_payload": {"id": "d1"}},
    )["ts"]  # fmt: skip

    theirs = refused(
        lambda: client.chat_update(channel=JOINED, ts="1700000000.000200", text="edited")
    )
    unknown = refused(lambda: client.chat_update(channel=JOINED, ts="1700000000.999999", text="x"))
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns too
        empty = refused(lambda: client.chat_update(channel=JOINED, ts=mine))
    too_long = refused(
        lambda: client.chat_update(
            channel=JOINED, ts=mine, text="t", blocks=[section("x" * 2900) for _ in range(5)]
        )
    )

    assert theirs["error"] == "cant_update_message"
    assert unknown["error"] == "message_not_found"
    assert empty["error"] == "no_text"
    assert too_long["error"] == "msg_blocks_too_long"
    # Read back (blocks with the ids Slack filled in), edited, written back: the ids and the
    # metadata are kept.
    [head] = client.conversations_replies(channel=JOINED, ts=mine, limit=1)["messages"]
    blocks = [{**head["blocks"][0], "text": {"type": "mrkdwn", "text": "green"}}]
    client.chat_update(channel=JOINED, ts=mine, text="fixed", blocks=blocks)
    [again] = client.conversations_replies(
        channel=JOINED, ts=mine, limit=1, include_all_metadata=True
    )["messages"]
    assert again["blocks"] == blocks and again["blocks"][0]["block_id"]
    assert again["metadata"]["event_payload"] == {"id": "d1"}


def test_what_the_bot_posted_is_listed_from_every_conversation(
    slack: SlackStandin, client: WebClient
) -> None:
    """The tests' view of the workspace: without a channel, every channel's messages (a test
    that asserts nothing else was posted must see them all), with a user id, that DM's."""
    slack.workspace.add_dm("U0SOMEONE1", "D0SOMEONE1")
    for channel in (JOINED, "C0OTHER001", "U0SOMEONE1"):
        client.chat_postMessage(channel=channel, text=f"to {channel}")

    assert sorted(m.channel for m in slack.messages()) == sorted(
        [JOINED, "C0OTHER001", "D0SOMEONE1"]
    )
    assert [m.args["text"] for m in slack.messages(JOINED)] == [f"to {JOINED}"]
    assert [m.args["text"] for m in slack.messages("U0SOMEONE1")] == ["to U0SOMEONE1"]


def test_a_dm_to_a_user_id_is_seen_only_where_the_messages_tab_is_on(
    slack: SlackStandin, client: WebClient
) -> None:
    """Slack takes ``chat.postMessage`` to a user id with the app's Messages tab off, but the
    person has no Messages tab to read it in; the stand-in follows the manifest."""
    person = "U0NOTICE01"
    client.chat_postMessage(channel=person, text="you have been assigned request #1")
    client.chat_postMessage(channel="C0OPEN0001", text=f"<@{person}> request #1 is yours")
    slack.workspace.messages_tab_enabled = False
    assert [m.args["text"] for m in slack.seen_by(person)] == [f"<@{person}> request #1 is yours"]
    slack.workspace.messages_tab_enabled = True
    assert len(slack.seen_by(person)) == 2


def test_the_manifest_shows_the_bots_direct_messages() -> None:
    """Assignment notices, reminders and "your request could not be posted" go to people by
    user id: the app's Messages tab must be on (read-only: nothing is read from it)."""
    home = app_home()
    assert home.get("messages_tab_enabled") is True
    assert home.get("messages_tab_read_only_enabled") is True


def test_a_trigger_id_opens_one_modal_within_three_seconds(
    client: WebClient, slack: SlackStandin
) -> None:
    """As Slack (views.open reference): a trigger expires 3 s after the interaction
    (``expired_trigger_id``) and is exchanged once (``exchanged_trigger_id``)."""
    view = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    ws = slack.workspace
    fresh, spent, late = (ws.new_trigger("U0ALICE001") for _ in range(3))
    user, expires = ws.triggers[late]
    assert expires - time.monotonic() <= 3.0
    ws.triggers[late] = (user, time.monotonic() - 0.001)  # its 3 s are over

    client.views_open(trigger_id=fresh, view=view)
    client.views_open(trigger_id=spent, view=view)
    again = refused(lambda: client.views_open(trigger_id=spent, view=view))
    expired = refused(lambda: client.views_open(trigger_id=late, view=view))

    assert again["error"] == "exchanged_trigger_id"
    assert expired["error"] == "expired_trigger_id"


def test_a_trigger_id_the_standin_never_issued_opens_no_modal(
    client: WebClient, slack: SlackStandin
) -> None:
    """Slack opens a modal only with a trigger it issued for an interaction, so every trigger
    expires 3 s after it: one made up by a test (the shape of Slack's, in a payload it signed
    itself) is ``invalid_trigger_id``, as it would be from Slack, at any age."""
    view = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    made_up = f"{int(time.time())}.123456789012.{'ab' * 16}"

    answer = refused(lambda: client.views_open(trigger_id=made_up, view=view))

    assert answer["error"] == "invalid_trigger_id"
    assert not slack.workspace.views
