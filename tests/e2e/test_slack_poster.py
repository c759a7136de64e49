"""Posting through the Web API stand-in: retries, backoff, delivered once, failures reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from slack_sdk import WebClient

from bot.slack.blocks.command import note
from bot.slack.poster import DeliveryError, Poster
from simulator.slack import SlackStandin

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-test-token"
MESSAGE = note("hello from rootkey")


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=TOKEN) as standin:
        yield standin


def poster_for(slack: SlackStandin, *, timeout: int = 5) -> tuple[Poster, list[float]]:
    slept: list[float] = []
    client = WebClient(token=TOKEN, base_url=slack.base_url, timeout=timeout, retry_handlers=[])
    return Poster(client, attempts=4, base_delay=0.01, sleep=slept.append), slept


def test_retry_after_is_honoured_and_the_message_is_posted_once(slack: SlackStandin) -> None:
    poster, slept = poster_for(slack)
    slack.fail("chat.postMessage", "ratelimited", retry_after=7)
    slack.fail("chat.postMessage", "server_error", times=2)

    posted = poster.post("C1", MESSAGE)

    assert posted.via == "chat" and posted.ts
    assert slept[0] == 7.0
    assert len(slept) == 3 and all(s < 1 for s in slept[1:])
    assert [a.status for a in slack.attempts("chat.postMessage")] == [429, 500, 500, 200]
    assert len(slack.messages("C1")) == 1


def test_a_retry_after_beyond_the_cap_is_capped(slack: SlackStandin) -> None:
    poster, slept = poster_for(slack)
    slack.fail("chat.postMessage", "ratelimited", retry_after=3600)

    poster.post("C1", MESSAGE)

    assert slept == [poster.max_retry_after]


def test_a_timeout_that_had_delivered_is_not_posted_again(slack: SlackStandin) -> None:
    poster, _ = poster_for(slack, timeout=1)
    slack.fail("chat.postMessage", "timeout", delay=2.5)

    posted = poster.post("C1", MESSAGE)

    assert len(slack.messages("C1")) == 1
    assert posted.ts == slack.messages("C1")[0].ts
    assert len(slack.attempts("chat.postMessage")) == 1


def test_the_stand_in_has_only_the_manifest_scopes(slack: SlackStandin) -> None:
    with open(ROOT / "slack" / "manifest.yml", encoding="utf-8") as manifest:
        bot_scopes = yaml.safe_load(manifest)["oauth_config"]["scopes"]["bot"]
    assert slack.scopes == frozenset(bot_scopes)


def test_a_timeout_in_a_thread_is_not_posted_again(slack: SlackStandin) -> None:
    slack.add_message("C1", "1700000000.000100", "a finding")
    poster, _ = poster_for(slack, timeout=1)
    slack.fail("chat.postMessage", "timeout", delay=2.5)

    posted = poster.post("C1", MESSAGE, thread_ts="1700000000.000100")

    [reply] = [m for m in slack.messages("C1") if m.thread_ts == "1700000000.000100"]
    assert posted.ts == reply.ts
    assert len(slack.attempts("chat.postMessage")) == 1
    assert slack.calls("conversations.replies")  # history does not list thread replies


def test_a_timeout_in_a_public_channel_the_bot_is_not_in_is_not_posted_again(
    slack: SlackStandin,
) -> None:
    slack.workspace.add_channel("C0UNINVITE1", bot_member=False)
    poster, _ = poster_for(slack, timeout=1)
    slack.fail("chat.postMessage", "timeout", delay=2.5)

    posted = poster.post("C0UNINVITE1", MESSAGE)  # chat:write.public: no need to be in it

    assert [m.ts for m in slack.messages("C0UNINVITE1")] == [posted.ts]
    assert len(slack.attempts("chat.postMessage")) == 1
    assert [c.args["channel"] for c in slack.calls("conversations.join")] == ["C0UNINVITE1"]


def test_server_errors_to_the_end_are_reported_through_response_url(slack: SlackStandin) -> None:
    poster, _ = poster_for(slack)
    slack.fail("chat.postMessage", "server_error", times=4)
    response_url = slack.response_url()

    with pytest.raises(DeliveryError) as caught:
        poster.post("C1", MESSAGE, response_url=response_url)

    assert caught.value.error == "http_500"
    [reply] = slack.responses()
    assert "could not post the result (http_500)" in reply["text"]
    assert not slack.messages()


def test_not_in_channel_falls_back_without_retrying(slack: SlackStandin) -> None:
    poster, slept = poster_for(slack)
    slack.refuse_channel("C2", "not_in_channel")

    posted = poster.post(
        "C2", MESSAGE, response_url=slack.response_url(), on_unreachable=lambda e: note(e)
    )

    assert posted.via == "response_url"
    assert slept == []
    assert len(slack.attempts("chat.postMessage")) == 1
    assert slack.responses()[0] == {
        "response_type": "in_channel",
        "replace_original": False,
        "text": "not_in_channel",
        "blocks": [b.to_dict() for b in note("not_in_channel").blocks],
    }


def test_not_in_channel_without_response_url_is_an_error(slack: SlackStandin) -> None:
    poster, _ = poster_for(slack)
    slack.refuse_channel("C2", "channel_not_found")

    with pytest.raises(DeliveryError, match="channel_not_found"):
        poster.post("C2", MESSAGE)


def test_response_url_is_retried_on_5xx_and_429(slack: SlackStandin) -> None:
    poster, slept = poster_for(slack)
    slack.fail_responses(503, 429)

    poster.respond(slack.response_url(), MESSAGE)

    assert len(slept) == 2
    assert [r["text"] for r in slack.responses()] == ["hello from rootkey"]


def test_response_url_refusal_is_permanent(slack: SlackStandin) -> None:
    poster, slept = poster_for(slack)
    slack.fail_responses(404)

    with pytest.raises(DeliveryError, match="http_404"):
        poster.respond(slack.response_url(), MESSAGE)
    assert slept == []


def test_file_upload_goes_into_the_thread_after_a_rate_limit(slack: SlackStandin) -> None:
    slack.add_message("C1", "1.000100", "the result")
    poster, slept = poster_for(slack)
    slack.fail("files.getUploadURLExternal", "ratelimited", retry_after=2)

    poster.upload("C1", filename="r.csv", content="a,b\r\n", title="report", thread_ts="1.000100")

    [upload] = slack.uploads()
    assert slept == [2.0]
    assert (upload.channel, upload.thread_ts, upload.content) == ("C1", "1.000100", b"a,b\r\n")


def test_an_upload_joins_a_public_channel_the_bot_was_never_invited_to(
    slack: SlackStandin,
) -> None:
    slack.workspace.add_channel("C0UNINVITE1", bot_member=False)
    poster, _ = poster_for(slack)
    result = poster.post("C0UNINVITE1", MESSAGE)

    poster.upload("C0UNINVITE1", filename="r.csv", content="a\r\n", title="r", thread_ts=result.ts)

    [upload] = slack.uploads()
    assert (upload.channel, upload.thread_ts) == ("C0UNINVITE1", result.ts)


def test_an_upload_into_a_private_channel_the_bot_is_not_in_says_why(
    slack: SlackStandin,
) -> None:
    slack.workspace.add_channel("C0PRIVATE1", private=True, bot_member=False)
    poster, _ = poster_for(slack)

    with pytest.raises(DeliveryError) as caught:
        poster.upload("C0PRIVATE1", filename="r.csv", content="a\r\n", title="r")

    assert caught.value.error == "channel_not_found"
    assert not slack.uploads()
