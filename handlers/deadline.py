"""A click or form Slack may have given up on is never applied.

Slack waits 3 s for the ack of a click or a form, then shows the user that it failed. A listener
can start late (every one of Bolt's listener threads busy), and its ack then reaches Slack after
Slack stopped waiting: applying it would change state after the user was told it failed (in
assume-root mode, a deletion). So every listener that changes state acks through
``acked_in_time``: when more than ``ACK_BUDGET`` seconds have passed since the request reached
the bot, it still acks, changes nothing, logs it, and tells the user privately to try again.

The arrival is stamped before any queue, in the ``x-rootkey-arrived`` header: over HTTP by
``bot.slack.server`` as the request enters the WSGI application (overwriting any sent); in
Socket Mode by ``bot.slack.socket_mode`` as the envelope comes off the socket, before it waits
for a Socket Mode worker. A request without one (none reaches Bolt otherwise) is stamped by the
middleware.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext, BoltRequest

from bot.slack import payloads
from bot.slack.blocks.command import note
from bot.slack.server import ARRIVAL_HEADER
from handlers.private import tell_privately

if TYPE_CHECKING:
    from bot.wiring import Services

log = logging.getLogger(__name__)

ACK_BUDGET = 2.5  # seconds after arrival; Slack gives up at 3 s, the rest is for the way back
ARRIVED = "rootkey_arrived"  # where the middleware leaves the arrival in Bolt's context


def too_late_text(what: str) -> str:
    return (
        f"This {what} reached rootkey too late to be sure Slack accepted it, so nothing was "
        f"done: {'submit it' if what == 'form' else 'click'} again."
    )


def arrival(request: BoltRequest) -> float:
    """``time.monotonic()`` when ``request`` reached the bot (now, when not stamped)."""
    raw = (request.headers.get(ARRIVAL_HEADER) or [""])[0]
    try:
        return float(raw)
    except ValueError:
        return time.monotonic()


def acked_in_time(
    services: Services,
    ack: Ack,
    body: dict[str, Any],
    context: BoltContext,
    *,
    channel: str | None = None,
    **answer: Any,
) -> bool:
    """Ack (with ``answer``, such as a form's errors); True when the ack surely reached Slack
    in time, so the click or form may be applied. False (late): nothing may change; the user
    was told privately (``handlers.private.tell_privately``: the payload's ``response_url``,
    else an ephemeral message in ``channel``, else a direct message)."""
    arrived = context.get(ARRIVED)
    elapsed = time.monotonic() - arrived if isinstance(arrived, float) else 0.0
    ack(**answer)
    if elapsed <= ACK_BUDGET:
        return True
    what = "form" if body.get("type") == "view_submission" else "click"
    user = payloads.submitter(body)
    log.warning(
        "a %s by %s was acknowledged %.1f s after it arrived: not applied", what, user, elapsed
    )
    message = note(f":hourglass: {too_late_text(what)}")
    response_url = body.get("response_url")
    if user:
        tell_privately(
            services,
            user,
            message,
            response_url=response_url if isinstance(response_url, str) else None,
            channel=channel,
        )
    return False


def overdue(context: BoltContext) -> bool:
    """Already past the budget as the listener starts (queued behind busy listeners)."""
    arrived = context.get(ARRIVED)
    return isinstance(arrived, float) and time.monotonic() - arrived > ACK_BUDGET
