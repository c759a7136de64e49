"""The one way rootkey tells one person something only they see, in Slack.

A private note (a click or form that came too late, a refusal, a button value rootkey did not
write, a form's request refused after its ack, a command's answer after its ack) goes, in
this order:

1. through the interaction's ``response_url`` (clicks and commands have one; a form does not);
2. as an ephemeral message in the interaction's channel: Slack refuses ``chat.postEphemeral``
   in a channel the bot is not a member of (``not_in_channel``, ``chat:write.public`` or not),
   and a click on the Home tab has no channel;
3. as a direct message to the person, which the bot can always send.

Each way that fails is logged and the next tried, so a note is lost only when Slack refuses
all three.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.slack.blocks.common import Message
from bot.slack.poster import DeliveryError, Poster

log = logging.getLogger(__name__)


class PrivateReplies:
    def __init__(self, poster: Poster) -> None:
        self.poster = poster

    def tell(
        self,
        user: str,
        message: Message,
        *,
        response_url: str | None = None,
        channel: str | None = None,
    ) -> bool:
        """``message`` for ``user`` alone: through ``response_url``, else as an ephemeral
        message in ``channel``, else as a direct message. False when even that failed (each
        failure logged)."""
        poster = self.poster
        ways: list[tuple[str, Callable[[], object]]] = []
        if response_url:
            ways.append(("response_url", lambda: poster.respond(response_url, message)))
        if channel:
            ways.append(("ephemeral", lambda: poster.ephemeral(channel, user, message)))
        ways.append(("direct message", lambda: poster.post(user, message)))
        for way, send in ways:
            try:
                send()
                return True
            except DeliveryError as exc:
                log.warning("a private note to %s by %s failed: %s", user, way, exc.error)
        log.error("a private note to %s was lost: every way was refused", user)
        return False

    def replace(self, response_url: str, message: Message) -> bool:
        """Replace the private message ``response_url`` belongs to (a confirmation once done);
        False when Slack did not take it (logged)."""
        try:
            self.poster.respond(response_url, message, replace_original=True)
        except DeliveryError as exc:
            log.info("a private message was not replaced: %s", exc.error)
            return False
        return True
