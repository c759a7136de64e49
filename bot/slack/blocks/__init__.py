"""Block Kit builders: every message the bot posts is built in this package.

Each builder returns a ``Message`` (``blocks, text``) that has passed ``check_limits``.
Handlers and services never write Block Kit dicts themselves.
"""

from bot.slack.blocks.common import BlockLimitError, Message, check_limits, escape

__all__ = ["BlockLimitError", "Message", "check_limits", "escape"]
