"""Slack text (mrkdwn and plain_text) to safe HTML, for the demo page only.

Every character of the input is HTML-escaped; the only markup in the output is the markup
produced here (``<b>``, ``<i>``, ``<code>``, links to http(s)/mailto, mention chips). Message text
can never inject HTML into the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

# Placeholders for already-rendered pieces; stripped from input so text cannot forge them.
PH_OPEN, PH_CLOSE = "\ue000", "\ue001"
PLACEHOLDER = re.compile(f"{PH_OPEN}(\\d+){PH_CLOSE}")

EMOJI = {
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "check": "✔️",
    "x": "❌",
    "heavy_multiplication_x": "✖️",
    "warning": "⚠️",
    "rotating_light": "🚨",
    "red_circle": "🔴",
    "large_orange_circle": "🟠",
    "orange_circle": "🟠",
    "large_yellow_circle": "🟡",
    "yellow_circle": "🟡",
    "large_green_circle": "🟢",
    "green_circle": "🟢",
    "large_blue_circle": "🔵",
    "white_circle": "⚪",
    "black_circle": "⚫",
    "key": "🔑",
    "old_key": "🗝️",
    "lock": "🔒",
    "unlock": "🔓",
    "closed_lock_with_key": "🔐",
    "shield": "🛡️",
    "mag": "🔍",
    "mag_right": "🔎",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "stopwatch": "⏱️",
    "alarm_clock": "⏰",
    "clock1": "🕐",
    "calendar": "📆",
    "date": "📅",
    "bar_chart": "📊",
    "chart_with_upwards_trend": "📈",
    "chart_with_downwards_trend": "📉",
    "clipboard": "📋",
    "memo": "📝",
    "page_facing_up": "📄",
    "bookmark_tabs": "📑",
    "file_folder": "📁",
    "inbox_tray": "📥",
    "outbox_tray": "📤",
    "bell": "🔔",
    "no_bell": "🔕",
    "loudspeaker": "📢",
    "mega": "📣",
    "tada": "🎉",
    "sparkles": "✨",
    "wave": "👋",
    "thumbsup": "👍",
    "+1": "👍",
    "thumbsdown": "👎",
    "-1": "👎",
    "eyes": "👀",
    "raised_hand": "✋",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "stop_sign": "🛑",
    "construction": "🚧",
    "wrench": "🔧",
    "hammer_and_wrench": "🛠️",
    "gear": "⚙️",
    "robot_face": "🤖",
    "busts_in_silhouette": "👥",
    "bust_in_silhouette": "👤",
    "office": "🏢",
    "cloud": "☁️",
    "link": "🔗",
    "information_source": "ℹ️",
    "question": "❓",
    "grey_question": "❔",
    "exclamation": "❗",
    "heavy_exclamation_mark": "❗",
    "arrows_counterclockwise": "🔄",
    "repeat": "🔁",
    "arrow_right": "➡️",
    "arrow_forward": "▶️",
    "point_right": "👉",
    "fire": "🔥",
    "boom": "💥",
    "zzz": "💤",
    "wastebasket": "🗑️",
    "pushpin": "📌",
    "lower_left_fountain_pen": "🖋️",
    "pencil2": "✏️",
    "scroll": "📜",
    "ledger": "📒",
    "stuck_out_tongue": "😛",
    "slightly_smiling_face": "🙂",
    "white_large_square": "⬜",
    "large_green_square": "🟩",
    "large_red_square": "🟥",
    "large_yellow_square": "🟨",
    "heavy_minus_sign": "➖",
    "heavy_plus_sign": "➕",
    "hammer": "🔨",
    "test_tube": "🧪",
    "package": "📦",
    "skull": "💀",
    "sos": "🆘",
    "ok": "🆗",
    "new": "🆕",
    "zap": "⚡",
}
EMOJI_CODE = re.compile(r":([a-z0-9_+\-]+):")
# The emoji the bot uses ship with the page as images: a machine without a colour emoji font
# would show each of them as an empty box, and the red/green signal would be gone.
EMOJI_DIR = Path(__file__).with_name("page") / "emoji"
SHIPPED = frozenset(p.stem for p in EMOJI_DIR.glob("*.svg"))

BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
PRE = re.compile(r"```(.*?)```", re.DOTALL)
CODE = re.compile(r"`([^`\n]+)`")
SPECIAL = re.compile(r"<([^<>\n]{1,4000})>")
SAFE_SCHEMES = ("http://", "https://", "mailto:")


@dataclass
class Directory:
    """Names the page shows for ids in mentions (unknown ids are shown as they are)."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    usergroups: dict[str, str] = field(default_factory=dict)

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def unslack(text: str) -> str:
    """Slack's three entities back to characters (the sender escapes &, < and >)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clean(text: str) -> str:
    return text.replace(PH_OPEN, "").replace(PH_CLOSE, "")


def emoji_image(name: str) -> str:
    """A shipped emoji as an image; its code (``:red_circle:``) is the text alternative."""
    return (
        f'<img class="emoji" src="/static/emoji/{name}.svg" alt=":{name}:" '
        f'title=":{name}:" draggable="false">'
    )


def emoji(name: str) -> str | None:
    if name in SHIPPED:
        return emoji_image(name)
    return EMOJI.get(name)


def emojize(escaped: str, hold: Callable[[str], str] | None = None) -> str:
    """Emoji codes to shipped images (else the Unicode character, else left as typed);
    ``hold`` keeps the inserted markup away from later text rules (``_`` is italic)."""

    def one(match: re.Match[str]) -> str:
        found = emoji(match.group(1))
        if found is None:
            return match.group(0)
        return hold(found) if hold else found

    return EMOJI_CODE.sub(one, escaped)


def plain(text: object, emoji: bool = True) -> str:
    """A ``plain_text`` string: escaped, emoji codes shown as emoji."""
    escaped = esc(clean(str(text)))
    return emojize(escaped) if emoji else escaped


def format_date(spec: str) -> str:
    """``<!date^1700000000^{date_short} at {time}|fallback>`` (spec without the ``!date^``)."""
    label, _, fallback = spec.partition("|")
    parts = label.split("^")
    try:
        when = datetime.fromtimestamp(int(parts[0]), UTC)
    except (ValueError, OverflowError, OSError, IndexError):
        return fallback or spec
    pattern = parts[1] if len(parts) > 1 else "{date_short}"
    tokens = {
        "date_num": when.strftime("%Y-%m-%d"),
        "date": when.strftime("%B %d, %Y"),
        "date_short": when.strftime("%b %d, %Y"),
        "date_long": when.strftime("%A, %B %d, %Y"),
        "date_pretty": when.strftime("%B %d, %Y"),
        "date_short_pretty": when.strftime("%b %d, %Y"),
        "date_long_pretty": when.strftime("%A, %B %d, %Y"),
        "time": when.strftime("%H:%M UTC"),
        "time_secs": when.strftime("%H:%M:%S UTC"),
        "ago": when.strftime("%Y-%m-%d %H:%M UTC"),
    }
    return re.sub(r"\{(\w+)\}", lambda m: tokens.get(m.group(1), m.group(0)), pattern)


def special(inner: str, names: Directory) -> str:
    """One ``<...>`` construct to HTML."""
    target, _, label = inner.partition("|")
    label = unslack(label)
    if target.startswith("@"):
        user_id = target[1:]
        shown = names.users.get(user_id) or label.lstrip("@") or user_id
        return f'<span class="mention" data-user="{esc(user_id)}">@{esc(shown)}</span>'
    if target.startswith("#"):
        channel_id = target[1:]
        shown = names.channels.get(channel_id) or label.lstrip("#") or channel_id
        return f'<span class="mention channel">#{esc(shown)}</span>'
    if target.startswith("!subteam^"):
        group_id = target[len("!subteam^") :]
        shown = names.usergroups.get(group_id) or label.lstrip("@") or group_id
        return f'<span class="mention">@{esc(shown)}</span>'
    if target in ("!here", "!channel", "!everyone"):
        return f'<span class="mention broadcast">@{esc(target[1:])}</span>'
    if target.startswith("!date^"):
        return f'<span class="date">{esc(format_date(unslack(inner[len("!date^") :])))}</span>'
    if target.startswith("!"):
        return esc(label or target[1:])
    url = unslack(target)
    if url.lower().startswith(SAFE_SCHEMES):
        return (
            f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">'
            f"{esc(label or url)}</a>"
        )
    return esc(f"<{unslack(inner)}>")


def mrkdwn(text: object, names: Directory | None = None) -> str:
    """A ``mrkdwn`` string to HTML: bold, italic, strike, code, quotes, links, mentions, emoji."""
    names = names or Directory()
    source = clean(str(text))
    pieces: list[str] = []

    def hold(rendered: str) -> str:
        pieces.append(rendered)
        return f"{PH_OPEN}{len(pieces) - 1}{PH_CLOSE}"

    source = PRE.sub(
        lambda m: hold(f"<pre>{esc(unslack(m.group(1).strip(chr(10))))}</pre>"), source
    )
    source = CODE.sub(lambda m: hold(f"<code>{esc(unslack(m.group(1)))}</code>"), source)
    source = SPECIAL.sub(lambda m: hold(special(m.group(1), names)), source)

    lines = []
    for line in esc(unslack(source)).split("\n"):
        quoted = line.startswith("&gt;")
        if quoted:
            line = line[4:].lstrip(" ")
        line = emojize(line, hold)
        line = BOLD.sub(r"<b>\1</b>", line)
        line = ITALIC.sub(r"<i>\1</i>", line)
        line = STRIKE.sub(r"<s>\1</s>", line)
        lines.append(f'<span class="quote">{line}</span>' if quoted else line)
    rendered = "<br>".join(lines)
    # Pieces may hold placeholders of earlier pieces only in their escaped text: none do.
    return PLACEHOLDER.sub(lambda m: pieces[int(m.group(1))], rendered)


def text_object(obj: object, names: Directory | None = None) -> str:
    """A Block Kit text object (``{"type": "mrkdwn"|"plain_text", "text": ...}``) to HTML."""
    if isinstance(obj, str):
        return plain(obj)
    if not isinstance(obj, dict):
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(obj.get("text", ""), names)
    return plain(obj.get("text", ""), emoji=obj.get("emoji", True) is not False)
