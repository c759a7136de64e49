"""The one way a listener tells one person something only they see: ``tell_privately``, over
the Slack adapter ``bot.slack.private.PrivateReplies`` (the interaction's ``response_url``,
else an ephemeral message in its channel, else a direct message; each failure logged)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.slack.blocks.common import Message

if TYPE_CHECKING:
    from bot.wiring import Services


def tell_privately(
    services: Services,
    user: str,
    message: Message,
    *,
    response_url: str | None = None,
    channel: str | None = None,
) -> bool:
    """``message`` for ``user`` alone; False when every way was refused."""
    return services.replies.tell(user, message, response_url=response_url, channel=channel)
