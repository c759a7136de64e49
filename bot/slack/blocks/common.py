"""Shared pieces of every Block Kit message: Slack's limits, escaping, masking.

Builders return a ``Message`` (blocks and the ``text`` fallback that notifications and screen
readers use) and call ``check_limits`` before returning, so a message that Slack would refuse
is caught where it is built, not at post time.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

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
ELLIPSIS = "…"

# Slack's special mentions written without angle brackets, e.g. "@channel" with link_names.
MASS_MENTION = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
ZERO_WIDTH_SPACE = "\u200b"

__all__ = [
    "MAX_BLOCKS",
    "MAX_SECTION_TEXT",
    "BlockLimitError",
    "Message",
    "check_limits",
    "context",
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
