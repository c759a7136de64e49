"""Buttons on rootkey's messages (action ids from ``bot.slack.action_ids``).

Every click is acked through ``handlers.deadline``: one acked too late for Slack to have taken
it changes nothing. No listener waits on AWS: audits (a re-run, a form's fresh audit, "verify
now") are queued in the job pool after the ack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext

from bot.services.check import CheckRequest
from bot.slack import payloads
from bot.slack.action_ids import ActionId
from bot.slack.blocks.command import ack_text, busy_text, error_message, note
from bot.slack.blocks.common import Message
from bot.slack.blocks.remediation import approval_prompt
from bot.slack.values import BadValue
from handlers import errors
from handlers.deadline import acked_in_time
from handlers.middleware import claimed
from handlers.private import tell_privately

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.wiring import Services

log = logging.getLogger(__name__)

REJECT_FORM_NOT_OPENED = "Slack did not open the rejection form in time; click Reject again."


def tell(services: Services, clicked: payloads.Click, message: Message) -> None:
    """A note only the clicker sees (``handlers.private``: never lost where the bot is not in
    the channel, nor for a click on the Home tab, which has no response_url)."""
    tell_privately(
        services, clicked.user, message, response_url=clicked.response_url, channel=clicked.channel
    )


def refuse_unknown_value(
    services: Services, clicked: payloads.Click, button: str, retry: str = ""
) -> None:
    """A button value rootkey did not write (tampered, truncated or from an old version):
    logged, and the clicker told privately (and what to do again, if anything)."""
    log.warning("%s button with a value rootkey did not write", button)
    text = f"This button is not valid; {retry}" if retry else "This button is not valid."
    tell(services, clicked, error_message(text))


def rerun(ack: Ack, body: dict[str, Any], context: BoltContext, services: Services) -> None:
    if not acked_in_time(services, ack, body, context):
        return
    clicked = payloads.click(body)
    try:
        scope = payloads.rerun_scope(clicked)
    except BadValue:
        refuse_unknown_value(services, clicked, "re-run", "run the command again.")
        return
    if not claimed(services, context):  # another replica re-runs it and says so
        return
    request = CheckRequest(
        scope, clicked.channel, clicked.user, clicked.response_url, trigger="command"
    )
    if services.checks.start(request):
        tell(services, clicked, note(ack_text(scope)))
    else:
        tell(services, clicked, note(busy_text(services.jobs.pending)))


def open_request_form(
    ack: Ack, body: dict[str, Any], context: BoltContext, services: Services
) -> None:
    """A finding's button (or "accept the risk instead" in the form): open the form.

    Slack lets the click's ``trigger_id`` open a modal for 3 s only, so nothing before
    ``views.open`` waits on the database: the modal opens first, in its loading state, and the
    audit that fills it is queued (``bot.services.request_form``). The trigger is also the
    claim across replicas (Slack exchanges it once: a repeat reaching another replica gets
    ``exchanged_trigger_id`` and opens nothing); inside an open form there is no trigger, and
    the database claim decides which replica shows it."""
    if not acked_in_time(services, ack, body, context):
        return  # its trigger id has expired too: no form could open
    clicked = payloads.click(body)
    try:
        ctx = payloads.form_context(clicked)
    except BadValue:
        refuse_unknown_value(services, clicked, "remediation", "run the check again.")
        return
    services.forms.open(
        ctx,
        clicked.user,
        clicked.trigger_id,
        clicked.view_id,
        claim=lambda: claimed(services, context),
    )


def on_request(
    ack: Ack, body: dict[str, Any], context: BoltContext, services: Services
) -> tuple[int, str] | None:
    """Button values carry the request id only; the service reloads and checks the rest.
    Returns (request id, user) when the click is to be applied: not when it was acked too late
    for Slack to have taken it (the clicker is told to click again), nor when another replica
    took it on (the store's conditional moves would refuse it anyway, but the refusal would be
    posted)."""
    if not acked_in_time(services, ack, body, context):
        return None
    if not claimed(services, context):
        return None
    clicked = payloads.click(body)
    try:
        number = payloads.request_id(clicked.value)
    except BadValue:
        refuse_unknown_value(services, clicked, "request")
        return None
    return number, clicked.user


def review_approval(
    ack: Ack, body: dict[str, Any], context: BoltContext, services: Services
) -> None:
    """The request message's Approve: the clicker's rights first (a refusal is told by the one
    error handler, before any confirmation), then privately the question to confirm, whose
    button approves."""
    applied = on_request(ack, body, context, services)
    if applied is None:
        return
    req = services.remediation.may_approve(*applied)
    tell(services, payloads.click(body), approval_prompt(req, services.config.zone))


def review_rejection(
    ack: Ack, body: dict[str, Any], context: BoltContext, services: Services
) -> None:
    """The request message's Reject: the clicker's rights first, then the form with an
    optional reason (``handlers.views`` rejects when it is sent)."""
    applied = on_request(ack, body, context, services)
    if applied is None:
        return
    req = services.remediation.may_reject(*applied)
    clicked = payloads.click(body)
    if not services.form_screen.open_rejection(clicked.trigger_id, req):
        tell(services, clicked, error_message(REJECT_FORM_NOT_OPENED))


def approve(ack: Ack, body: dict[str, Any], context: BoltContext, services: Services) -> None:
    """The confirmation's button (or Approve on a request message posted before): rights
    checked again, then approved. The private confirmation is replaced by what was done, so
    its button cannot be clicked twice by mistake (approved all the same when it cannot be:
    the request message says so)."""
    applied = on_request(ack, body, context, services)
    if applied is None:
        return
    done = services.remediation.approve(*applied)
    clicked = payloads.click(body)
    if clicked.ephemeral and clicked.response_url:
        services.replies.replace(
            clicked.response_url, note(f":white_check_mark: You approved request #{done.id}.")
        )


def reject(ack: Ack, body: dict[str, Any], context: BoltContext, services: Services) -> None:
    applied = on_request(ack, body, context, services)
    if applied is not None:
        services.remediation.reject(*applied)


def revoke(ack: Ack, body: dict[str, Any], context: BoltContext, services: Services) -> None:
    applied = on_request(ack, body, context, services)
    if applied is not None:
        services.remediation.revoke(*applied)


def cancel(ack: Ack, body: dict[str, Any], context: BoltContext, services: Services) -> None:
    applied = on_request(ack, body, context, services)
    if applied is not None:
        services.remediation.cancel(*applied)


def verify_request(
    ack: Ack, body: dict[str, Any], context: BoltContext, services: Services
) -> None:
    """A re-audit: queued in the job pool, never run in the listener."""
    applied = on_request(ack, body, context, services)
    if applied is None:
        return
    clicked = payloads.click(body)

    def verify() -> None:
        try:
            services.remediation.verify(*applied)
        except Exception as exc:  # a refusal, or AWS failing: told as in a listener
            errors.tell(
                services,
                clicked.user,
                exc,
                response_url=clicked.response_url,
                channel=clicked.channel,
            )

    if not services.jobs.submit("verify now", verify):
        tell(services, clicked, note(busy_text(services.jobs.pending)))


LISTENERS: dict[ActionId, Callable[..., None]] = {
    ActionId.RERUN: rerun,
    ActionId.REQUEST_REMEDIATION: open_request_form,
    ActionId.ACCEPT_RISK: open_request_form,
    ActionId.REVIEW_APPROVAL: review_approval,
    ActionId.REVIEW_REJECTION: review_rejection,
    ActionId.APPROVE: approve,
    ActionId.REJECT: reject,
    ActionId.REVOKE_EXCEPTION: revoke,
    ActionId.CANCEL_REQUEST: cancel,
    ActionId.VERIFY_NOW: verify_request,
}


def register(app: App, services: Services) -> None:
    for action_id, listener in LISTENERS.items():
        app.action(action_id.value)(listener)
