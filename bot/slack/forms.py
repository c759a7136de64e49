"""Rootkey's modals in Slack: ``views.open`` with a click's trigger, ``views.update`` of an open
one. ``SlackFormScreen`` is the request form's screen (``bot.services.request_form``'s
``FormScreen`` port: the use case decides what the form shows, this words it with the Block
Kit builders); ``open_rejection`` opens the form asking why a request is rejected.
"""

from __future__ import annotations

import logging
from datetime import UTC, tzinfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.events.usage import UsageReport
from bot.remediation.events import AlreadyRequested, FormOutcome, RemediationOffer
from bot.remediation.models import Request
from bot.slack.blocks.remediation import info_modal, loading_modal, reject_modal
from bot.slack.blocks.remediation_events import form_view
from bot.slack.blocks.usage import usage_note, with_usage
from bot.slack.poster import TRANSPORT_ERRORS, DeliveryError, Poster, slack_error

log = logging.getLogger(__name__)

# views.open with a trigger Slack no longer takes: past its 3 s, or already used once.
SPENT_TRIGGER = frozenset({"expired_trigger_id", "exchanged_trigger_id"})
BUSY = ":hourglass: rootkey is busy with other audits; close this and click again in a minute."
FAILED = ":warning: rootkey could not audit the account just now; close this and try again."
NO_HOME_CHANNEL = (
    "A request from the Home tab is posted in `ROOTKEY_REQUEST_CHANNEL`, else in "
    "`ROOTKEY_DIGEST_CHANNEL`, and neither is set for rootkey. Run `/rootkey check` in a "
    "channel the approvers are in and ask from its result there, or ask whoever runs rootkey "
    "to set one of them."
)


class SlackFormScreen:
    def __init__(self, client: WebClient, poster: Poster, zone: tzinfo = UTC) -> None:
        self.client = client
        self.poster = poster
        self.zone = zone

    def open_loading(self, trigger_id: str, view_id: str | None) -> str | None:
        if view_id is not None:
            self.client.views_update(view_id=view_id, view=loading_modal())
            return view_id
        try:
            opened = self.client.views_open(trigger_id=trigger_id, view=loading_modal())
        except SlackApiError as exc:
            if slack_error(exc) not in SPENT_TRIGGER:
                raise
            # Slack showed the click as failed (expired), or another replica opened the form
            # with this trigger (exchanged): nothing more to do.
            log.info("request form not opened (%s)", slack_error(exc))
            return None
        return str(opened["view"]["id"])

    def no_channel(self, trigger_id: str, view_id: str | None) -> None:
        self.explain(trigger_id, view_id, NO_HOME_CHANNEL)

    def explain(self, trigger_id: str, view_id: str | None, text: str) -> None:
        """A note instead of a form (why no form can open)."""
        if view_id is None:
            self.client.views_open(trigger_id=trigger_id, view=info_modal(text))
        else:
            self.client.views_update(view_id=view_id, view=info_modal(text))

    def busy(self, view_id: str) -> None:
        self.client.views_update(view_id=view_id, view=info_modal(BUSY))

    def failed(self, view_id: str) -> bool:
        return self.update(view_id, info_modal(FAILED))

    def show(self, view_id: str, outcome: FormOutcome) -> bool:
        if isinstance(outcome, AlreadyRequested):
            return self.update(view_id, form_view(outcome, self.permalink(outcome)))
        return self.update(view_id, form_view(outcome))

    def show_usage(self, view_id: str, offer: RemediationOffer, report: UsageReport | None) -> bool:
        return self.update(view_id, with_usage(form_view(offer), report, self.zone))

    def post_usage(self, req: Request, report: UsageReport) -> None:
        thread = req.where.replies_under
        if not thread:
            return
        try:
            self.poster.post(req.where.place, usage_note(report, self.zone), thread_ts=thread)
        except DeliveryError as exc:
            log.error("request #%d: key usage not posted: %s", req.id, exc.error)

    def permalink(self, open_request: AlreadyRequested) -> str | None:
        """The open request message's link (``chat.getPermalink``), or None when it has no
        message yet or Slack cannot say (the request is then named without a link)."""
        if not open_request.where.message:
            return None
        try:
            found = self.client.chat_getPermalink(
                channel=open_request.where.place, message_ts=open_request.where.message
            )
        except (SlackApiError, *TRANSPORT_ERRORS) as exc:
            log.info("request #%d: no permalink (%s)", open_request.request_id, exc)
            return None
        link = found.get("permalink")
        return link if isinstance(link, str) else None

    def update(self, view_id: str, view: View) -> bool:
        """``views.update``; False when Slack refused it (the form was closed or submitted
        meanwhile: a person may close it at any time) or could not be reached."""
        try:
            self.client.views_update(view_id=view_id, view=view)
        except (SlackApiError, *TRANSPORT_ERRORS) as exc:
            log.info("request form %s not updated (%s)", view_id, type(exc).__name__)
            return False
        return True

    def open_rejection(self, trigger_id: str, req: Request) -> bool:
        """The form asking why ``req`` is rejected; False when Slack did not open it (the
        trigger expired: Slack or the database slow)."""
        try:
            self.client.views_open(trigger_id=trigger_id, view=reject_modal(req))
        except SlackApiError as exc:
            log.warning("request #%d: the rejection form did not open: %s", req.id, exc)
            return False
        return True
