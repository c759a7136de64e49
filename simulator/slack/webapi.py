"""The Slack Web API methods the bot calls, answered from a ``Workspace``, as strictly as Slack.

Arguments arrive as Slack accepts them: a form or JSON body, or the query string; structured
arguments (``blocks``, ``view``, ``files``...) may be JSON strings. Answers have Slack's shape:
``{"ok": true, ...}`` or ``{"ok": false, "error": "<code>"}``. Slack's message limits are enforced
so that a message Slack would refuse is refused here too. Beyond the documented limits, what
Slack does and its docs do not say (each from Slack's method reference or from reports in the
slack_sdk / bolt issue trackers):

- scopes: a method outside the app's bot scopes (``scopes``, by default the manifest's) is
  ``missing_scope`` with ``needed`` and ``provided``; conversation methods need the scope of the
  conversation's kind (``channels:``, ``groups:``, ``im:``);
- membership: ``chat.postMessage`` into a public channel the bot is not in works only with
  ``chat:write.public`` (else ``not_in_channel``); a private channel or DM the bot is not in is
  invisible to it (``channel_not_found``); ``files.completeUploadExternal`` and
  ``conversations.history``/``replies`` need membership even in a public channel
  (``not_in_channel``; getnao/nao#1372, deno-slack-sdk#128), and so does ``chat.postEphemeral``,
  ``chat:write.public`` or not (ifvictr/prox#30, node-slack-sdk#977);
  ``conversations.join`` joins public channels only (``method_not_supported_for_channel_type``,
  bolt-js#1656);
- ``msg_blocks_too_long``: chat.postMessage and chat.update refuse blocks whose text adds up
  to more than 12,000 characters (undocumented; bolt-js#2509 and #2867, where the response_url
  path was not limited);
- a ``thread_ts`` that is not a message of the channel: ``thread_not_found`` (Slack may also
  answer ok and file the reply under no visible thread, python-slack-sdk#840, which loses it
  just as surely; the stand-in refuses so that a test sees it);
- ``conversations.history`` lists no thread replies (only parents and broadcasts);
  ``conversations.replies`` lists a thread, ``ts`` being a message of the channel.
- ``chat.update`` (chat:write): only the app's own messages (``cant_update_message``; a bot has
  no edit window), an unknown ``ts`` is ``message_not_found``, one of text, blocks or
  attachments is required (``no_text``), the block limits of chat.postMessage apply, and
  metadata not sent is kept.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable

from simulator.slack.scopes import BY_KIND, needed_scope
from simulator.slack.workspace import (
    Conversation,
    Json,
    Message,
    ResponseTarget,
    SlackError,
    Workspace,
)

log = logging.getLogger(__name__)

MAX_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_VIEW_BYTES = 250_000  # views.publish: view_too_large above 250 kB
MAX_SECTION_TEXT = 3000
MAX_TEXT = 40000
MAX_BLOCKS_TEXT = 12000  # the text of all blocks together, for chat.postMessage and chat.update
STRUCTURED = ("blocks", "attachments", "view", "files", "metadata")


def decode(args: Json) -> Json:
    out = dict(args)
    for key in STRUCTURED:
        value = out.get(key)
        if isinstance(value, str) and value.strip():
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                raise SlackError(
                    f"invalid_{'blocks' if key == 'blocks' else 'arguments'}"
                ) from None
    return out


def blocks_text(value: object) -> int:
    """How much text the blocks carry: every ``text`` string, at any depth (section and header
    text, fields, context elements, button labels...)."""
    if isinstance(value, list):
        return sum(blocks_text(v) for v in value)
    if not isinstance(value, dict):
        return 0
    total = 0
    for key, item in value.items():
        if key == "text" and isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict | list):
            total += blocks_text(item)
    return total


def check_blocks(blocks: object, limit: int = MAX_BLOCKS) -> list[Json] | None:
    if blocks is None or blocks == "":
        return None
    if not isinstance(blocks, list) or not all(
        isinstance(b, dict) and b.get("type") for b in blocks
    ):
        raise SlackError("invalid_blocks")
    if len(blocks) > limit:
        raise SlackError("invalid_blocks")
    for block in blocks:
        text = block.get("text")
        section = block.get("type") == "section"
        if section and isinstance(text, dict) and len(str(text.get("text", ""))) > MAX_SECTION_TEXT:
            raise SlackError("invalid_blocks")
        if block.get("type") == "section" and len(block.get("fields") or []) > 10:
            raise SlackError("invalid_blocks")
    return blocks


class WebApi:
    """``call(method, args, token)`` -> the JSON answer."""

    def __init__(
        self,
        workspace: Workspace,
        token: str,
        base_url: str,
        *,
        app_token: str | None = None,
        socket_url: str | None = None,
        scopes: frozenset[str] | None = None,
    ) -> None:
        self.ws = workspace
        self.scopes = scopes  # the app's bot scopes; None: every method allowed
        self.me = workspace.identity
        self.token = token
        self.app_token = app_token  # apps.connections.open takes the app-level token
        self.socket_url = socket_url
        self.base_url = base_url.rstrip("/")
        # (method, "ok" or the error code) of the latest calls, for a look when debugging
        self.calls: deque[tuple[str, str]] = deque(maxlen=1000)
        self.methods: dict[str, Callable[[Json], Json]] = {
            "api.test": lambda a: {},
            "auth.test": self.auth_test,
            "bots.info": self.bots_info,
            "team.info": lambda a: {
                "team": {
                    "id": self.me.team_id,
                    "name": self.me.team_name,
                    "domain": self.me.team_domain,
                }
            },
            "chat.postMessage": self.post_message,
            "chat.postEphemeral": self.post_ephemeral,
            "chat.update": self.update,
            "chat.delete": self.delete,
            "chat.getPermalink": self.permalink,
            "reactions.add": lambda a: self.react(a, True),
            "reactions.remove": lambda a: self.react(a, False),
            "views.open": lambda a: self.open_view(a, push=False),
            "views.push": lambda a: self.open_view(a, push=True),
            "views.update": self.update_view,
            "views.publish": self.publish_view,
            "files.getUploadURLExternal": self.upload_url,
            "files.completeUploadExternal": self.complete_upload,
            "files.info": self.file_info,
            "users.info": lambda a: {"user": self.ws.user(a.get("user")).public(self.me.team_id)},
            "users.list": lambda a: {
                "members": [u.public(self.me.team_id) for u in self.ws.users.values()]
            },
            "usergroups.list": self.usergroups_list,
            "usergroups.users.list": self.usergroup_users,
            "conversations.info": lambda a: {
                "channel": self.ws.resolve_channel(a.get("channel")).public(self.me.bot_user_id)
            },
            "conversations.list": lambda a: {
                "channels": [
                    c.public(self.me.bot_user_id)
                    for c in self.ws.conversations.values()
                    if not c.im_user
                ]
            },
            "conversations.join": self.join,
            "conversations.members": lambda a: {
                "members": sorted(self.ws.resolve_channel(a.get("channel")).members)
            },
            "conversations.open": self.open_dm,
            "conversations.history": self.history,
            "conversations.replies": self.thread,
            "apps.connections.open": self.connections_open,
        }

    def call(self, method: str, args: Json, token: str | None) -> Json:
        handler = self.methods.get(method)
        expected = self.app_token if method == "apps.connections.open" else self.token
        if not token:
            result: Json = {"ok": False, "error": "not_authed"}
        elif token != expected:
            result = {"ok": False, "error": "invalid_auth"}
        elif handler is None:
            log.warning("the simulated Slack does not implement Web API method %s", method)
            result = {"ok": False, "error": "unknown_method"}
        else:
            try:
                with self.ws.changed:
                    self.check_scope(method, args)
                    result = {"ok": True, **handler(args)}
            except SlackError as exc:
                result = {"ok": False, "error": exc.code, **exc.extra}
        self.calls.append((method, "ok" if result["ok"] else str(result.get("error"))))
        if not result["ok"]:
            log.info("Web API %s -> %s", method, result.get("error"))
        return result

    def check_scope(self, method: str, args: Json) -> None:
        if self.scopes is None:
            return
        kind = self.ws.resolve_channel(args.get("channel")).kind if method in BY_KIND else None
        needed = needed_scope(method, kind)
        if needed and needed not in self.scopes:
            raise SlackError("missing_scope", needed=needed, provided=",".join(sorted(self.scopes)))

    def granted(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes

    def is_member(self, channel: Conversation) -> bool:
        return self.me.bot_user_id in channel.members

    def may_post(self, channel: Conversation) -> None:
        """chat.postMessage: a member, or a public channel with chat:write.public."""
        if self.is_member(channel):
            return
        if channel.kind != "public":
            raise SlackError("channel_not_found")  # invisible to a bot that is not in it
        if not self.granted("chat:write.public"):
            raise SlackError("not_in_channel")

    def must_be_member(self, channel: Conversation) -> None:
        """Uploads and reading history: membership, whatever the channel."""
        if not self.is_member(channel):
            raise SlackError("not_in_channel" if channel.kind == "public" else "channel_not_found")

    # -- identity ------------------------------------------------------------------------

    def auth_test(self, args: Json) -> Json:
        return {
            "url": f"{self.base_url}/",
            "team": self.me.team_name,
            "user": self.me.bot_name,
            "team_id": self.me.team_id,
            "user_id": self.me.bot_user_id,
            "bot_id": self.me.bot_id,
            "app_id": self.me.app_id,
            "is_enterprise_install": False,
        }

    def bots_info(self, args: Json) -> Json:
        return {
            "bot": {
                "id": self.me.bot_id,
                "name": self.me.bot_name,
                "app_id": self.me.app_id,
                "user_id": self.me.bot_user_id,
                "deleted": False,
            }
        }

    def connections_open(self, args: Json) -> Json:
        if not self.socket_url:
            raise SlackError("socket_mode_not_enabled")
        return {"url": self.socket_url}

    # -- messages ------------------------------------------------------------------------

    def message_fields(self, args: Json, limit: int = MAX_BLOCKS) -> Json:
        args = decode(args)
        blocks = check_blocks(args.get("blocks"), limit)
        text = str(args.get("text") or "")
        attachments = args.get("attachments") or None
        if attachments is not None and not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        return {
            "text": text,
            "blocks": blocks,
            "attachments": attachments,
            "mrkdwn": args.get("mrkdwn") not in (False, "false", "0"),
        }

    def message_fields_limited(self, args: Json) -> Json:
        """chat.postMessage and chat.update also count the text of all blocks together."""
        fields = self.message_fields(args)
        if fields["blocks"] and blocks_text(fields["blocks"]) > MAX_BLOCKS_TEXT:
            raise SlackError("msg_blocks_too_long")
        return fields

    def post_message(self, args: Json) -> Json:
        fields = self.message_fields_limited(args)
        if not fields["text"] and not fields["blocks"] and not fields["attachments"]:
            raise SlackError("no_text")
        channel = self.ws.resolve_channel(args.get("channel"))
        self.may_post(channel)
        decoded = decode(args)
        metadata = decoded.get("metadata")
        message = self.ws.post(
            channel=channel.channel_id,
            user=self.me.bot_user_id,
            from_bot=True,
            thread_ts=str(args.get("thread_ts") or "") or None,
            reply_broadcast=str(args.get("reply_broadcast")).lower() in ("true", "1"),
            metadata=metadata if isinstance(metadata, dict) else None,
            args=decoded,
            **fields,
        )
        return {"channel": channel.channel_id, "ts": message.ts, "message": message.public()}

    def post_ephemeral(self, args: Json) -> Json:
        fields = self.message_fields(args)
        if not fields["text"] and not fields["blocks"] and not fields["attachments"]:
            raise SlackError("no_text")
        channel = self.ws.resolve_channel(args.get("channel"))
        self.must_be_member(channel)  # chat:write.public does not stretch to ephemeral messages
        user = str(args.get("user") or "")
        if user not in channel.members and not channel.anyone:
            raise SlackError("user_not_in_channel")
        message = self.ws.post(
            channel=channel.channel_id,
            user=self.me.bot_user_id,
            from_bot=True,
            ephemeral_to=user,
            thread_ts=str(args.get("thread_ts") or "") or None,
            **fields,
        )
        return {"message_ts": message.ts}

    def update(self, args: Json) -> Json:
        channel = self.ws.resolve_channel(args.get("channel"))
        message = self.ws.find(channel.channel_id, args.get("ts"))
        if not message.from_bot:
            raise SlackError("cant_update_message")  # only the app's own messages
        fields = self.message_fields_limited(args)
        decoded = decode(args)
        if not fields["text"] and "blocks" not in decoded and "attachments" not in decoded:
            raise SlackError("no_text")
        changes: Json = {
            "text": fields["text"] or message.text,
            "args": {**message.args, **decoded},
        }
        if "blocks" in decoded:
            changes["blocks"] = fields["blocks"]
        if "attachments" in decoded:
            changes["attachments"] = fields["attachments"]
        updated = self.ws.update(channel.channel_id, message.ts, **changes)
        return {
            "channel": channel.channel_id,
            "ts": updated.ts,
            "text": updated.text,
            "message": updated.public(),
        }

    def delete(self, args: Json) -> Json:
        channel = self.ws.resolve_channel(args.get("channel"))
        message = self.ws.find(channel.channel_id, args.get("ts"))
        if not message.from_bot:
            raise SlackError("cant_delete_message")
        self.ws.delete(channel.channel_id, message.ts)
        return {"channel": channel.channel_id, "ts": message.ts}

    def permalink(self, args: Json) -> Json:
        channel = self.ws.resolve_channel(args.get("channel"))
        message = self.ws.find(channel.channel_id, args.get("message_ts"))
        return {
            "channel": channel.channel_id,
            "permalink": f"{self.base_url}/#{channel.channel_id}/{message.ts}",
        }

    def react(self, args: Json, add: bool) -> Json:
        channel = self.ws.resolve_channel(args.get("channel"))
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise SlackError("invalid_name")
        self.ws.react(
            channel.channel_id, str(args.get("timestamp")), name, self.me.bot_user_id, add
        )
        return {}

    def history(self, args: Json) -> Json:
        channel = self.ws.resolve_channel(args.get("channel"))
        self.must_be_member(channel)
        metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
        try:
            oldest = float(args.get("oldest") or 0)
            latest = float(args.get("latest") or "inf")
            limit = int(args.get("limit") or 100)
        except ValueError:
            raise SlackError("invalid_arguments") from None
        found = [
            m.public(metadata)
            for m in self.ws.messages.values()
            if m.channel == channel.channel_id
            and not m.ephemeral_to
            and (m.thread_ts is None or m.thread_ts == m.ts or m.reply_broadcast)
            and oldest <= float(m.ts) <= latest
        ]
        found.reverse()  # newest first
        return {"messages": found[:limit], "has_more": len(found) > limit}

    def thread(self, args: Json) -> Json:
        channel = self.ws.resolve_channel(args.get("channel"))
        self.must_be_member(channel)
        parent = self.ws.messages.get(f"{channel.channel_id}:{args.get('ts')}")
        if parent is None or parent.ephemeral_to:
            raise SlackError("thread_not_found")
        root = parent.thread_ts or parent.ts
        head = self.ws.find(channel.channel_id, root)
        try:
            oldest = float(args.get("oldest") or 0)
        except ValueError:
            raise SlackError("invalid_arguments") from None
        found = [head] + [
            m
            for m in self.ws.replies(channel.channel_id, root)
            if not m.ephemeral_to and float(m.ts) >= oldest
        ]
        metadata = str(args.get("include_all_metadata")).lower() in ("true", "1")
        return {"messages": [m.public(metadata) for m in found], "has_more": False}

    def open_dm(self, args: Json) -> Json:
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if len(users) != 1:
            raise SlackError("not_enough_users" if not users else "too_many_users")
        return {"channel": self.ws.resolve_channel(users[0]).public(self.me.bot_user_id)}

    def join(self, args: Json) -> Json:
        channel = self.ws.resolve_channel(args.get("channel"))
        if channel.kind != "public":
            raise SlackError("method_not_supported_for_channel_type")
        if self.is_member(channel):
            warning = "already_in_channel"
            return {
                "channel": channel.public(self.me.bot_user_id),
                "warning": warning,
                "response_metadata": {"warnings": [warning]},
            }
        with self.ws.changed:
            channel.members.add(self.me.bot_user_id)
            self.ws.touch()
        return {"channel": channel.public(self.me.bot_user_id)}

    # -- modals --------------------------------------------------------------------------

    def checked_view(self, args: Json) -> Json:
        view = decode(args).get("view")
        if not isinstance(view, dict) or view.get("type") != "modal":
            raise SlackError("invalid_arguments")
        check_blocks(view.get("blocks") or [], MAX_MODAL_BLOCKS)
        for key in ("title", "submit", "close"):
            label = view.get(key)
            if label is not None and len(str((label or {}).get("text", ""))) > 24:
                raise SlackError("invalid_arguments")
        if len(str(view.get("private_metadata", ""))) > 3000:
            raise SlackError("invalid_arguments")
        return view

    def open_view(self, args: Json, push: bool) -> Json:
        view = self.checked_view(args)
        user = self.ws.use_trigger(args.get("trigger_id"))
        if push and not self.ws.stacks.get(user):
            raise SlackError("not_found")
        return {"view": self.ws.store_view(user, view, replace=None, push=push)}

    def publish_view(self, args: Json) -> Json:
        """views.publish: a user's Home tab. As Slack: ``user_id`` and a ``home`` view are
        required (invalid_arguments), the user must exist (user_not_found), the app's Home tab
        must be enabled (not_enabled), at most 100 blocks, 250 kB (view_too_large), and a
        ``hash`` must be the current view's (hash_conflict)."""
        args = decode(args)
        view = args.get("view")
        if not args.get("user_id") or not isinstance(view, dict) or view.get("type") != "home":
            raise SlackError("invalid_arguments")
        user = self.ws.user(args.get("user_id")).user_id
        if not self.ws.home_tab_enabled:
            raise SlackError("not_enabled")
        if len(json.dumps(view).encode()) > MAX_VIEW_BYTES:
            raise SlackError("view_too_large")
        check_blocks(view.get("blocks") or [], MAX_MODAL_BLOCKS)
        if len(str(view.get("private_metadata", ""))) > 3000:
            raise SlackError("invalid_arguments")
        current = self.ws.home_views.get(user)
        wanted = args.get("hash")
        if wanted and (current is None or wanted != current["hash"]):
            raise SlackError("hash_conflict")
        return {"view": self.ws.publish_home(user, view)}

    def update_view(self, args: Json) -> Json:
        view = self.checked_view(args)
        known = str(args.get("view_id") or "")
        if self.ws.open_world and known and known not in self.ws.views:
            # a view id from a payload the test signed itself: Slack would know it
            self.ws.store_view(f"view:{known}", {}, replace=None, push=False, new_view_id=known)
        view_id = self.ws.view_by(args.get("view_id"), args.get("external_id"))
        current = self.ws.views[view_id]
        if args.get("hash") and args.get("hash") != current["hash"]:
            raise SlackError("hash_conflict")
        user = self.ws.view_owner[view_id]
        return {"view": self.ws.store_view(user, view, replace=view_id, push=False)}

    # -- files ---------------------------------------------------------------------------

    def upload_url(self, args: Json) -> Json:
        name = str(args.get("filename") or "")
        try:
            length = int(args.get("length") or 0)
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if not name or length <= 0:
            raise SlackError("invalid_arguments")
        stored = self.ws.new_file(name, length, args.get("alt_txt"))
        return {"upload_url": f"{self.base_url}/upload/{stored.file_id}", "file_id": stored.file_id}

    def complete_upload(self, args: Json) -> Json:
        args = decode(args)
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments")
        channels = [str(args.get("channel_id") or ""), *str(args.get("channels") or "").split(",")]
        targets = [self.ws.resolve_channel(c.strip()) for c in channels if c.strip()]
        for target in targets:
            self.must_be_member(target)
        thread_ts = str(args.get("thread_ts") or "") or None
        for target in targets:
            parent = self.ws.messages.get(f"{target.channel_id}:{thread_ts}")
            if thread_ts and (parent is None or parent.ephemeral_to):
                raise SlackError("thread_not_found")
        comment = str(args.get("initial_comment") or "")
        files = []
        for entry in entries:
            stored = self.ws.files.get(str((entry or {}).get("id")))
            if stored is None or not stored.content or stored.complete:
                raise SlackError("file_not_found")
            if stored.length is not None and len(stored.content) != stored.length:
                raise SlackError("file_not_found")  # the upload did not bring what was announced
            files.append((stored, entry))
        for stored, entry in files:
            stored.title = entry.get("title") or stored.name
            stored.complete = True
            stored.initial_comment = comment or None
            stored.shares.extend((c.channel_id, thread_ts) for c in targets)
        shared = [stored.public() for stored, _ in files]
        for channel in targets:
            self.ws.post(
                channel=channel.channel_id,
                user=self.me.bot_user_id,
                from_bot=True,
                text=comment,
                files=shared,
                thread_ts=thread_ts,
            )
        return {"files": shared}

    def file_info(self, args: Json) -> Json:
        stored = self.ws.files.get(str(args.get("file")))
        if stored is None:
            raise SlackError("file_not_found")
        return {"file": stored.public()}

    # -- user groups ---------------------------------------------------------------------

    def usergroups_list(self, args: Json) -> Json:
        return {
            "usergroups": [
                {"id": gid, "handle": handle, "name": handle, "users": list(users)}
                for gid, (handle, users) in self.ws.usergroups.items()
            ]
        }

    def usergroup_users(self, args: Json) -> Json:
        group = self.ws.usergroups.get(str(args.get("usergroup") or ""))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": list(group[1])}

    # -- response URLs -------------------------------------------------------------------

    def respond(self, token: str, body: Json) -> None:
        """A POST to a ``response_url`` from a command or an interaction."""
        target = self.ws.use_response_url(token)
        fields = self.message_fields(body)
        if body.get("delete_original") and target.message_ts:
            self.ws.delete(target.channel, target.message_ts)
            return
        if body.get("replace_original") and target.message_ts:
            original = self.ws.find(target.channel, target.message_ts)
            changes = {k: v for k, v in fields.items() if k != "mrkdwn"}
            changes["text"] = fields["text"] or original.text
            self.ws.update(target.channel, original.ts, **changes)
            return
        if not fields["text"] and not fields["blocks"] and not fields["attachments"]:
            raise SlackError("no_text")
        thread_ts = str(body.get("thread_ts") or "") or target.thread_ts
        if body.get("response_type") == "in_channel":
            self.ws.post(
                channel=target.channel,
                user=self.me.bot_user_id,
                from_bot=True,
                thread_ts=thread_ts,
                **fields,
            )
        else:
            self.ws.post(
                channel=target.channel,
                user=self.me.bot_user_id,
                from_bot=True,
                ephemeral_to=target.user,
                thread_ts=thread_ts,
                **fields,
            )

    def response_target(self, user: str, channel: str, message: Message | None) -> str:
        target = ResponseTarget(
            user=user,
            channel=channel,
            message_ts=message.ts if message else None,
            thread_ts=message.thread_ts if message else None,
        )
        return f"{self.base_url}/response/{self.ws.new_response_url(target)}"
