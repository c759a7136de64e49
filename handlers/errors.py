"""The one error handler: a listener's exception becomes one private line for the user."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltResponse

from bot.errors import describe
from bot.slack.blocks.command import error_message
from bot.slack.poster import DeliveryError

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.wiring import Services

log = logging.getLogger(__name__)


def tell(services: Services, response_url: str | None, error: Exception) -> None:
    """The one private line for ``error`` (logged with an id when it is a bug)."""
    problem = describe(error)
    if not response_url:
        return
    try:
        message = error_message(problem.text, problem.error_id, mrkdwn=problem.mrkdwn)
        services.poster.respond(response_url, message)
    except DeliveryError as exc:
        log.error("could not tell the user about an error: %s", exc.error)


def tell_privately(services: Services, channel: str, user: str, error: Exception) -> None:
    """``tell`` where there is no ``response_url`` (a form's work after its ack): the one line
    for ``error`` as an ephemeral message to ``user`` in ``channel``."""
    problem = describe(error)
    try:
        message = error_message(problem.text, problem.error_id, mrkdwn=problem.mrkdwn)
        services.poster.ephemeral(channel, user, message)
    except DeliveryError as exc:
        log.error("could not tell the user about an error: %s", exc.error)


def register(app: App, services: Services) -> None:
    @app.error
    def answer_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        response_url = body.get("response_url") or next(
            (r.get("response_url") for r in body.get("response_urls") or []), None
        )
        tell(services, response_url, error)
        return BoltResponse(status=500, body="")
