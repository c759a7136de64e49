"""The request form's modal: opened at once (a trigger id lasts 3 s) in a loading state, then
filled with what the use case offers after a fresh audit (``views.open``, ``views.update``).

A remediation form also shows what used the account's root keys (CloudTrail, 90 days): the form
is filled first with "looking up…", and updated again when the lookup is done, so it never
waits for CloudTrail (Slack keeps what was typed, the inputs' ids being the same). Once the
request is posted, the same summary goes into its thread for the approvers.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, tzinfo
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.audit.models import Verdict
from bot.events.usage import UsageReport
from bot.remediation.events import FormContext, FormOutcome, RemediationOffer
from bot.remediation.models import Request
from bot.remediation.states import Kind, State
from bot.slack.blocks.remediation import loading_modal
from bot.slack.blocks.remediation_events import form_view
from bot.slack.blocks.usage import usage_note, with_usage
from bot.slack.poster import TRANSPORT_ERRORS, DeliveryError, Poster

log = logging.getLogger(__name__)

KEEP = 900.0  # seconds a form's usage summary is kept for its request's thread


class FormSource(Protocol):
    def form(self, ctx: FormContext, user: str) -> FormOutcome: ...


class KeyUsage(Protocol):
    """``bot.services.key_usage.KeyUsageLookup``: never raises."""

    def __call__(self, verdict: Verdict) -> UsageReport: ...

    def account(self, account_id: str) -> UsageReport: ...


class RequestForms:
    def __init__(
        self,
        client: WebClient,
        source: FormSource,
        *,
        usage: KeyUsage | None = None,
        poster: Poster | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        self.client = client
        self.source = source
        self.usage = usage
        self.poster = poster
        self.zone = zone
        self.lock = threading.Lock()
        self.reports: dict[str, tuple[float, UsageReport]] = {}
        self.closed: dict[str, float] = {}  # view ids submitted, when

    def open(self, ctx: FormContext, user: str, trigger_id: str, view_id: str | None) -> None:
        """Open the loading modal (or replace the open form ``view_id``), then fill it."""
        if view_id is None:
            opened = self.client.views_open(trigger_id=trigger_id, view=loading_modal())
            view_id = opened["view"]["id"]
        outcome = self.source.form(ctx, user)
        view = form_view(outcome)
        if self.usage is None or not isinstance(outcome, RemediationOffer):
            self.client.views_update(view_id=view_id, view=view)
            return
        self.client.views_update(view_id=view_id, view=with_usage(view, None, self.zone))
        report = self.usage(outcome.verdict)
        self.remember(report)
        if self.was_submitted(view_id):  # Slack closed it: nothing to update
            return
        try:
            self.client.views_update(view_id=view_id, view=with_usage(view, report, self.zone))
        except (SlackApiError, *TRANSPORT_ERRORS) as exc:  # submitted or closed meanwhile
            log.info("request form %s: key usage not shown (%s)", view_id, type(exc).__name__)

    def submitted(self, view_id: str) -> None:
        """The form was submitted (and closed): a lookup finishing later leaves it alone."""
        with self.lock:
            self.closed[view_id] = time.monotonic()

    def was_submitted(self, view_id: str) -> bool:
        now = time.monotonic()
        with self.lock:
            self.closed = {k: t for k, t in self.closed.items() if now - t < KEEP}
            return view_id in self.closed

    def remember(self, report: UsageReport) -> None:
        now = time.monotonic()
        with self.lock:
            self.reports = {k: v for k, v in self.reports.items() if now - v[0] < KEEP}
            self.reports[report.account_id] = (now, report)

    def recent(self, account_id: str) -> UsageReport | None:
        with self.lock:
            kept = self.reports.get(account_id)
        return kept[1] if kept and time.monotonic() - kept[0] < KEEP else None

    def request_posted(self, req: Request) -> None:
        """The key-usage summary in a new remediation request's thread (the form's, or read
        again when another replica showed the form). Never raises."""
        if self.usage is None or self.poster is None:
            return
        if req.kind is not Kind.REMEDIATION or req.state is not State.REQUESTED:
            return  # an exception request, or one that could not be posted
        thread = req.thread_ts or req.message_ts
        if not thread:
            return
        report = self.recent(req.account_id) or self.usage.account(req.account_id)
        try:
            self.poster.post(req.channel, usage_note(report, self.zone), thread_ts=thread)
        except DeliveryError as exc:
            log.error("request #%d: key usage not posted: %s", req.id, exc.error)
