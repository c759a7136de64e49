"""Shared pieces of every Block Kit message: Slack's limits, escaping, masking.

Builders return a ``Message`` (blocks and the ``text`` fallback that notifications and screen
readers use) and call ``check_limits`` before returning, so a message that Slack would refuse
is caught where it is built, not at post time.

Besides the documented limits, Slack refuses ``chat.postMessage`` when the text of all blocks
together reaches about 12,000 characters (``msg_blocks_too_long``; undocumented, one refusal
reported at 11,341). Every message keeps its block text within ``MAX_MESSAGE_TEXT``; builders
of long lists fill them up to a ``TextBudget``, say how many more there are, and leave the
whole list to the CSV.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.audit.models import mask_key_id

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 2000
MAX_FALLBACK_TEXT = 3000  # Slack truncates at 40,000; notifications show far less
MAX_MESSAGE_TEXT = 11_000  # block text of one message, well under Slack's ~12,000 refusal
ELLIPSIS = "…"

T = TypeVar("T")
# A 12-digit number in an error text: an account id, set aside when grouping identical errors.
ACCOUNT_ID_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")

# Slack's special mentions written without angle brackets, e.g. "@channel" with link_names.
MASS_MENTION = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
ZERO_WIDTH_SPACE = "\u200b"

__all__ = [
    "MAX_BLOCKS",
    "MAX_MESSAGE_TEXT",
    "MAX_SECTION_TEXT",
    "BlockLimitError",
    "Message",
    "TextBudget",
    "block_text",
    "check_limits",
    "context",
    "error_groups",
    "escape",
    "fmt_date",
    "header",
    "mask",
    "mrkdwn_section",
    "plain",
    "truncate",
]


class BlockLimitError(ValueError):
    """A built message breaks one of Slack's limits (a bug in a builder, never user input)."""


class Message(NamedTuple):
    """What a builder returns: ``blocks, text = build(...)``."""

    blocks: list[Block]
    text: str


class TextBudget:
    """Characters of block text a builder may still spend on one message."""

    def __init__(self, total: int) -> None:
        self.left = total

    def fits(self, size: int) -> bool:
        return size <= self.left

    def take(self, size: int) -> bool:
        """Spend ``size`` if it fits; False (and nothing spent) if not."""
        if size > self.left:
            return False
        self.left -= size
        return True


def text_of(value: Any) -> int:
    if isinstance(value, list):
        return sum(text_of(v) for v in value)
    if not isinstance(value, dict):
        return 0
    return sum(
        len(item) if key == "text" and isinstance(item, str) else text_of(item)
        for key, item in value.items()
    )


def block_text(blocks: Sequence[Block | dict[str, Any]]) -> int:
    """The text Slack counts against ``msg_blocks_too_long``: every ``text`` string of the
    blocks (section and header text, fields, context elements, button labels)."""
    return sum(text_of(b.to_dict() if isinstance(b, Block) else b) for b in blocks)


def error_groups(items: Sequence[T], reason: Callable[[T], str]) -> list[tuple[str, list[T]]]:
    """Items whose reasons are the same (account ids in them aside), largest group first; a
    reason is one line, as written the first time it was seen."""
    groups: dict[str, tuple[str, list[T]]] = {}
    for item in items:
        text = " ".join(reason(item).split())
        key = ACCOUNT_ID_IN_TEXT.sub("<account>", text)
        groups.setdefault(key, (text, []))[1].append(item)
    return sorted(groups.values(), key=lambda group: -len(group[1]))


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def escape(value: object) -> str:
    """Text from users or AWS made inert in mrkdwn.

    ``&``, ``<`` and ``>`` become entities, so ``<!channel>``, ``<@U123>``, ``<#C1>`` and
    ``<http://x|label>`` show as typed instead of pinging or linking; a bare ``@here`` gets a
    zero-width space so it can never become a mention.
    """
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MASS_MENTION.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m.group(1), text)


def plain(value: object, limit: int) -> str:
    """Text for a plain_text field: no entities needed, mass mentions still broken."""
    text = MASS_MENTION.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m.group(1), str(value))
    return truncate(" ".join(text.split()), limit)


def mask(key_id: str) -> str:
    return mask_key_id(key_id)


def fmt_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "never"


def header(text: str, block_id: str | None = None) -> HeaderBlock:
    return HeaderBlock(
        text=PlainTextObject(text=plain(text, MAX_HEADER_TEXT), emoji=True), block_id=block_id
    )


def mrkdwn_section(
    text: str, block_id: str | None = None, accessory: object = None
) -> SectionBlock:
    """A section of already-escaped mrkdwn, cut to Slack's 3,000 characters."""
    return SectionBlock(
        text=MarkdownTextObject(text=truncate(text, MAX_SECTION_TEXT)),
        block_id=block_id,
        accessory=accessory,  # type: ignore[arg-type]
    )


def user_text_section(label: str, value: object, limit: int = 1500) -> SectionBlock:
    """Text a person typed (a reason), in a plain-text section of its own: one line in
    quotation marks, no formatting, no links or mentions, so it can never pass for one of the
    bot's own lines (a typed "*dry run*: nothing will be deleted" shows as typed)."""
    # & < > as entities all the same, as everywhere in a message's text
    text = f"{label}: “{escape(plain(value, limit))}”"
    return SectionBlock(text=PlainTextObject(text=text, emoji=False))


def one_line(value: object, limit: int) -> str:
    """Typed text inside one of the bot's mrkdwn lines: escaped, on one line."""
    return escape(truncate(" ".join(str(value).split()), limit))


def context(text: str, block_id: str | None = None) -> ContextBlock:
    return ContextBlock(
        elements=[MarkdownTextObject(text=truncate(text, MAX_CONTEXT_TEXT))], block_id=block_id
    )


def check_limits(message: Message) -> Message:
    """Raise ``BlockLimitError`` unless Slack would accept the message as built."""
    if len(message.blocks) > MAX_BLOCKS:
        raise BlockLimitError(f"{len(message.blocks)} blocks; Slack allows {MAX_BLOCKS}")
    if not message.text:
        raise BlockLimitError("a message needs a text fallback")
    size = block_text(message.blocks)
    if size > MAX_MESSAGE_TEXT:
        raise BlockLimitError(f"{size} characters of block text; the budget is {MAX_MESSAGE_TEXT}")
    seen: set[str] = set()
    for block in message.blocks:
        try:
            block.to_dict()  # runs the slack_sdk validators (text lengths, element counts)
        except SlackObjectFormationError as exc:
            raise BlockLimitError(str(exc)) from exc
        if block.block_id:
            if block.block_id in seen:
                raise BlockLimitError(f"duplicate block_id {block.block_id}")
            seen.add(block.block_id)
    return message


def sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter and a full stop (empty stays empty)."""
    text = text.strip()
    if not text:
        return ""
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
