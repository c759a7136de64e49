"""Modal submissions (callback ids from ``bot.slack.action_ids``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, BoltContext

from bot.remediation.errors import InvalidInput
from bot.slack import payloads
from bot.slack.action_ids import CallbackId
from handlers.middleware import claimed

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.wiring import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    remediation = services.remediation

    @app.view(CallbackId.REMEDIATION_REQUEST.value)
    @app.view(CallbackId.ACCEPT_RISK.value)
    def submit_request(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        """Validate at once (errors go back into the form), ack, then create and post."""
        user = payloads.submitter(body)
        try:
            form = payloads.request_form(payloads.submission_kind(view), view)
            new = remediation.prepare(form, user)
        except InvalidInput as exc:
            ack(response_action="errors", errors={exc.field: str(exc)})
            return
        ack()
        services.forms.submitted(str(view.get("id") or ""))
        if claimed(services, context):  # a form another replica took on is saved there once
            services.forms.request_posted(remediation.create(new))
