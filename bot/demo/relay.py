"""What a person does on the page, sent to the bot as the signed request Slack would send.

Slash commands go as Slack's form body; clicks, modal submissions and closed modals go as
``payload=<json>`` (``block_actions``, ``view_submission``, ``view_closed``). Every request is
signed with v0 HMAC-SHA256 over ``v0:{timestamp}:{body}`` with the demo's signing secret and
posted to the bot's ``/slack/events``, with Slack's 3-second limit. The bot cannot tell these
requests from Slack's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.demo import identities as ids
from simulator.slack.webapi import WebApi
from simulator.slack.workspace import Json, Message, SlackError, Workspace

SLACKBOT = "USLACKBOT"
SLACK_TIMEOUT = 3.0
OPTION_TYPES = {"static_select", "external_select", "radio_buttons", "overflow"}
MULTI_OPTION_TYPES = {"multi_static_select", "multi_external_select", "checkboxes"}
TEXT_TYPES = {"plain_text_input", "url_text_input", "email_text_input", "number_input"}
PICKED = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "multi_users_select": "selected_users",
    "multi_conversations_select": "selected_conversations",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}


@dataclass(frozen=True)
class Reply:
    status: int  # 0 when the bot could not be reached
    body: bytes
    problem: str | None = None  # what Slack would report: dispatch_failed, operation_timeout


def sign(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def person_ref(user_id: str) -> Json:
    for p in ids.PEOPLE:
        if p.user_id == user_id:
            return {"id": p.user_id, "username": p.handle, "name": p.handle, "team_id": ids.TEAM_ID}
    raise SlackError("user_not_found")


def find_element(blocks: list[Json], block_id: str, action_id: str) -> Json | None:
    for block in blocks:
        if not isinstance(block, dict) or block.get("block_id") != block_id:
            continue
        candidates = [block.get("accessory"), block.get("element"), *(block.get("elements") or [])]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    return None


def options(element: Json) -> list[Json]:
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found.extend(group.get("options") or [])
    return [o for o in found if isinstance(o, dict)]


def state_value(element: Json, raw: Json) -> Json:
    """One element's entry in ``state.values``, built from the element and what was chosen."""
    kind = str(element.get("type"))
    chosen = [str(v) for v in raw.get("values") or [] if v is not None]
    value = raw.get("value")
    entry: Json = {"type": kind}
    if kind in TEXT_TYPES:
        entry["value"] = str(value) if value not in (None, "") else None
    elif kind in OPTION_TYPES:
        match = [o for o in options(element) if str(o.get("value")) == str(value)]
        entry["selected_option"] = match[0] if match else None
    elif kind in MULTI_OPTION_TYPES:
        entry["selected_options"] = [o for o in options(element) if str(o.get("value")) in chosen]
    elif kind in PICKED:
        key = PICKED[kind]
        entry[key] = chosen if kind.startswith("multi_") else (str(value) if value else None)
    else:
        entry["value"] = str(value) if value not in (None, "") else None
    return entry


def is_empty(entry: Json) -> bool:
    return all(v in (None, [], "") for k, v in entry.items() if k != "type")


def state_values(blocks: list[Json], raw: object) -> Json:
    """``state.values`` for the inputs of a message or view; keys the page invented are dropped."""
    values: Json = {}
    if not isinstance(raw, dict):
        return values
    for block_id, by_action in raw.items():
        if not isinstance(by_action, dict):
            continue
        for action_id, chosen in by_action.items():
            element = find_element(blocks, str(block_id), str(action_id))
            if element is not None and isinstance(chosen, dict):
                values.setdefault(block_id, {})[action_id] = state_value(element, chosen)
    return values


