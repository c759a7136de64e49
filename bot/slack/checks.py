"""``/rootkey check`` and the "Re-run" button: audit after the ack, post the result.

The handler only acks and calls ``CheckRunner.start``; the audit, the message and the CSV
report happen in a worker of ``Jobs``. The worker first claims the Slack request (``guard``):
a repeat that reached another replica was acknowledged there, but it never starts a second
audit and posts nothing.

Identical checks coalesce: a check of a scope that already has an audit waiting to start joins
it, and that one audit's result is posted to every channel and person that asked (once per
channel and person). An audit already running is never joined, as its result could predate
the request (someone who has just deleted a key and checks again sees a fresh audit); the new
request waits for the next one, which starts when the running one ends, so one scope has at
most one audit running and one waiting. Accounts with an accepted risk (``exceptions``, the
remediation flow's active exceptions, read after the audit) are shown apart in the message.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.audit.models import AuditResult, Scope
from bot.remediation.models import RiskException
from bot.services.audit import AuditRun, AuditService
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


def coalescing_key(scope: Scope) -> Scope:
    """Checks that audit the same accounts, whatever the order they were named in."""
    return Scope(scope.kind, tuple(sorted(set(scope.account_ids))))


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
        self.lock = threading.Lock()
        self.waiting: dict[Scope, list[CheckRequest]] = {}  # by scope: not started yet
        self.active: set[Scope] = set()  # scopes with an audit queued or running

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
        """Queue the audit, or join the one of the same scope waiting to start; False when
        too many audits are already waiting."""
        key = coalescing_key(request.scope)
        with self.lock:
            waiting = self.waiting.get(key)
            if waiting is not None:
                waiting.append(request)
                return True
            if not self.jobs.reserve(f"check {request.scope.kind}"):
                return False
            self.waiting[key] = [request]
            if key in self.active:
                return True  # launched when the running audit of this scope ends
            self.active.add(key)
        self.launch(key)
        return True

    def launch(self, key: Scope) -> None:
        if not self.jobs.run_reserved(f"check {key.kind}", lambda: self.run_waiting(key)):
            with self.lock:  # stopping: nothing will run these
                self.waiting.pop(key, None)
                self.active.discard(key)

    def run_waiting(self, key: Scope) -> None:
        with self.lock:  # from here on, a new request of this scope waits for the next audit
            requests = self.waiting.pop(key, [])
        try:
            self.execute_all(requests)
        finally:
            with self.lock:
                again = key in self.waiting
                if not again:
                    self.active.discard(key)
            if again:
                self.launch(key)

    def execute(self, request: CheckRequest) -> None:
        self.execute_all([request])

    def execute_all(self, requests: Sequence[CheckRequest]) -> None:
        """One audit for ``requests`` (all of one scope), its result posted to each of them."""
        # A request another replica took on is left to it; a person asking twice in the same
        # channel gets one message.
        chosen: dict[tuple[str, str | None], CheckRequest] = {}
        for request in requests:
            if request.key and self.guard is not None and not self.guard.claim(request.key):
                continue
            chosen.setdefault((request.channel, request.user), request)
        if not chosen:
            return
        for_all = list(chosen.values())
        request = for_all[0]
        if len(for_all) > 1:
            log.info("one audit of %s for %d requests", request.scope.kind, len(for_all))
        try:
            run = self.audit.record(request.scope, request.trigger, request.user, request.channel)
        except Exception as exc:  # the audit as a whole could not run: tell the user why
            problem = describe(exc)
            log.warning("audit of %s failed: %s", request.scope.kind, problem.text)
            failed = audit_failed(request.scope, problem.text, problem.error_id)
            for each in for_all:
                self.deliver(each, failed)
            return

        exceptions, unread = self.accepted_risks()
        for each in for_all:
            self.post_result(each, run, exceptions, unread)

    def post_result(
        self,
        request: CheckRequest,
        run: AuditRun,
        exceptions: Sequence[RiskException],
        unread: str | None,
    ) -> None:
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
