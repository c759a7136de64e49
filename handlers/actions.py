"""Buttons on rootkey's messages (action ids from ``bot.slack.action_ids``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext

from bot.remediation.events import FormContext
from bot.remediation.states import Kind
from bot.services.check import CheckRequest
from bot.slack.action_ids import ActionId
from bot.slack.blocks.command import ack_text, busy_text, error_message, note
from bot.slack.blocks.common import Message
from bot.slack.values import BadValue, FindingRef, decode_scope
from handlers.middleware import claimed

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.wiring import Services

log = logging.getLogger(__name__)


def clicked(body: dict[str, Any]) -> tuple[str, str, str | None, str]:
    """(channel, user, response_url, value) of a block_actions payload."""
    action = (body.get("actions") or [{}])[0]
    return (
        (body.get("channel") or {}).get("id", ""),
        (body.get("user") or {}).get("id", ""),
        body.get("response_url"),
        str(action.get("value") or ""),
    )


def register(app: App, services: Services) -> None:
    def tell(response_url: str | None, message: Message) -> None:
        if response_url:
            services.poster.respond(response_url, message)

    @app.action(ActionId.RERUN.value)
    def rerun(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        channel, user, response_url, value = clicked(body)
        try:
            scope = decode_scope(value)
        except BadValue:
            log.warning("re-run button with a value rootkey did not write")
            tell(response_url, error_message("This button is not valid; run the command again."))
            return
        if not claimed(services, context):  # another replica re-runs it and says so
            return
        request = CheckRequest(scope, channel, user, response_url, trigger="command")
        if services.checks.start(request):
            tell(response_url, note(ack_text(scope)))
        else:
            tell(response_url, note(busy_text(services.jobs.pending)))

    remediation = services.remediation
    forms = services.forms

    @app.action(ActionId.REQUEST_REMEDIATION.value)
    @app.action(ActionId.ACCEPT_RISK.value)
    def open_request_form(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """A finding's button (or "accept the risk instead" in the form): open the form."""
        ack()
        if not claimed(services, context):  # another replica opens the form
            return
        channel, user, response_url, value = clicked(body)
        action_id = (body.get("actions") or [{}])[0].get("action_id")
        kind = Kind.EXCEPTION if action_id == ActionId.ACCEPT_RISK.value else Kind.REMEDIATION
        view = body.get("view") or {}
        try:
            if view:  # clicked inside the request form: its ids are in private_metadata
                ctx = replace(FormContext.decode(view.get("private_metadata", "")), kind=kind)
            else:
                message = body.get("message") or {}
                thread = message.get("thread_ts") or message.get("ts")
                ctx = FormContext(kind, FindingRef.decode(value).account_id, channel, thread)
        except ValueError:  # BadValue included
            log.warning("remediation button with a value rootkey did not write")
            tell(response_url, error_message("This button is not valid; run the check again."))
            return
        forms.open(ctx, user, body.get("trigger_id", ""), view.get("id"))

    def on_request(
        body: dict[str, Any], context: BoltContext, act: Callable[[int, str], object]
    ) -> None:
        """Button values carry the request id only; the service reloads and checks the rest.
        A click another replica took on is left to it (the store's conditional moves would
        refuse it anyway, but the refusal would be posted)."""
        if not claimed(services, context):
            return
        _, user, response_url, value = clicked(body)
        try:
            number = request_id(value)
        except BadValue:
            log.warning("request button with a value rootkey did not write")
            tell(response_url, error_message("This button is not valid."))
            return
        act(number, user)

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

    @app.action(ActionId.VERIFY_NOW.value)
    def verify_request(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        ack()
        on_request(body, context, remediation.verify)


def request_id(value: str) -> int:
    """A request button's value: the request id and nothing else."""
    if not re.fullmatch(r"[0-9]{1,18}", value):
        raise BadValue("not a request id")
    return int(value)