class Relay:
    def __init__(
        self, workspace: Workspace, api: WebApi, bot_url: str, signing_secret: str
    ) -> None:
        self.ws = workspace
        self.api = api
        self.bot_url = bot_url
        self.secret = signing_secret

    # -- transport -----------------------------------------------------------------------

    def send(self, body: bytes, content_type: str = "application/x-www-form-urlencoded") -> Reply:
        timestamp = str(int(time.time()))
        request = urllib.request.Request(
            self.bot_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": sign(self.secret, timestamp, body),
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=SLACK_TIMEOUT) as response:
                return Reply(response.status, response.read())
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.read(), "dispatch_failed")
        except TimeoutError:
            return Reply(0, b"", "operation_timeout")
        except urllib.error.URLError as exc:
            timeout = isinstance(exc.reason, TimeoutError)
            return Reply(0, b"", "operation_timeout" if timeout else "dispatch_failed")

    def send_payload(self, payload: Json) -> Reply:
        return self.send(urlencode({"payload": json.dumps(payload)}).encode())

    def notice(self, user: str, channel: str, text: str, thread_ts: str | None = None) -> None:
        """What Slack itself tells a person (only they see it), e.g. that the app failed."""
        self.ws.post(
            channel=channel,
            user=SLACKBOT,
            text=text,
            ephemeral_to=user,
            kind="notice",
            thread_ts=thread_ts,
        )

    def base(self, user: str) -> Json:
        return {
            "user": person_ref(user),
            "api_app_id": ids.APP_ID,
            "token": ids.VERIFICATION_TOKEN,
            "team": {"id": ids.TEAM_ID, "domain": ids.TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # -- events --------------------------------------------------------------------------

    def home_opened(self, user: str, tab: str) -> Reply:
        """The person opened the app's Home or Messages tab: Slack's ``app_home_opened``, an
        Events API callback sent as JSON (shape: Slack's app_home_opened reference and its
        event_callback envelope), with the Home view the app last published for them."""
        if tab not in ("home", "messages"):
            raise SlackError("invalid_arguments")
        person_ref(user)
        event: Json = {
            "type": "app_home_opened",
            "user": user,
            "channel": ids.dm_channel_id(user),
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        published = self.ws.home_views.get(user)
        if published is not None:
            event["view"] = published
        envelope = {
            "token": ids.VERIFICATION_TOKEN,
            "team_id": ids.TEAM_ID,
            "api_app_id": ids.APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": ids.TEAM_ID,
                    "user_id": ids.BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        return self.send(json.dumps(envelope).encode(), "application/json")

    # -- slash commands ------------------------------------------------------------------

    def command(self, user: str, channel_id: str, text: str) -> Reply:
        channel = self.ws.resolve_channel(channel_id)
        person_ref(user)
        typed = f"{ids.COMMAND} {text}".strip()
        self.ws.post(
            channel=channel.channel_id, user=user, text=typed, ephemeral_to=user, kind="command"
        )
        form = {
            "token": ids.VERIFICATION_TOKEN,
            "team_id": ids.TEAM_ID,
            "team_domain": ids.TEAM_DOMAIN,
            "channel_id": channel.channel_id,
            "channel_name": "directmessage" if channel.im_user else channel.name,
            "user_id": user,
            "user_name": person_ref(user)["username"],
            "command": ids.COMMAND,
            "text": text,
            "api_app_id": ids.APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.api.response_target(user, channel.channel_id, None),
            "trigger_id": self.ws.new_trigger(user),
        }
        reply = self.send(urlencode(form).encode())
        if reply.problem or reply.status != 200:
            self.notice(
                user,
                channel.channel_id,
                f'`{typed}` failed with the error "{reply.problem or "dispatch_failed"}"',
            )
            return reply
        self.show_ack(user, channel.channel_id, reply.body)
        return reply

    def show_ack(self, user: str, channel: str, body: bytes) -> None:
        """The body of a command's ack is a message: to the channel or only to the person."""
        if not body.strip():
            return
        try:
            message = json.loads(body)
        except json.JSONDecodeError:
            message = {"text": body.decode("utf-8", "replace")}
        if not isinstance(message, dict):
            return
        try:
            fields = self.api.message_fields(message)
        except SlackError as exc:
            self.notice(user, channel, f"The app's answer was refused: {exc.code}")
            return
        if not fields["text"] and not fields["blocks"]:
            return
        in_channel = message.get("response_type") == "in_channel"
        self.ws.post(
            channel=channel,
            user=ids.BOT_USER_ID,
            from_bot=True,
            ephemeral_to=None if in_channel else user,
            **fields,
        )

    # -- clicks --------------------------------------------------------------------------

    def action(
        self,
        user: str,
        container: Json,
        block_id: str,
        action_id: str,
        value: Any = None,
        values: Any = None,
        state: Any = None,
    ) -> Reply:
        """A click on a button (or a choice in a select) in a message or a modal."""
        payload = self.base(user)
        payload["type"] = "block_actions"
        payload["trigger_id"] = self.ws.new_trigger(user)
        message: Message | None = None
        if container.get("type") == "view":
            view_id = str(container.get("view_id"))
            home = self.ws.home_views.get(user)
            view = home if home and home["id"] == view_id else self.ws.views.get(view_id)
            if view is None:
                raise SlackError("view_not_found")
            blocks = view["blocks"]
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["view"] = dict(view, state={"values": state_values(blocks, state)})
        else:
            channel = self.ws.resolve_channel(container.get("channel"))
            message = self.ws.find(channel.channel_id, container.get("ts"))
            if message.ephemeral_to not in (None, user):
                raise SlackError("message_not_found")
            blocks = message.blocks or []
            payload["container"] = {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": channel.channel_id,
                "is_ephemeral": bool(message.ephemeral_to),
            }
            if message.thread_ts:
                payload["container"]["thread_ts"] = message.thread_ts
            payload["channel"] = {"id": channel.channel_id, "name": channel.name}
            if not message.ephemeral_to:
                payload["message"] = message.public()
            payload["state"] = {"values": state_values(blocks, state)}
            payload["response_url"] = self.api.response_target(user, channel.channel_id, message)
        element = find_element(blocks, block_id, action_id)
        if element is None:
            raise SlackError("action_not_found")
        act: Json = {
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if element.get("type") == "button":
            act.update(type="button", text=element.get("text"))
            for key in ("value", "style", "url"):
                if key in element:
                    act[key] = element[key]
        else:
            act.update(state_value(element, {"value": value, "values": values}))
        payload["actions"] = [act]
        reply = self.send_payload(payload)
        if (reply.problem or reply.status != 200) and message is not None:
            self.notice(
                user,
                message.channel,
                f"rootkey did not handle that click ({reply.problem or reply.status}).",
                thread_ts=message.thread_ts,
            )
        return reply

    # -- modals --------------------------------------------------------------------------

    def submit(self, user: str, view_id: str, raw: object) -> Json:
        """Submit a modal; returns what the page should do: close, or show errors."""
        view = self.ws.views.get(view_id)
        if view is None or self.ws.view_owner.get(view_id) != user:
            raise SlackError("view_not_found")
        values = state_values(view["blocks"], raw)
        missing = {}
        for block in view["blocks"]:
            if block.get("type") != "input" or block.get("optional"):
                continue
            element = block.get("element") or {}
            entry = values.get(block["block_id"], {}).get(element.get("action_id"))
            if entry is None:
                entry = state_value(element, {})
                values.setdefault(block["block_id"], {})[element.get("action_id")] = entry
            if is_empty(entry):
                missing[block["block_id"]] = "Please fill out this required field."
        if missing:
            return {"errors": missing}
        for block in view["blocks"]:  # Slack sends every input, empty ones as null
            element = block.get("element")
            if block.get("type") == "input" and isinstance(element, dict):
                values.setdefault(block["block_id"], {}).setdefault(
                    element.get("action_id"), state_value(element, {})
                )
        payload = self.base(user)
        payload.update(
            type="view_submission",
            trigger_id=self.ws.new_trigger(user),
            view=dict(view, state={"values": values}),
            response_urls=[],
        )
        reply = self.send_payload(payload)
        if reply.problem or reply.status != 200:
            return {"failed": f"rootkey did not accept the form ({reply.problem or reply.status})"}
        answer: Json = {}
        if reply.body.strip():
            try:
                answer = json.loads(reply.body)
            except json.JSONDecodeError:
                answer = {}
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action == "errors":
            return {"errors": answer.get("errors") or {}}
        if action == "update" and isinstance(answer.get("view"), dict):
            self.ws.store_view(user, answer["view"], replace=view_id, push=False)
            return {"updated": True}
        if action == "push" and isinstance(answer.get("view"), dict):
            self.ws.store_view(user, answer["view"], replace=None, push=True)
            return {"pushed": True}
        self.ws.close_view(user, view_id, clear=action == "clear")
        return {"closed": True}

    def close(self, user: str, view_id: str) -> None:
        view = self.ws.views.get(view_id)
        if view is None or self.ws.view_owner.get(view_id) != user:
            return
        self.ws.close_view(user, view_id, clear=bool(view.get("clear_on_close")))
        if view.get("notify_on_close"):
            payload = self.base(user)
            payload.update(type="view_closed", view=view, is_cleared=False)
            self.send_payload(payload)
