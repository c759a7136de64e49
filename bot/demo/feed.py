"""What one person sees on the page: channels, messages (as HTML), threads and their open modal."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.demo import identities as ids
from bot.demo.blockkit import home_html, message_body, view_html
from bot.demo.mrkdwn import Directory, emoji_image, esc, plain
from simulator.slack.workspace import Json, Message, Workspace

SLACKBOT = "USLACKBOT"


def directory(ws: Workspace) -> Directory:
    users = {p.user_id: p.real_name for p in ids.PEOPLE}
    users[ids.BOT_USER_ID] = ids.BOT_NAME
    users[SLACKBOT] = "Slackbot"
    channels = {c.channel_id: c.name for c in ws.conversations.values() if not c.im_user}
    groups = {gid: handle for gid, (handle, _) in ws.usergroups.items()}
    return Directory(users=users, channels=channels, usergroups=groups)


def pickable(ws: Workspace) -> list[tuple[str, str]]:
    """Everything a picker may offer: the people, then the channels (a users picker shows
    only the people, a channel picker only the channels: ``blockkit.picks``)."""
    people = [(p.user_id, p.real_name) for p in ids.PEOPLE]
    return people + [
        (c.channel_id, f"#{c.name}") for c in ws.conversations.values() if not c.im_user
    ]


def avatar(message: Message) -> str:
    if message.from_bot:
        return f'<div class="avatar bot" aria-hidden="true">{emoji_image("key")}</div>'
    if message.user == SLACKBOT:
        return (
            f'<div class="avatar slackbot" aria-hidden="true">{emoji_image("speech_balloon")}</div>'
        )
    for p in ids.PEOPLE:
        if p.user_id == message.user:
            return (
                f'<div class="avatar" style="background:{esc(p.color)}" aria-hidden="true">'
                f"{esc(p.real_name[0])}</div>"
            )
    return '<div class="avatar" aria-hidden="true">?</div>'


def author(message: Message, names: Directory) -> str:
    if message.from_bot:
        return f'<span class="name">{esc(ids.BOT_NAME)}</span><span class="badge">APP</span>'
    return f'<span class="name">{esc(names.user(message.user))}</span>'


def clock(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M")


def message_item(message: Message, names: Directory, people: list[tuple[str, str]]) -> str:
    """A message as the page shows it: avatar, author, time, body, reactions."""
    if message.kind == "command":
        return (
            f'<div class="command-echo"><span class="command-text">{plain(message.text, False)}'
            f'</span><span class="only-you">Only visible to you</span></div>'
        )
    reactions = "".join(
        f'<span class="reaction" title="{esc(", ".join(names.user(u) for u in users))}">'
        f"{plain(':' + name + ':')} {len(users)}</span>"
        for name, users in message.reactions.items()
    )
    note = '<div class="only-you">Only visible to you</div>' if message.ephemeral_to else ""
    return (
        f'{avatar(message)}<div class="msg-main">'
        f'<div class="msg-head">{author(message, names)}'
        f'<span class="time" title="{esc(message.ts)}">{clock(message.ts)}</span></div>'
        f'<div class="msg-body">{message_body(message.public(), names, people)}</div>'
        + (f'<div class="reactions">{reactions}</div>' if reactions else "")
        + note
        + "</div>"
    )


class Feed:
    """Renders snapshots of the workspace for one person; rendered HTML is cached by revision."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.cache: dict[str, tuple[int, str]] = {}

    def html(self, message: Message, names: Directory, people: list[tuple[str, str]]) -> str:
        revision = message.revision  # read first: an update while rendering re-renders later
        cached = self.cache.get(message.key)
        if cached and cached[0] == revision:
            return cached[1]
        rendered = message_item(message, names, people)
        self.cache[message.key] = (revision, rendered)
        return rendered

    def snapshot(self, user: str) -> Json:
        names = directory(self.ws)
        people = pickable(self.ws)
        with self.ws.changed:
            version = self.ws.version
            messages = list(self.ws.messages.values())
            stack = list(self.ws.stacks.get(user, []))
            views = [self.ws.views[v] for v in stack if v in self.ws.views]
            conversations = list(self.ws.conversations.values())
            home_view = self.ws.home_views.get(user)
        reply_counts: dict[str, int] = {}
        for m in messages:
            if m.thread_ts and m.thread_ts != m.ts and m.ephemeral_to in (None, user):
                reply_counts[f"{m.channel}:{m.thread_ts}"] = (
                    reply_counts.get(f"{m.channel}:{m.thread_ts}", 0) + 1
                )
        visible = [m for m in messages if m.ephemeral_to in (None, user)]
        channels = [
            {
                "id": c.channel_id,
                "name": c.name,
                "topic": c.topic,
                "im": c.im_user is not None,
            }
            for c in conversations
            if c.im_user in (None, user)
        ]
        modal = None
        if views:
            top = views[-1]
            modal = {
                "view_id": top["id"],
                "hash": top["hash"],
                "html": view_html(top, names, people),
            }
        home = None
        if home_view is not None:  # the Home tab the bot last published for this person
            home = {
                "view_id": home_view["id"],
                "hash": home_view["hash"],
                "html": home_html(home_view, names, people),
            }
        return {
            "version": version,
            "user": user,
            "channels": channels,
            "messages": [
                {
                    "key": m.key,
                    "channel": m.channel,
                    "ts": m.ts,
                    "thread_ts": m.thread_ts,
                    "broadcast": m.reply_broadcast,
                    "ephemeral": m.ephemeral_to is not None,
                    "rev": m.revision,
                    "replies": reply_counts.get(m.key, 0),
                    "html": self.html(m, names, people),
                }
                for m in visible
            ],
            "modal": modal,
            "home": home,
        }
