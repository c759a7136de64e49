"""The one error handler: a listener's exception becomes one private line for the user
(``handlers.private``: never lost where the bot is not in the channel)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltContext, BoltResponse

from bot.errors import describe
from bot.slack.blocks.command import error_message
from handlers.middleware import SERVICES
from handlers.private import tell_privately

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.wiring import Services

log = logging.getLogger(__name__)


def tell(
    services: Services,
    user: str,
    error: Exception,
    *,
    response_url: str | None = None,
    channel: str | None = None,
) -> None:
    """The one private line for ``error`` (logged with an id when it is a bug), told to
    ``user`` by ``tell_privately``: ``response_url``, else ephemeral in ``channel``, else a
    direct message (a form's work after its ack has no ``response_url``)."""
    problem = describe(error)
    if not user:
        return
    message = error_message(problem.text, problem.error_id, mrkdwn=problem.mrkdwn)
    tell_privately(services, user, message, response_url=response_url, channel=channel)


def where_to_tell(body: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """Who to tell about a payload's failure, and where: (user, response_url, channel), from
    a command (``user_id``, ``channel_id``), a click or a form (``user``, ``channel``,
    ``response_url`` or a form's ``response_urls``). An event names nobody to tell."""

    def field(name: str) -> Any:
        value = body.get(name)
        return value.get("id") if isinstance(value, dict) else body.get(f"{name}_id")

    response_url = body.get("response_url") or next(
        (r.get("response_url") for r in body.get("response_urls") or [] if isinstance(r, dict)),
        None,
    )
    user, channel = field("user"), field("channel")
    return (
        user if isinstance(user, str) else "",
        response_url if isinstance(response_url, str) else None,
        channel if isinstance(channel, str) else None,
    )


def answer_error(error: Exception, body: dict[str, Any], context: BoltContext) -> BoltResponse:
    """Every listener's exception: the one private line to whoever sent the payload."""
    services = context.get(SERVICES)
    if services is None:  # failed before the first middleware: nobody to tell it through
        log.error("a request failed before rootkey's middleware: %r", error)
    else:
        user, response_url, channel = where_to_tell(body)
        tell(services, user, error, response_url=response_url, channel=channel)
    return BoltResponse(status=500, body="")


def register(app: App, services: Services) -> None:
    app.error(answer_error)
