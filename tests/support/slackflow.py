"""What a person does in Slack, sent to the bot as Slack sends it, and what the bot answered,
read back from the Slack stand-in: signed button clicks, form submissions, the filled form,
private answers, request messages and thread replies.

Forms, answers and messages are picked by account, response_url or block id, never by order of
arrival: a late ``views.update`` of an earlier click (such as the key-usage summary) may land
after the form a test waits for.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

import requests

from bot.slack.action_ids import ActionId
from simulator.slack import APP_ID, TEAM, Posted, SlackStandin
from tests.support.signing import (
    FINDING_MESSAGE,
    TEST_SIGNING_SECRET,
    actions_body,
    command_body,
    post_signed,
)

# -- clicks ---------------------------------------------------------------------------------------


def click(
    url: str,
    slack: SlackStandin,
    action_id: str,
    value: str,
    user: str,
    ts: str = FINDING_MESSAGE[1],
    *,
    secret: str = TEST_SIGNING_SECRET,
    response_url: str | None = None,
    **kw: Any,
) -> requests.Response:
    """A signed click of a button (``action_id``, ``value``) on the message ``ts``; ``kw`` goes
    to ``actions_body`` (channel, team...). Its ``trigger_id`` is one the stand-in issues now,
    as Slack does for each click: it opens a modal within 3 s, once."""
    response_url = response_url or slack.response_url()
    kw.setdefault("trigger_id", slack.workspace.new_trigger(user))
    body = actions_body(action_id, value, response_url=response_url, user=user, message_ts=ts, **kw)
    return post_signed(url, body, secret)


def press(
    url: str,
    slack: SlackStandin,
    element: dict[str, Any],
    user: str,
    ts: str,
    *,
    secret: str = TEST_SIGNING_SECRET,
) -> None:
    """Click the button ``element`` as the bot drew it; the bot must ack it."""
    reply = click(url, slack, element["action_id"], element["value"], user, ts, secret=secret)
    assert reply.status_code == 200


def private_answer(slack: SlackStandin, response_url: str, timeout: float = 30.0) -> str:
    """The text of the answer to one click or command (matched by its own response_url,
    never by arrival order: on a loaded machine answers overtake each other); it must be
    private."""
    reply = slack.answer_to(response_url, timeout)
    assert reply.get("response_type", "ephemeral") == "ephemeral", reply
    return str(reply.get("text"))


def click_answer(
    url: str,
    slack: SlackStandin,
    action_id: str,
    value: str,
    user: str,
    ts: str = FINDING_MESSAGE[1],
    *,
    secret: str = TEST_SIGNING_SECRET,
) -> str:
    """Click and return the private answer to that click."""
    response_url = slack.response_url()
    reply = click(url, slack, action_id, value, user, ts, secret=secret, response_url=response_url)
    assert reply.status_code == 200, reply.text
    return private_answer(slack, response_url)


# -- forms ----------------------------------------------------------------------------------------


def text_input(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def view_payload(
    view: dict[str, Any],
    user: str,
    values: dict[str, Any],
    *,
    team: str = TEAM,
    api_app_id: str = APP_ID,
) -> str:
    """A ``view_submission`` of ``view`` (as the bot last sent it) with the given field values
    by block id: text (or None), or a dict sent as the element's state as is (a date picker's,
    a user select's)."""
    state = {
        block: {"value": value if isinstance(value, dict) else text_input(value)}
        for block, value in values.items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": team, "domain": "example"},
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": api_app_id,
        "token": "deprecated-verification-token",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:12]}",
        "view": {**view, "state": {"values": state}},
    }
    return urlencode({"payload": json.dumps(payload)})


def submit(
    url: str,
    view: dict[str, Any],
    user: str,
    values: dict[str, Any],
    *,
    secret: str = TEST_SIGNING_SECRET,
    **kw: Any,
) -> requests.Response:
    """Submit ``view`` (see ``view_payload``); the bot's answer as it is."""
    return post_signed(url, view_payload(view, user, values, **kw), secret)


def submit_ok(url: str, view: dict[str, Any], user: str, values: dict[str, Any]) -> None:
    """Submit ``view``; the bot must take it (an empty 200: no form errors)."""
    reply = submit(url, view, user, values)
    assert reply.status_code == 200 and not reply.text, reply.text


def filled_form(
    slack: SlackStandin,
    account: str | None = None,
    *,
    callback: str | None = None,
    channel: str | None = None,
    after: int = 0,
) -> dict[str, Any]:
    """The form as the bot filled it in (the latest ``views.update`` with a submit button,
    among those after the first ``after``), with its view id: with ``account``, that account's
    form; with ``callback``, of that kind; with ``channel``, opened from that channel."""

    def ready() -> dict[str, Any] | None:
        for call in reversed(slack.calls("views.update")[after:]):
            view = call.args["view"]
            if isinstance(view, str):
                view = json.loads(view)
            meta = json.loads(view.get("private_metadata") or "{}")
            if (
                view.get("submit")
                and callback in (None, view.get("callback_id"))
                and channel in (None, meta.get("c"))
                and account in (None, meta.get("a"))
            ):
                return {**view, "id": call.args["view_id"]}
        return None

    return slack.wait_for(ready)


# -- messages -------------------------------------------------------------------------------------


def block(message: Posted, block_id: str) -> dict[str, Any] | None:
    return next((b for b in message.args["blocks"] if b.get("block_id") == block_id), None)


def button(message: Posted, block_id: str, action: str) -> dict[str, Any]:
    """The button ``action`` of the block ``block_id`` (which must be there)."""
    found = block(message, block_id)
    assert found is not None, f"no block {block_id}"
    return next(e for e in found["elements"] if e["action_id"] == action)


def approve_as(url: str, slack: SlackStandin, message: Posted, request_id: int, user: str) -> None:
    """Approve as a person does: the request message's Approve (the bot checks the rights),
    then the button of the private confirmation it answers with."""
    review = button(message, f"rootkey_decide:{request_id}", ActionId.REVIEW_APPROVAL)
    response_url = slack.response_url()
    reply = click(
        url, slack, review["action_id"], review["value"], user, message.ts,
        response_url=response_url,
    )  # fmt: skip
    assert reply.status_code == 200, reply.text
    prompt = slack.answer_to(response_url)
    confirm = next(
        e
        for b in prompt.get("blocks") or []
        if b.get("type") == "actions"
        for e in b["elements"]
        if e["action_id"] == ActionId.APPROVE
    )
    press(url, slack, confirm, user, message.ts)


def thread(slack: SlackStandin, channel: str, ts: str) -> list[str]:
    """The texts of the replies in the thread of ``ts``, oldest first."""
    return [str(m.args.get("text") or "") for m in slack.messages(channel) if m.thread_ts == ts]


def decide_buttons(slack: SlackStandin, channel: str | None = None) -> dict[int, str]:
    """request id -> ts of every request message (the one with Approve / Reject), in
    ``channel`` (None: anywhere)."""
    found: dict[int, str] = {}
    for m in slack.messages(channel):
        for b in m.args.get("blocks") or []:
            block_id = str(b.get("block_id", ""))
            if block_id.startswith("rootkey_decide:"):
                found[int(block_id.split(":")[1])] = m.ts
    return found


def status(url: str, slack: SlackStandin, user: str) -> dict[str, Any]:
    """``/rootkey status`` sent to the bot at ``url``: an empty ack at once, then the answer
    through its own response_url."""
    response_url = slack.response_url()
    reply = post_signed(url, command_body("status", response_url=response_url, user=user))
    assert reply.status_code == 200 and not reply.text
    return slack.answer_to(response_url)
