"""A Slack workspace in memory: people, channels and their members, messages and threads,
ephemeral messages, files, open modals, trigger ids and response URLs.

Everything is guarded by one condition variable (``changed``, re-entrant); every change bumps
``version`` and wakes whoever waits (the demo page's long polls, a test's ``wait_for``). Shapes
follow what Slack stores and returns, so payloads built from here look like Slack's.

Two ways to lay a workspace out:

- a fixed cast (the demo): ``add_user`` / ``add_channel`` / ``add_dm``; anything else is
  ``channel_not_found`` / ``user_not_found``, as in Slack;
- ``open_world=True`` (tests, benchmarks): a channel or user id in Slack's shape that nobody
  declared is created the first time the bot names it (``C...`` a public channel, ``G...`` a
  private one, ``D...`` a DM; the bot a member, as if invited), so a test declares only the
  conversations whose shape matters to it (``add_channel(..., bot_member=False)``). A thread
  is never made up: a reply to a message that is not in the channel is ``thread_not_found``;
  a test that starts from an earlier message lays it out with ``add_message``. Nor is a
  trigger: a modal opens only with a ``trigger_id`` the workspace issued (``new_trigger``), so
  each expires ``TRIGGER_TTL`` after it, as Slack's do; a test that signs a click itself puts
  one in its payload.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

TRIGGER_TTL = 3.0  # seconds a trigger_id opens a modal, as Slack's (then expired_trigger_id)
FORGET = 600.0  # seconds after its expiry an unused trigger is forgotten (then invalid_trigger_id)
RESPONSE_URL_TTL = 30 * 60.0
RESPONSE_URL_USES = 5
ALPHABET = string.ascii_uppercase + string.digits
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{1,20}")
USER_ID = re.compile(r"[UW][A-Z0-9]{1,20}")


def new_id(prefix: str, length: int = 10) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


class SlackError(Exception):
    """A Web API error code (``channel_not_found``, ...), returned as ``{"ok": false}``.

    ``extra`` goes into the answer beside the code (``needed``/``provided`` of missing_scope).
    """

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


@dataclass(frozen=True)
class Identity:
    """Who the workspace and the installed app are."""

    team_id: str
    team_name: str
    team_domain: str
    app_id: str
    bot_id: str
    bot_user_id: str
    bot_name: str = "rootkey"


@dataclass(frozen=True)
class User:
    user_id: str
    handle: str
    real_name: str
    title: str = ""
    is_bot: bool = False

    def public(self, team_id: str) -> Json:
        return {
            "id": self.user_id,
            "team_id": team_id,
            "name": self.handle,
            "real_name": self.real_name,
            "is_bot": self.is_bot,
            "deleted": False,
            "tz": "UTC",
            "tz_offset": 0,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.handle,
                "title": self.title,
            },
        }


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
    team: str = ""
    bot_id: str | None = None
    app_id: str | None = None
    metadata: Json | None = None
    # the arguments of the chat.postMessage that made it, merged with later chat.update ones
    args: Json = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.ts}"

    def public(self, metadata: bool = False) -> Json:
        """The message as the Web API and interaction payloads show it (``metadata`` only
        when asked for, as ``include_all_metadata`` does)."""
        data: Json = {"type": "message", "ts": self.ts, "user": self.user, "text": self.text}
        if self.from_bot:
            data.update(bot_id=self.bot_id, app_id=self.app_id)
        if metadata and self.metadata:
            data["metadata"] = self.metadata
        if self.blocks is not None:
            data["blocks"] = self.blocks
        if self.attachments:
            data["attachments"] = self.attachments
        if self.files:
            data["files"] = self.files
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        data["team"] = self.team
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
    # where files.completeUploadExternal shared it: (channel, thread_ts), and its comment
    shares: list[tuple[str, str | None]] = field(default_factory=list)
    initial_comment: str | None = None

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
    members: set[str]
    im_user: str | None = None
    is_private: bool = False
    anyone: bool = False  # open world: every person counts as a member (the bot only if joined)

    @property
    def kind(self) -> str:
        """ "public", "private" or "im": what decides scopes and whether it can be joined."""
        if self.im_user is not None:
            return "im"
        return "private" if self.is_private else "public"

    def public(self, viewer: str) -> Json:
        """As ``conversations.info`` shows it to ``viewer`` (``is_member`` is theirs)."""
        data: Json = {
            "id": self.channel_id,
            "name": self.name,
            "is_channel": self.im_user is None and not self.is_private,
            "is_group": self.im_user is None and self.is_private,
            "is_im": self.im_user is not None,
            "is_private": self.is_private or self.im_user is not None,
            "is_member": viewer in self.members,
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
    def __init__(self, identity: Identity, *, open_world: bool = False) -> None:
        self.identity = identity
        self.open_world = open_world
        self.changed = threading.Condition(threading.RLock())
        self.version = 0
        self.users: dict[str, User] = {}
        self.conversations: dict[str, Conversation] = {}
        self.usergroups: dict[str, tuple[str, tuple[str, ...]]] = {}  # id -> (handle, users)
        self.messages: dict[str, Message] = {}  # by Message.key, in posting order
        self.files: dict[str, StoredFile] = {}
        self.triggers: dict[str, tuple[str, float]] = {}
        self.exchanged: set[str] = set()  # trigger ids that opened a modal (once is all)
        self.response_urls: dict[str, ResponseTarget] = {}
        self.views: dict[str, Json] = {}
        self.view_owner: dict[str, str] = {}
        self.stacks: dict[str, list[str]] = {}
        self.home_views: dict[str, Json] = {}  # user -> the Home tab published for them
        self.home_tab_enabled = True  # the app's manifest: features.app_home.home_tab_enabled
        # features.app_home.messages_tab_enabled: off, Slack still takes a DM to a user id, but
        # the user has no Messages tab to see it in (``SlackStandin.seen_by``)
        self.messages_tab_enabled = True
        self.last_ts = 0.0
        bot = User(identity.bot_user_id, identity.bot_name, identity.bot_name, is_bot=True)
        self.users[bot.user_id] = bot

    # -- the layout ----------------------------------------------------------------------

    def add_user(self, user_id: str, handle: str, real_name: str, title: str = "") -> User:
        with self.changed:
            user = User(user_id, handle, real_name, title)
            self.users[user_id] = user
            self.stacks.setdefault(user_id, [])
            return user

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        topic: str = "",
        private: bool = False,
        members: Iterable[str] = (),
        bot_member: bool = True,
    ) -> Conversation:
        """A public (or private) channel; the bot is a member unless ``bot_member`` is False."""
        with self.changed:
            people = set(members)
            if bot_member:
                people.add(self.identity.bot_user_id)
            channel = Conversation(
                channel_id, name or channel_id.lower(), topic, people, is_private=private
            )
            self.conversations[channel_id] = channel
            self.touch()
            return channel

    def add_dm(self, user_id: str, channel_id: str | None = None) -> Conversation:
        """The direct-message conversation of ``user_id`` with the bot."""
        with self.changed:
            dm_id = channel_id or "D" + user_id[1:]
            dm = Conversation(
                dm_id, self.identity.bot_name, "", {user_id, self.identity.bot_user_id}, user_id
            )
            self.conversations[dm_id] = dm
            return dm

    def user(self, user_id: object) -> User:
        key = str(user_id or "")
        with self.changed:
            if key not in self.users and self.open_world and USER_ID.fullmatch(key):
                self.users[key] = User(key, key.lower(), key.lower())
            if key not in self.users:
                raise SlackError("user_not_found")
            return self.users[key]

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
        with self.changed:
            if key.startswith("#"):
                key = next(
                    (c.channel_id for c in self.conversations.values() if c.name == key[1:]), ""
                )
            if USER_ID.fullmatch(key) and (key in self.users or self.open_world):
                self.user(key)
                dm = next((c for c in self.conversations.values() if c.im_user == key), None)
                key = dm.channel_id if dm else self.add_dm(key).channel_id
            if key not in self.conversations and self.open_world and CHANNEL_ID.fullmatch(key):
                if key.startswith("D"):
                    self.add_dm("U" + key[1:], key)
                else:
                    self.add_channel(key, private=key.startswith("G")).anyone = True
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
            parent = self.messages.get(f"{channel}:{thread_ts}") if thread_ts else None
            if thread_ts and (parent is None or parent.ephemeral_to):
                raise SlackError("thread_not_found")
            if parent is not None:
                thread_ts = parent.thread_ts or parent.ts  # a reply to a reply joins the thread
            fields["thread_ts"] = thread_ts
            fields["blocks"] = with_ids(fields.get("blocks"))
            fields["team"] = self.identity.team_id
            if fields.get("from_bot"):
                fields.update(bot_id=self.identity.bot_id, app_id=self.identity.app_id)
            ts = fields.pop("ts", None) or self.next_ts()
            if f"{channel}:{ts}" in self.messages:
                raise SlackError("message_exists")
            message = Message(ts=ts, **fields)
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
        """A ``trigger_id`` for an interaction of ``user``, as Slack puts in its payload."""
        trigger = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        now = time.monotonic()
        with self.changed:  # an expired trigger is still known (expired, not invalid) a while
            for old in [t for t, (_, ends) in self.triggers.items() if ends + FORGET < now]:
                del self.triggers[old]
            self.triggers[trigger] = (user, now + TRIGGER_TTL)
        return trigger

    def use_trigger(self, trigger: object) -> str:
        """The user a ``trigger_id`` opens a modal for. As Slack: once (then
        ``exchanged_trigger_id``), within ``TRIGGER_TTL`` of the interaction
        (``expired_trigger_id``)."""
        key = str(trigger or "")
        with self.changed:
            entry = self.triggers.pop(key, None)
            if key in self.exchanged:
                raise SlackError("exchanged_trigger_id")
            if key:
                self.exchanged.add(key)
        if entry is None:  # never issued, or so long ago that it was forgotten
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

    def store_view(
        self, user: str, view: Json, replace: str | None, push: bool, new_view_id: str = ""
    ) -> Json:
        """Open (or push, or replace) a modal for ``user``; returns the view as Slack does."""
        with self.changed:
            stack = self.stacks.setdefault(user, [])
            if replace:
                view_id = replace
                old = self.views[view_id]
                root, previous = old["root_view_id"], old.get("previous_view_id")
                state: Json = {"values": {}}
            else:
                view_id = new_view_id or new_id("V")
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
                "team_id": self.identity.team_id,
                "app_id": self.identity.app_id,
                "bot_id": self.identity.bot_id,
                "app_installed_team_id": self.identity.team_id,
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

    def publish_home(self, user: str, view: Json) -> Json:
        """Set ``user``'s Home tab (views.publish); the view id stays the same per user."""
        with self.changed:
            old = self.home_views.get(user)
            stored = {
                **{k: v for k, v in view.items() if k != "id"},
                "type": "home",
                "id": old["id"] if old else new_id("V"),
                "team_id": self.identity.team_id,
                "app_id": self.identity.app_id,
                "bot_id": self.identity.bot_id,
                "app_installed_team_id": self.identity.team_id,
                "blocks": with_ids(view.get("blocks") or []),
                "private_metadata": view.get("private_metadata", ""),
                "callback_id": view.get("callback_id", ""),
                "state": {"values": {}},
                "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
                "root_view_id": old["id"] if old else None,
                "previous_view_id": None,
                "external_id": view.get("external_id", ""),
            }
            if not old:
                stored["root_view_id"] = stored["id"]
            self.home_views[user] = stored
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
