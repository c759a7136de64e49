"""The demo's Slack workspace, in memory: channels, messages and threads, ephemeral messages,
files, open modals, trigger ids and response URLs.

Everything is guarded by one condition variable; every change bumps ``version`` and wakes the
page's long polls. Shapes follow what Slack stores and returns, so payloads built from here look
like Slack's.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bot.demo import identities as ids

Json = dict[str, Any]

TRIGGER_TTL = 30.0  # Slack allows 3 s; the page is slower to click through than a client
RESPONSE_URL_TTL = 30 * 60.0
RESPONSE_URL_USES = 5
ALPHABET = string.ascii_uppercase + string.digits


def new_id(prefix: str, length: int = 10) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


class SlackError(Exception):
    """A Web API error code (``channel_not_found``, ...), returned as ``{"ok": false}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[Json] | None = None
    attachments: list[Json] | None = None
    files: list[Json] = field(default_factory=list)
    thread_ts: str | None = None
    reply_broadcast: bool = False
    ephemeral_to: str | None = None  # shown to this user only
    from_bot: bool = False
    mrkdwn: bool = True
    kind: str = "message"  # "message", "command" (a typed slash command), "notice" (from Slack)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    revision: int = 0

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.ts}"

    def public(self) -> Json:
        """The message as the Web API and interaction payloads show it."""
        data: Json = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        if self.from_bot:
            data.update(bot_id=ids.BOT_ID, app_id=ids.APP_ID)
        if self.blocks is not None:
            data["blocks"] = self.blocks
        if self.attachments:
            data["attachments"] = self.attachments
        if self.files:
            data["files"] = self.files
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        data["team"] = ids.TEAM_ID
        return data


@dataclass
class StoredFile:
    file_id: str
    name: str
    content: bytes = b""
    title: str | None = None
    length: int | None = None
    alt_txt: str | None = None
    complete: bool = False

    @property
    def mimetype(self) -> str:
        lowered = self.name.lower()
        for suffix, mime in (
            (".png", "image/png"),
            (".jpg", "image/jpeg"),
            (".jpeg", "image/jpeg"),
            (".gif", "image/gif"),
            (".csv", "text/csv"),
            (".json", "application/json"),
            (".txt", "text/plain"),
        ):
            if lowered.endswith(suffix):
                return mime
        if self.content.startswith(b"\x89PNG"):
            return "image/png"
        return "application/octet-stream"

    def public(self) -> Json:
        return {
            "id": self.file_id,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": self.mimetype,
            "filetype": self.name.rpartition(".")[2].lower() if "." in self.name else "binary",
            "size": len(self.content),
            "url_private": f"/files/{self.file_id}",
            "url_private_download": f"/files/{self.file_id}?download=1",
            "alt_txt": self.alt_txt,
        }


@dataclass
class ResponseTarget:
    """Where a ``response_url`` posts: the command's channel, or the clicked message."""

    user: str
    channel: str
    message_ts: str | None = None  # the message an interaction came from
    thread_ts: str | None = None
    uses: int = 0
    expires: float = 0.0


@dataclass
class Conversation:
    channel_id: str
    name: str
    topic: str
    members: tuple[str, ...]
    im_user: str | None = None

    def public(self) -> Json:
        data: Json = {
            "id": self.channel_id,
            "name": self.name,
            "is_channel": self.im_user is None,
            "is_im": self.im_user is not None,
            "is_private": False,
            "is_member": True,
            "is_archived": False,
            "topic": {"value": self.topic},
            "num_members": len(self.members),
        }
        if self.im_user:
            data["user"] = self.im_user
        return data


def with_ids(blocks: list[Json] | None) -> list[Json] | None:
    """Slack fills in a ``block_id`` for every block and an ``action_id`` for every element."""
    if blocks is None:
        return None
    out = []
    for block in blocks:
        if not isinstance(block, dict):
            out.append(block)
            continue
        block = dict(block)
        block.setdefault("block_id", new_id("", 5))
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict) and block[key].get("type") != "image":
                block[key] = dict(block[key])
                block[key].setdefault("action_id", new_id("", 5))
        if isinstance(block.get("elements"), list) and block.get("type") == "actions":
            block["elements"] = [
                dict(e, action_id=e.get("action_id") or new_id("", 5)) if isinstance(e, dict) else e
                for e in block["elements"]
            ]
        out.append(block)
    return out


