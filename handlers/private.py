"""The one way a listener tells one person something only they see.

Every private note (a click or form that came too late, a refusal, a button value rootkey did
not write, a form's request refused after its ack, a command's answer after its ack) goes
through ``tell_privately``, in this order:

1. the interaction's ``response_url`` (clicks and commands have one; a form does not);
2. an ephemeral message in the interaction's channel: Slack refuses ``chat.postEphemeral`` in a
   channel the bot is not a member of (``not_in_channel``, ``chat:write.public`` or not), and
   a click on the Home tab has no channel;
3. a direct message to the person, which the bot can always send.

Each way that fails is logged and the next tried, so a note is lost only when Slack refuses
all three.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.slack.blocks.common import Message
from bot.slack.poster import DeliveryError

if TYPE_CHECKING:
    from bot.wiring import Services

log = logging.getLogger(__name__)


def tell_privately(
    services: Services,
    user: str,
    message: Message,
    *,
    response_url: str | None = None,
    channel: str | None = None,
) -> bool:
    """``message`` for ``user`` alone: through ``response_url``, else as an ephemeral message
    in ``channel``, else as a direct message. False when even that failed (each failure
    logged)."""
    ways: list[tuple[str, Callable[[], object]]] = []
    if response_url:
        ways.append(("response_url", lambda: services.poster.respond(response_url, message)))
    if channel:
        ways.append(("ephemeral", lambda: services.poster.ephemeral(channel, user, message)))
    ways.append(("direct message", lambda: services.poster.post(user, message)))
    for way, send in ways:
        try:
            send()
            return True
        except DeliveryError as exc:
            log.warning("a private note to %s by %s failed: %s", user, way, exc.error)
    log.error("a private note to %s was lost: every way was refused", user)
    return False
