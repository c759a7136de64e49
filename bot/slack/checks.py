"""``/rootkey check`` and the "Re-run" button: audit after the ack, post the result.

The handler only acks and calls ``CheckRunner.start``; the audit, the message and the CSV
report happen in a worker of ``Jobs``. The worker first claims the Slack request (``guard``):
a repeat that reached another replica was acknowledged there, but it never starts a second
audit and posts nothing. Accounts with an accepted risk (``exceptions``, the
remediation flow's active exceptions, read after the audit) are shown apart in the message.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.audit.models import AuditResult, Scope
from bot.remediation.models import RiskException
from bot.services.audit import AuditService
from bot.slack.blocks.audit import audit_failed, audit_result, needs_report
from bot.slack.blocks.command import not_in_channel_note, not_saved_note, report_failed
from bot.slack.blocks.common import Message
from bot.slack.errors import describe
from bot.slack.jobs import Jobs, RequestGuard
from bot.slack.poster import DeliveryError, Posted, Poster
from bot.store.records import StoreError

log = logging.getLogger(__name__)

CsvRenderer = Callable[[AuditResult], str]
ExceptionSource = Callable[[], Sequence[RiskException]]

EXCEPTIONS_UNREAD = (
    ":warning: Accepted risks could not be read from the database, so every account with a "
    "root access key is listed as a finding."
)


@dataclass(frozen=True)
class CheckRequest:
    scope: Scope
    channel: str
    user: str | None = None
    response_url: str | None = None
    trigger: str = "command"
    key: str | None = None  # the Slack request's key, claimed before the audit starts


class CheckRunner:
    def __init__(
        self,
        audit: AuditService,
        poster: Poster,
        jobs: Jobs,
        csv: CsvRenderer | None = None,
        exceptions: ExceptionSource | None = None,
        guard: RequestGuard | None = None,
    ) -> None:
        self.audit = audit
        self.poster = poster
        self.jobs = jobs
        self.csv = csv
        # Set by build_app when the remediation flow is wired (it needs the store).
        self.exceptions = exceptions
        self.guard = guard

    def accepted_risks(self) -> tuple[Sequence[RiskException], str | None]:
        """The active exceptions, and a note when they could not be read (then none apply:
        a finding is never hidden because the database did not answer)."""
        if self.exceptions is None:
            return (), None
        try:
            return self.exceptions(), None
        except StoreError as exc:
            log.warning("accepted risks not read: %s", exc)
            return (), EXCEPTIONS_UNREAD

    def start(self, request: CheckRequest) -> bool:
        """Queue the audit; False when too many are already waiting."""
        return self.jobs.submit(f"check {request.scope.kind}", lambda: self.execute(request))

    def execute(self, request: CheckRequest) -> None:
        if request.key and self.guard is not None and not self.guard.claim(request.key):
            return  # another replica took this request on: it audits and posts
        try:
            run = self.audit.record(request.scope, request.trigger, request.user, request.channel)
        except Exception as exc:  # the audit as a whole could not run: tell the user why
            problem = describe(exc)
            log.warning("audit of %s failed: %s", request.scope.kind, problem.text)
            self.deliver(request, audit_failed(request.scope, problem.text, problem.error_id))
            return

        exceptions, unread = self.accepted_risks()

        def build(unreachable: str | None = None) -> Message:
            notes = [not_saved_note(run.save_error), unread]
            if unreachable:
                notes.append(not_in_channel_note(unreachable))
            return audit_result(
                run.result,
                request.scope,
                run_id=run.run_id,
                requested_by=request.user,
                note="\n".join(n for n in notes if n) or None,
                report_in_thread=unreachable is None,
                exceptions=exceptions,
            )

        posted = self.deliver(request, build(), build)
        if posted is None or not needs_report(run.result, exceptions):
            return
        if posted.via != "chat" or not posted.ts:
            log.info("full report not attached: the bot is not in %s", request.channel)
            return
        self.attach_report(request, run.result, posted.channel or request.channel, posted.ts)

    def deliver(
        self,
        request: CheckRequest,
        message: Message,
        on_unreachable: Callable[[str], Message] | None = None,
    ) -> Posted | None:
        try:
            return self.poster.post(
                request.channel,
                message,
                response_url=request.response_url,
                on_unreachable=on_unreachable,
            )
        except DeliveryError:
            return None  # logged, and reported through response_url where there is one

    def attach_report(
        self, request: CheckRequest, result: AuditResult, channel: str, thread_ts: str
    ) -> None:
        if self.csv is None:
            return
        stamp = result.finished_at.strftime("%Y%m%d-%H%M%S")
        try:
            self.poster.upload(
                channel,
                filename=f"rootkey-{result.scope}-{stamp}.csv",
                content=self.csv(result),
                title=f"rootkey report: {result.summary.total} accounts",
                thread_ts=thread_ts,
                initial_comment="The full report, every account (CSV).",
            )
        except DeliveryError as exc:
            log.error("could not upload the report to %s: %s", channel, exc.error)
            with contextlib.suppress(DeliveryError):  # logged by the poster as well
                self.poster.post(channel, report_failed(exc.error), thread_ts=thread_ts)
