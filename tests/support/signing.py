"""Requests signed the way Slack signs them (v0 HMAC-SHA256 over ``v0:{timestamp}:{body}``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import requests

TEST_SIGNING_SECRET = "test-signing-secret-not-a-real-one"


def sign(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str,
    secret: str = TEST_SIGNING_SECRET,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign(secret, ts, body),
    }


def command_body(
    text: str,
    *,
    response_url: str,
    channel: str = "C0ROOTKEY1",
    user: str = "U0ALICE001",
    team: str = "T0TEAM0001",
    trigger_id: str | None = None,
    command: str = "/rootkey",
    api_app_id: str = "A0ROOTKEY1",
) -> str:
    """A slash-command payload as Slack sends it (form-encoded)."""
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": team,
            "team_domain": "example",
            "channel_id": channel,
            "channel_name": "security",
            "user_id": user,
            "user_name": "alice",
            "command": command,
            "text": text,
            "api_app_id": api_app_id,
            "response_url": response_url,
            "trigger_id": trigger_id or f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:12]}",
        }
    )


# The message a click of ``actions_body`` comes from by default (channel, ts): an audit result
# the bot posted before the test. A test whose bot answers in its thread lays it out in the
# Slack stand-in (``SlackStandin(earlier=[FINDING_MESSAGE])``): Slack has no thread without it.
FINDING_MESSAGE = ("C0ROOTKEY1", "1700000000.000100")


def click_payload(
    action_id: str,
    value: str,
    *,
    user: str = "U0ALICE001",
    username: str = "alice",
    team: str = "T0TEAM0001",
    api_app_id: str = "A0ROOTKEY1",
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """What every ``block_actions`` payload of one button click carries, wherever the button
    is (a message, the Home tab); the caller adds where it is. ``trigger_id``: one the Slack
    stand-in issued (``workspace.new_trigger``), which expires as Slack's do; by default a
    made-up one, with which the stand-in opens no modal (``invalid_trigger_id``, as Slack), so
    a click meant to open one carries an issued trigger (``slackflow.click`` does)."""
    return {
        "type": "block_actions",
        "team": {"id": team, "domain": "example"},
        "user": {"id": user, "username": username, "team_id": team},
        "api_app_id": api_app_id,
        "token": "deprecated-verification-token",
        "trigger_id": trigger_id or f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:12]}",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b",
                "type": "button",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def actions_body(
    action_id: str,
    value: str,
    *,
    response_url: str,
    channel: str = FINDING_MESSAGE[0],
    user: str = "U0ALICE001",
    team: str = "T0TEAM0001",
    message_ts: str = FINDING_MESSAGE[1],
    api_app_id: str = "A0ROOTKEY1",
    trigger_id: str | None = None,
) -> str:
    """A ``block_actions`` payload of a button on a message (form-encoded ``payload=<json>``)."""
    payload = {
        **click_payload(
            action_id, value, user=user, team=team, api_app_id=api_app_id, trigger_id=trigger_id
        ),
        "channel": {"id": channel, "name": "security"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "message": {"ts": message_ts, "type": "message", "text": "", "blocks": []},
        "response_url": response_url,
    }
    return urlencode({"payload": json.dumps(payload)})


def post_signed(
    url: str,
    body: str,
    secret: str = TEST_SIGNING_SECRET,
    *,
    timestamp: int | None = None,
    extra_headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> requests.Response:
    headers = signed_headers(body, secret, timestamp=timestamp)
    headers.update(extra_headers or {})
    return requests.post(url, data=body.encode(), headers=headers, timeout=timeout)
