"""Buttons on rootkey's messages (action ids from ``bot.slack.action_ids``).

Every click is acked through ``handlers.deadline``: one acked too late for Slack to have taken
it changes nothing. No listener waits on AWS: audits (a re-run, a form's fresh audit, "verify
now") are queued in the job pool after the ack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext
from slack_sdk.errors import SlackApiError

from bot.services.check import CheckRequest
from bot.slack import payloads
from bot.slack.action_ids import ActionId
from bot.slack.blocks.command import ack_text, busy_text, error_message, note
from bot.slack.blocks.common import Message
from bot.slack.blocks.remediation import approval_prompt, reject_modal
from bot.slack.poster import DeliveryError
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
NO_HOME_CHANNEL = (
    "A request from the Home tab is posted in `ROOTKEY_REQUEST_CHANNEL`, else in "
    "`ROOTKEY_DIGEST_CHANNEL`, and neither is set for rootkey. Run `/rootkey check` in a "
    "channel the approvers are in and ask from its result there, or ask whoever runs rootkey "
    "to set one of them."
)


def register(app: App, services: Services) -> None:
    def tell(clicked: payloads.Click, message: Message) -> None:
        """A note only the clicker sees (``handlers.private``: never lost where the bot is
        not in the channel, nor for a click on the Home tab, which has no response_url)."""
        tell_privately(
            services,
            clicked.user,
            message,
            response_url=clicked.response_url,
            channel=clicked.channel,
        )

    def refuse_unknown_value(clicked: payloads.Click, button: str, retry: str = "") -> None:
        """A button value rootkey did not write (tampered, truncated or from an old version):
        logged, and the clicker told privately (and what to do again, if anything)."""
        log.warning("%s button with a value rootkey did not write", button)
        text = f"This button is not valid; {retry}" if retry else "This button is not valid."
        tell(clicked, error_message(text))

    @app.action(ActionId.RERUN.value)
    def rerun(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        if not acked_in_time(services, ack, body, context):
            return
        clicked = payloads.click(body)
        try:
            scope = payloads.rerun_scope(clicked)
        except BadValue:
            refuse_unknown_value(clicked, "re-run", "run the command again.")
            return
        if not claimed(services, context):  # another replica re-runs it and says so
            return
        request = CheckRequest(
            scope, clicked.channel, clicked.user, clicked.response_url, trigger="command"
        )
        if services.checks.start(request):
            tell(clicked, note(ack_text(scope)))
        else:
            tell(clicked, note(busy_text(services.jobs.pending)))

    remediation = services.remediation
    forms = services.forms

    @app.action(ActionId.REQUEST_REMEDIATION.value)
    @app.action(ActionId.ACCEPT_RISK.value)
    def open_request_form(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """A finding's button (or "accept the risk instead" in the form): open the form.

        Slack lets the click's ``trigger_id`` open a modal for 3 s only, so nothing before
        ``views.open`` waits on the database: the modal opens first, in its loading state, and
        the audit that fills it is queued. The trigger is also the claim across replicas (Slack
        exchanges it once: a repeat reaching another replica gets ``exchanged_trigger_id`` and
        opens nothing); inside an open form there is no trigger, and the database claim
        decides which replica shows it."""
        if not acked_in_time(services, ack, body, context):
            return  # its trigger id has expired too: no form could open
        clicked = payloads.click(body)
        try:
            ctx = payloads.form_context(clicked)
        except BadValue:
            refuse_unknown_value(clicked, "remediation", "run the check again.")
            return
        if not ctx.channel:  # clicked on the Home tab: no channel of its own
            channel = remediation.home_channel()
            if channel is None:  # said before any form opens
                forms.explain(clicked.trigger_id, clicked.view_id, NO_HOME_CHANNEL)
                return
            ctx = replace(ctx, channel=channel)
        if clicked.view_id is not None and not claimed(services, context):
            return  # another replica shows it in the open form
        forms.open(ctx, clicked.user, clicked.trigger_id, clicked.view_id)

    def on_request(ack: Ack, body: dict[str, Any], context: BoltContext) -> tuple[int, str] | None:
        """Button values carry the request id only; the service reloads and checks the rest.
        Returns (request id, user) when the click is to be applied: not when it was acked too
        late for Slack to have taken it (the clicker is told to click again), nor when another
        replica took it on (the store's conditional moves would refuse it anyway, but the
        refusal would be posted)."""
        if not acked_in_time(services, ack, body, context):
            return None
        if not claimed(services, context):
            return None
        clicked = payloads.click(body)
        try:
            number = payloads.request_id(clicked.value)
        except BadValue:
            refuse_unknown_value(clicked, "request")
            return None
        return number, clicked.user

    def decide(act: Callable[[int, str], object]) -> Callable[..., None]:
        def listener(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
            applied = on_request(ack, body, context)
            if applied is not None:
                act(*applied)

        return listener

    @app.action(ActionId.REVIEW_APPROVAL.value)
    def review_approval(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """The request message's Approve: the clicker's rights first (a refusal is told by the
        one error handler, before any confirmation), then privately the question to confirm,
        whose button approves."""
        applied = on_request(ack, body, context)
        if applied is None:
            return
        req = remediation.may_approve(*applied)
        tell(payloads.click(body), approval_prompt(req, services.config.zone))

    @app.action(ActionId.REVIEW_REJECTION.value)
    def review_rejection(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """The request message's Reject: the clicker's rights first, then the form with an
        optional reason (``handlers.views`` rejects when it is sent)."""
        applied = on_request(ack, body, context)
        if applied is None:
            return
        req = remediation.may_reject(*applied)
        clicked = payloads.click(body)
        try:
            services.client.views_open(trigger_id=clicked.trigger_id, view=reject_modal(req))
        except SlackApiError as exc:  # the trigger expired (Slack or the database slow)
            log.warning("request #%d: the rejection form did not open: %s", req.id, exc)
            tell(clicked, error_message(REJECT_FORM_NOT_OPENED))

    @app.action(ActionId.APPROVE.value)
    def approve(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """The confirmation's button (or Approve on a request message posted before): rights
        checked again, then approved. The private confirmation is replaced by what was done,
        so its button cannot be clicked twice by mistake."""
        applied = on_request(ack, body, context)
        if applied is None:
            return
        done = remediation.approve(*applied)
        clicked = payloads.click(body)
        if clicked.ephemeral and clicked.response_url:
            try:
                services.poster.respond(
                    clicked.response_url,
                    note(f":white_check_mark: You approved request #{done.id}."),
                    replace_original=True,
                )
            except DeliveryError as exc:  # approved all the same: the request message says so
                log.info("request #%d: the confirmation was not replaced: %s", done.id, exc.error)

    app.action(ActionId.REJECT.value)(decide(remediation.reject))
    app.action(ActionId.REVOKE_EXCEPTION.value)(decide(remediation.revoke))
    app.action(ActionId.CANCEL_REQUEST.value)(decide(remediation.cancel))

    @app.action(ActionId.VERIFY_NOW.value)
    def verify_request(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """A re-audit: queued in the job pool, never run in the listener."""
        applied = on_request(ack, body, context)
        if applied is None:
            return
        clicked = payloads.click(body)

        def verify() -> None:
            try:
                remediation.verify(*applied)
            except Exception as exc:  # a refusal, or AWS failing: told as in a listener
                errors.tell(
                    services,
                    clicked.user,
                    exc,
                    response_url=clicked.response_url,
                    channel=clicked.channel,
                )

        if not services.jobs.submit("verify now", verify):
            tell(clicked, note(busy_text(services.jobs.pending)))
