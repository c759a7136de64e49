"""The request form's modal: opened at once (a trigger id lasts 3 s) in a loading state, then
filled with what the use case offers after a fresh audit (``views.open``, ``views.update``).
The audit and the lookups run in the job pool, never in the click's listener thread: a slow AWS
holds up a form, never the acks of other clicks and commands. When the pool is full the form
says so at once.

A remediation form also shows what used the account's root keys (CloudTrail, 90 days): the form
is filled first with "looking up…", and updated again when the lookup is done, so it never
waits for CloudTrail (Slack keeps what was typed, the inputs' ids being the same). Once the
request is posted, the same summary goes into its thread for the approvers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, tzinfo
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.audit.models import Verdict
from bot.events.usage import UsageReport
from bot.remediation.events import (
    AlreadyRequested,
    FormContext,
    FormOutcome,
    RemediationOffer,
)
from bot.remediation.models import Request
from bot.remediation.states import Kind, State
from bot.slack.blocks.remediation import info_modal, loading_modal
from bot.slack.blocks.remediation_events import form_view
from bot.slack.blocks.usage import usage_note, with_usage
from bot.slack.poster import TRANSPORT_ERRORS, DeliveryError, Poster, slack_error

log = logging.getLogger(__name__)

# views.open with a trigger Slack no longer takes: past its 3 s, or already used once.
SPENT_TRIGGER = frozenset({"expired_trigger_id", "exchanged_trigger_id"})
KEEP = 900.0  # seconds a form's usage summary is kept for its request's thread
BUSY = ":hourglass: rootkey is busy with other audits; close this and click again in a minute."
FAILED = ":warning: rootkey could not audit the account just now; close this and try again."


class FormSource(Protocol):
    def form(self, ctx: FormContext, user: str) -> FormOutcome: ...


class Pool(Protocol):
    """``bot.jobs.Jobs``: False (nothing queued) when full or stopping."""

    def submit(self, name: str, fn: Callable[[], None]) -> bool: ...


class KeyUsage(Protocol):
    """``bot.services.key_usage.KeyUsageLookup``: never raises."""

    def __call__(self, verdict: Verdict) -> UsageReport: ...

    def account(self, account_id: str) -> UsageReport: ...


class RequestForms:
    def __init__(
        self,
        client: WebClient,
        source: FormSource,
        pool: Pool,
        *,
        usage: KeyUsage | None = None,
        poster: Poster | None = None,
        zone: tzinfo = UTC,
    ) -> None:
        self.client = client
        self.source = source
        self.pool = pool
        self.usage = usage
        self.poster = poster
        self.zone = zone
        self.lock = threading.Lock()
        self.reports: dict[str, tuple[float, UsageReport]] = {}
        self.closed: dict[str, float] = {}  # view ids submitted, when

    def open(self, ctx: FormContext, user: str, trigger_id: str, view_id: str | None) -> None:
        """In the click's listener: open the loading modal (or show the open form ``view_id``
        loading), and queue the audit that fills it."""
        if view_id is None:
            try:
                opened = self.client.views_open(trigger_id=trigger_id, view=loading_modal())
            except SlackApiError as exc:
                if slack_error(exc) not in SPENT_TRIGGER:
                    raise
                # Slack showed the click as failed (expired), or another replica opened the
                # form with this trigger (exchanged): nothing more to do.
                log.info("request form not opened (%s)", slack_error(exc))
                return
            view_id = opened["view"]["id"]
        else:
            self.client.views_update(view_id=view_id, view=loading_modal())
        shown = view_id
        if not self.pool.submit("request form", lambda: self.fill(ctx, user, shown)):
            self.client.views_update(view_id=view_id, view=info_modal(BUSY))

    def explain(self, trigger_id: str, view_id: str | None, text: str) -> None:
        """In the click's listener: a note instead of a form (why no form can open)."""
        if view_id is None:
            self.client.views_open(trigger_id=trigger_id, view=info_modal(text))
        else:
            self.client.views_update(view_id=view_id, view=info_modal(text))

    def fill(self, ctx: FormContext, user: str, view_id: str) -> None:
        """In the job pool: audit, fill the form, then add what used the keys. Never raises."""
        try:
            outcome = self.source.form(ctx, user)
        except Exception:  # the audit path failed in a way it does not turn into a verdict
            log.exception("request form for %s: the audit failed", ctx.account_id)
            self.show(view_id, info_modal(FAILED))
            return
        if isinstance(outcome, AlreadyRequested):
            self.show(view_id, form_view(outcome, self.permalink(outcome)))
            return
        view = form_view(outcome)
        if self.usage is None or not isinstance(outcome, RemediationOffer):
            self.show(view_id, view)
            return
        if not self.show(view_id, with_usage(view, None, self.zone)):
            return
        report = self.usage(outcome.verdict)
        self.remember(report)
        if self.was_submitted(view_id):  # Slack closed it: nothing to update
            return
        self.show(view_id, with_usage(view, report, self.zone))

    def permalink(self, open_request: AlreadyRequested) -> str | None:
        """The open request message's link (``chat.getPermalink``), or None when it has no
        message yet or Slack cannot say (the request is then named without a link)."""
        if not open_request.message_ts:
            return None
        try:
            found = self.client.chat_getPermalink(
                channel=open_request.channel, message_ts=open_request.message_ts
            )
        except (SlackApiError, *TRANSPORT_ERRORS) as exc:
            log.info("request #%d: no permalink (%s)", open_request.request_id, exc)
            return None
        link = found.get("permalink")
        return link if isinstance(link, str) else None

    def show(self, view_id: str, view: View) -> bool:
        """``views.update``; False when Slack refused it (the form was closed or submitted
        meanwhile: a person may close it at any time) or could not be reached."""
        try:
            self.client.views_update(view_id=view_id, view=view)
        except (SlackApiError, *TRANSPORT_ERRORS) as exc:
            log.info("request form %s not updated (%s)", view_id, type(exc).__name__)
            return False
        return True

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
