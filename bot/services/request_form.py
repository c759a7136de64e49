"""The request form's use case: what the form offers for an account, what used its root keys,
the checks of a submitted form, and what is remembered between the form and its request.

A finding's button opens the form at once in a loading state (Slack lets a click's trigger open
a modal for 3 s only), then the audit that fills it runs in the job pool, never in the click's
listener thread: a slow AWS holds up a form, never the acks of other clicks and commands. When
the pool is full the form says so at once.

A remediation form also shows what used the account's root keys (CloudTrail, 90 days): the form
is filled first with "looking up…", and updated again when the lookup is done, so it never
waits for CloudTrail. Once the request is posted, the same summary goes into its thread for the
approvers (read again when another replica showed the form).

A submitted form is checked against the database only (an open request for the account, the
keys of its last audit), within ``CHECK_SECONDS``: Slack waits 3 s for the answer, and problems
can go back into the form only in that answer. The request is then created in the job pool.

Knows no Slack: the form as the person sees it is the ``FormScreen`` port
(``bot.slack.forms.SlackFormScreen``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from bot.audit.models import Verdict
from bot.events.usage import UsageReport
from bot.records.remediation import NewRequest
from bot.remediation.events import (
    FormContext,
    FormOutcome,
    RemediationOffer,
    RequestForm,
)
from bot.remediation.models import Request
from bot.remediation.states import Kind, State
from bot.services.ports import Deadline, FormScreen, JobQueue

log = logging.getLogger(__name__)

KEEP = 900.0  # seconds a form's usage summary (and a submitted form's id) is kept
CHECK_SECONDS = 1.5  # a submitted form's checks; then "database not available" in the form


class FormSource(Protocol):
    """``bot.services.remediation.RemediationService``: what the form offers, and its checks."""

    def form(self, ctx: FormContext, user: str) -> FormOutcome: ...

    def home_channel(self) -> str | None: ...

    def prepare(self, form: RequestForm, user: str) -> NewRequest: ...

    def create(self, new: NewRequest) -> Request: ...


class KeyUsage(Protocol):
    """``bot.services.key_usage.KeyUsageLookup``: never raises."""

    def __call__(self, verdict: Verdict) -> UsageReport: ...

    def account(self, account_id: str) -> UsageReport: ...


class FormNotChecked(Exception):
    """A submitted form's checks did not finish in time (the database slow)."""


class Stopping(Exception):
    """The bot stopped between a form's ack and its work."""

    user_message = "rootkey was stopping, so your form was not saved: submit it again."


class RequestFormService:
    def __init__(
        self,
        source: FormSource,
        screen: FormScreen,
        pool: JobQueue,
        checks: Deadline,
        *,
        usage: KeyUsage | None = None,
        check_seconds: float = CHECK_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.screen = screen
        self.pool = pool
        self.checks = checks  # a lane of its own, so that a check can be given up on
        self.usage = usage
        self.check_seconds = check_seconds
        self.monotonic = monotonic
        self.lock = threading.Lock()
        self.reports: dict[str, tuple[float, UsageReport]] = {}
        self.closed: dict[str, float] = {}  # view ids submitted, when

    # -- the form opened and filled ------------------------------------------------------------

    def open(
        self,
        ctx: FormContext,
        user: str,
        trigger_id: str,
        view_id: str | None,
        claim: Callable[[], bool] = lambda: True,
    ) -> None:
        """In the click's listener: open the form loading (or show the open form ``view_id``
        loading), and queue the audit that fills it. A click on the Home tab (no channel)
        goes to the request channel, or is told there is none before any form opens. Inside an
        open form there is no fresh trigger: ``claim`` decides which replica shows it."""
        if not ctx.channel:
            channel = self.source.home_channel()
            if channel is None:
                self.screen.no_channel(trigger_id, view_id)
                return
            ctx = replace(ctx, channel=channel)
        if view_id is not None and not claim():
            return  # another replica shows it in the open form
        shown = self.screen.open_loading(trigger_id, view_id)
        if shown is None:
            return
        if not self.pool.submit("request form", lambda: self.fill(ctx, user, shown)):
            self.screen.busy(shown)

    def fill(self, ctx: FormContext, user: str, view_id: str) -> None:
        """In the job pool: audit, fill the form, then add what used the keys. Never raises."""
        try:
            outcome = self.source.form(ctx, user)
        except Exception:  # the audit path failed in a way it does not turn into a verdict
            log.exception("request form for %s: the audit failed", ctx.account_id)
            self.screen.failed(view_id)
            return
        if self.usage is None or not isinstance(outcome, RemediationOffer):
            self.screen.show(view_id, outcome)
            return
        if not self.screen.show_usage(view_id, outcome, None):
            return
        report = self.usage(outcome.verdict)
        self.remember(report)
        if self.was_submitted(view_id):  # Slack closed it: nothing to update
            return
        self.screen.show_usage(view_id, outcome, report)

    # -- the form submitted --------------------------------------------------------------------

    def check(self, form: RequestForm, user: str) -> NewRequest:
        """The submitted form's checks, before its ack: ``InvalidInput`` naming the field,
        ``FormNotChecked`` when they took too long, ``StoreError`` when the database failed."""
        try:
            return self.checks.within(self.check_seconds, lambda: self.source.prepare(form, user))
        except TimeoutError:
            raise FormNotChecked("the database is slow") from None

    def reserve(self) -> bool:
        """A place in the job pool for the request, taken before the ack (the form can still
        say the pool is full); given back by ``release`` or used by ``accept``."""
        return self.pool.reserve("request")

    def release(self) -> None:
        self.pool.release()

    def accept(
        self,
        new: NewRequest,
        view_id: str,
        claim: Callable[[], bool],
        failed: Callable[[Exception], None],
    ) -> None:
        """After the ack, in the reserved place: the request is created and posted (unless
        ``claim`` says another replica took the form on), its usage summary in its thread.
        A refusal after all, or the database failing, goes to ``failed``."""
        self.submitted(view_id)

        def create() -> None:
            try:
                if claim():
                    self.request_posted(self.source.create(new))
            except Exception as exc:  # refused after all, or the database failing: told
                failed(exc)

        if not self.pool.run_reserved("request", create):  # the bot is stopping
            failed(Stopping())

    def submitted(self, view_id: str) -> None:
        """The form was submitted (and closed): a lookup finishing later leaves it alone."""
        with self.lock:
            self.closed[view_id] = self.monotonic()

    def was_submitted(self, view_id: str) -> bool:
        now = self.monotonic()
        with self.lock:
            self.closed = {k: t for k, t in self.closed.items() if now - t < KEEP}
            return view_id in self.closed

    # -- the usage summary, from the form to the request's thread --------------------------------

    def remember(self, report: UsageReport) -> None:
        now = self.monotonic()
        with self.lock:
            self.reports = {k: v for k, v in self.reports.items() if now - v[0] < KEEP}
            self.reports[report.account_id] = (now, report)

    def recent(self, account_id: str) -> UsageReport | None:
        with self.lock:
            kept = self.reports.get(account_id)
        return kept[1] if kept and self.monotonic() - kept[0] < KEEP else None

    def request_posted(self, req: Request) -> None:
        """The key-usage summary in a new remediation request's thread (the form's, or read
        again when another replica showed the form). Never raises."""
        if self.usage is None:
            return
        if req.kind is not Kind.REMEDIATION or req.state is not State.REQUESTED:
            return  # an exception request, or one that could not be posted
        if req.where.replies_under is None:
            return
        report = self.recent(req.account_id) or self.usage.account(req.account_id)
        self.screen.post_usage(req, report)
