"""Buttons on rootkey's messages (action ids from ``bot.slack.action_ids``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext

from bot.services.check import CheckRequest
from bot.slack import payloads
from bot.slack.action_ids import ActionId
from bot.slack.blocks.command import ack_text, busy_text, error_message, note
from bot.slack.blocks.common import Message
from bot.slack.values import BadValue, FindingRef
from handlers.middleware import claimed

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.wiring import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    def tell(response_url: str | None, message: Message) -> None:
        if response_url:
            services.poster.respond(response_url, message)

    @app.action(ActionId.RERUN.value)
    def rerun(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        clicked = payloads.click(body)
        try:
            scope = payloads.rerun_scope(clicked)
        except BadValue:
            log.warning("re-run button with a value rootkey did not write")
            tell(
                clicked.response_url,
                error_message("This button is not valid; run the command again."),
            )
            return
        if not claimed(services, context):  # another replica re-runs it and says so
            return
        request = CheckRequest(
            scope, clicked.channel, clicked.user, clicked.response_url, trigger="command"
        )
        if services.checks.start(request):
            tell(clicked.response_url, note(ack_text(scope)))
        else:
            tell(clicked.response_url, note(busy_text(services.jobs.pending)))

    remediation = services.remediation
    forms = services.forms

    @app.action(ActionId.REQUEST_REMEDIATION.value)
    @app.action(ActionId.ACCEPT_RISK.value)
    def open_request_form(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """A finding's button (or "accept the risk instead" in the form): open the form."""
        ack()
        if not claimed(services, context):  # another replica opens the form
            return
        clicked = payloads.click(body)
        try:
            ctx = payloads.form_context(clicked)
        except BadValue:
            log.warning("remediation button with a value rootkey did not write")
            tell(
                clicked.response_url,
                error_message("This button is not valid; run the check again."),
            )
            return
        if not ctx.channel:  # clicked on the Home tab: post where the finding's audit was
            channel = services.home.request_channel(FindingRef.decode(clicked.value).run_id)
            if channel is None:
                log.warning("a Home tab request has no channel to go to (no digest channel)")
                return
            ctx = replace(ctx, channel=channel)
        forms.open(ctx, clicked.user, clicked.trigger_id, clicked.view_id)

    def on_request(
        body: dict[str, Any], context: BoltContext, act: Callable[[int, str], object]
    ) -> None:
        """Button values carry the request id only; the service reloads and checks the rest.
        A click another replica took on is left to it (the store's conditional moves would
        refuse it anyway, but the refusal would be posted)."""
        if not claimed(services, context):
            return
        clicked = payloads.click(body)
        try:
            number = payloads.request_id(clicked.value)
        except BadValue:
            log.warning("request button with a value rootkey did not write")
            tell(clicked.response_url, error_message("This button is not valid."))
            return
        act(number, clicked.user)

    @app.action(ActionId.APPROVE.value)
    def approve_request(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        on_request(body, context, remediation.approve)

    @app.action(ActionId.REJECT.value)
    def reject_request(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        on_request(body, context, remediation.reject)

    @app.action(ActionId.REVOKE_EXCEPTION.value)
    def revoke_exception(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        on_request(body, context, remediation.revoke)

    @app.action(ActionId.CANCEL_REQUEST.value)
    def cancel_request(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        on_request(body, context, remediation.cancel)

    @app.action(ActionId.VERIFY_NOW.value)
    def verify_request(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        on_request(body, context, remediation.verify)
