"""The Slack side of the check use case: the result message, the full report (CSV) in its
thread, and why an audit could not run, posted to everyone who asked."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence

from bot.audit.models import AuditResult
from bot.errors import describe
from bot.services.ports import CheckRequest, CheckResult
from bot.slack.blocks.audit import audit_failed, audit_result, needs_report
from bot.slack.blocks.command import (
    exceptions_unread_note,
    not_in_channel_note,
    not_saved_note,
    report_failed,
)
from bot.slack.blocks.common import Message
from bot.slack.poster import DeliveryError, Posted, Poster

log = logging.getLogger(__name__)

CsvRenderer = Callable[[AuditResult], str]


class SlackCheckNotifier:
    def __init__(self, poster: Poster, csv: CsvRenderer | None = None) -> None:
        self.poster = poster
        self.csv = csv

    def check_failed(self, requests: Sequence[CheckRequest], error: Exception) -> None:
        if not requests:
            return
        problem = describe(error)
        scope = requests[0].scope
        log.warning("audit of %s failed: %s", scope.kind, problem.text)
        failed = audit_failed(scope, problem.text, problem.error_id)
        for request in requests:
            self.deliver(request, failed)

    def check_finished(self, requests: Sequence[CheckRequest], result: CheckResult) -> None:
        for request in requests:
            self.post_result(request, result)

    def post_result(self, request: CheckRequest, result: CheckResult) -> None:
        run = result.run
        unread = exceptions_unread_note() if result.exceptions_unread else None

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
                exceptions=result.exceptions,
                key_changes=result.key_changes,
            )

        posted = self.deliver(request, build(), build)
        if posted is None or not needs_report(run.result, result.exceptions, result.key_changes):
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