class Workspace:
    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.version = 0
        self.conversations: dict[str, Conversation] = {}
        members = (*tuple(p.user_id for p in ids.PEOPLE), ids.BOT_USER_ID)
        for channel in ids.CHANNELS:
            self.conversations[channel.channel_id] = Conversation(
                channel.channel_id, channel.name, channel.topic, members
            )
        for person in ids.PEOPLE:
            dm = ids.dm_channel_id(person.user_id)
            self.conversations[dm] = Conversation(
                dm, ids.BOT_NAME, "", (person.user_id, ids.BOT_USER_ID), person.user_id
            )
        self.usergroups = {"S0DEMOLEAD": ("security-leads", (ids.APPROVER.user_id,))}
        self.messages: dict[str, Message] = {}  # by Message.key, in posting order
        self.files: dict[str, StoredFile] = {}
        self.triggers: dict[str, tuple[str, float]] = {}
        self.response_urls: dict[str, ResponseTarget] = {}
        self.views: dict[str, Json] = {}
        self.view_owner: dict[str, str] = {}
        self.stacks: dict[str, list[str]] = {p.user_id: [] for p in ids.PEOPLE}
        self.last_ts = 0.0

    # -- changes -------------------------------------------------------------------------

    def touch(self) -> None:
        """Call with the lock held: a change the page must see."""
        self.version += 1
        self.changed.notify_all()

    def wait(self, since: int, timeout: float) -> int:
        with self.changed:
            self.changed.wait_for(lambda: self.version != since, timeout=timeout)
            return self.version

    def next_ts(self) -> str:
        now = max(time.time(), self.last_ts + 0.000001)
        self.last_ts = now
        return f"{now:.6f}"

    # -- conversations -------------------------------------------------------------------

    def resolve_channel(self, channel: object) -> Conversation:
        """A channel id, ``#name``, or a user id (meaning the DM with that user)."""
        key = str(channel or "").strip()
        if key.startswith("#"):
            key = next((c.channel_id for c in self.conversations.values() if c.name == key[1:]), "")
        if key.startswith("U") and any(p.user_id == key for p in ids.PEOPLE):
            key = ids.dm_channel_id(key)
        if key not in self.conversations:
            raise SlackError("channel_not_found")
        return self.conversations[key]

    def find(self, channel: str, ts: object) -> Message:
        message = self.messages.get(f"{channel}:{ts}")
        if message is None:
            raise SlackError("message_not_found")
        return message

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [
            m
            for m in self.messages.values()
            if m.channel == channel and m.thread_ts == thread_ts and m.ts != thread_ts
        ]

    # -- posting -------------------------------------------------------------------------

    def post(self, **fields: Any) -> Message:
        with self.changed:
            channel = fields["channel"]
            thread_ts = fields.get("thread_ts") or None
            if thread_ts:
                parent = self.find(channel, thread_ts)
                thread_ts = parent.thread_ts or parent.ts  # a reply to a reply joins the thread
                if parent.ephemeral_to:
                    raise SlackError("thread_not_found")
            fields["thread_ts"] = thread_ts
            fields["blocks"] = with_ids(fields.get("blocks"))
            message = Message(ts=self.next_ts(), **fields)
            self.messages[message.key] = message
            self.touch()
            return message

    def update(self, channel: str, ts: str, **fields: Any) -> Message:
        with self.changed:
            message = self.find(channel, ts)
            if "blocks" in fields:
                fields["blocks"] = with_ids(fields["blocks"])
            for name, value in fields.items():
                setattr(message, name, value)
            message.revision += 1
            self.touch()
            return message

    def delete(self, channel: str, ts: str) -> None:
        with self.changed:
            message = self.find(channel, ts)
            del self.messages[message.key]
            for reply in self.replies(channel, ts):
                if message.thread_ts is None:
                    del self.messages[reply.key]
            self.touch()

    def react(self, channel: str, ts: str, name: str, user: str, add: bool) -> None:
        with self.changed:
            message = self.find(channel, ts)
            users = message.reactions.setdefault(name, [])
            if add and user in users:
                raise SlackError("already_reacted")
            if not add and user not in users:
                raise SlackError("no_reaction")
            if add:
                users.append(user)
            else:
                users.remove(user)
                if not users:
                    del message.reactions[name]
            message.revision += 1
            self.touch()

    # -- triggers and response URLs ------------------------------------------------------

    def new_trigger(self, user: str) -> str:
        trigger = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        now = time.monotonic()
        with self.changed:
            for old in [t for t, (_, expires) in self.triggers.items() if expires < now]:
                del self.triggers[old]
            self.triggers[trigger] = (user, now + TRIGGER_TTL)
        return trigger

    def use_trigger(self, trigger: object) -> str:
        with self.changed:
            entry = self.triggers.pop(str(trigger or ""), None)
        if entry is None:
            raise SlackError("invalid_trigger_id")
        user, expires = entry
        if time.monotonic() > expires:
            raise SlackError("expired_trigger_id")
        return user

    def new_response_url(self, target: ResponseTarget) -> str:
        token = secrets.token_urlsafe(18)
        now = time.monotonic()
        target.expires = now + RESPONSE_URL_TTL
        with self.changed:
            for old in [t for t, known in self.response_urls.items() if known.expires < now]:
                del self.response_urls[old]
            self.response_urls[token] = target
        return token

    def use_response_url(self, token: str) -> ResponseTarget:
        with self.changed:
            target = self.response_urls.get(token)
            if target is None or time.monotonic() > target.expires:
                raise SlackError("expired_url")
            if target.uses >= RESPONSE_URL_USES:
                raise SlackError("used_url")
            target.uses += 1
            return target

    # -- modals --------------------------------------------------------------------------

    def store_view(self, user: str, view: Json, replace: str | None, push: bool) -> Json:
        """Open (or push, or replace) a modal for ``user``; returns the view as Slack does."""
        with self.changed:
            stack = self.stacks.setdefault(user, [])
            if replace:
                view_id = replace
                old = self.views[view_id]
                root, previous = old["root_view_id"], old.get("previous_view_id")
                state = {"values": {}}
            else:
                view_id = new_id("V")
                if not push:
                    for old_id in stack:
                        self.views.pop(old_id, None)
                    stack.clear()
                root = stack[0] if stack else view_id
                previous = stack[-1] if stack else None
                state = {"values": {}}
                stack.append(view_id)
            if len(stack) > 3:
                stack.pop()
                raise SlackError("push_limit_reached")
            stored = {
                "type": "modal",
                **{k: v for k, v in view.items() if k != "id"},
                "id": view_id,
                "team_id": ids.TEAM_ID,
                "app_id": ids.APP_ID,
                "bot_id": ids.BOT_ID,
                "app_installed_team_id": ids.TEAM_ID,
                "blocks": with_ids(view.get("blocks") or []),
                "private_metadata": view.get("private_metadata", ""),
                "callback_id": view.get("callback_id", ""),
                "state": state,
                "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
                "root_view_id": root,
                "previous_view_id": previous,
                "clear_on_close": bool(view.get("clear_on_close", False)),
                "notify_on_close": bool(view.get("notify_on_close", False)),
                "external_id": view.get("external_id", ""),
            }
            self.views[view_id] = stored
            self.view_owner[view_id] = user
            self.touch()
            return stored

    def view_by(self, view_id: object = None, external_id: object = None) -> str:
        with self.changed:
            if view_id and str(view_id) in self.views:
                return str(view_id)
            if external_id:
                for key, view in self.views.items():
                    if view.get("external_id") == external_id:
                        return key
        raise SlackError("not_found")

    def close_view(self, user: str, view_id: str, clear: bool = False) -> None:
        with self.changed:
            stack = self.stacks.get(user, [])
            if view_id in stack:
                cut = 0 if clear else stack.index(view_id)
                for old in stack[cut:]:
                    self.views.pop(old, None)
                del stack[cut:]
            self.touch()

    # -- files ---------------------------------------------------------------------------

    def new_file(self, name: str, length: int | None, alt_txt: str | None) -> StoredFile:
        with self.changed:
            stored = StoredFile(new_id("F"), name or "file", length=length, alt_txt=alt_txt)
            self.files[stored.file_id] = stored
            return stored

    def upload(self, file_id: str, content: bytes) -> None:
        with self.changed:
            stored = self.files.get(file_id)
            if stored is None or stored.complete:
                raise SlackError("file_not_found")
            stored.content = content
