"""The audit use case, shared by Slack commands, buttons and the scheduler.

``AuditService.run`` audits a scope through the auditor (AWS) and, when a store is wired,
saves the run so that history, digests and remediation can refer to it by id. Every audit is
measured here, in the bot's own process (the wired auditor, ``bot.aws.audit_pool``, runs
audits in worker processes): its duration, whether it ran, and the AWS error code of each
account that could not be read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from bot.audit.models import AuditResult, Scope
from bot.records.errors import AuditFailed, StoreError, error_code_in
from bot.services.ports import AuditMetrics, Auditor, AuditRun, LastMembers, RunStore

log = logging.getLogger(__name__)

__all__ = ["AuditFailed", "AuditRun", "AuditService", "Auditor", "with_known"]

TRIGGERS = frozenset({"command", "schedule", "recheck", "button", "cli"})


def with_known(scope: Scope, store: object) -> Scope:
    """An Organization audit starts from the last one's accounts (``Scope.known``): the scan
    begins at once and the fresh listing decides who is reported. Without a store that keeps
    them, or when it cannot be read, the audit simply waits for the listing."""
    if scope.kind != "org" or scope.known or not isinstance(store, LastMembers):
        return scope
    try:
        known = store.last_org_accounts()
    except StoreError as exc:
        log.warning("last audit's accounts not read, listing first: %s", exc)
        return scope
    return replace(scope, known=known)


class AuditService:
    def __init__(
        self,
        auditor: Auditor,
        store: RunStore | None = None,
        *,
        metrics: AuditMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.auditor = auditor
        self.store = store
        self.metrics = metrics
        self.clock = clock

    def measured(self, scope: Scope, trigger: str) -> AuditResult:
        """The auditor's result, timed and counted (a failed audit too, then re-raised)."""
        started = self.clock()
        scope = with_known(scope, self.store)
        try:
            result = self.auditor.audit(scope)
        except Exception as exc:
            self.count(scope, trigger, started, failed=True, errors=[str(exc)])
            raise
        errors = (e for v in result.verdicts for e in v.evidence.errors)
        self.count(scope, trigger, started, failed=False, errors=errors)
        return result

    def count(
        self, scope: Scope, trigger: str, started: float, *, failed: bool, errors: Iterable[str]
    ) -> None:
        if self.metrics is None:
            return
        self.metrics.audit_done(scope.kind, trigger, self.clock() - started, failed=failed)
        for error in errors:
            code = error_code_in(error)
            if code is not None:
                self.metrics.aws_error(code)

    def record(
        self,
        scope: Scope,
        trigger: str,
        requested_by: str | None = None,
        channel: str | None = None,
    ) -> AuditRun:
        """Audit ``scope`` and save it; the run id (if saved) lets buttons refer to it."""
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}")
        result = self.measured(scope, trigger)
        s = result.summary
        log.info(
            "audit of %s (%s): %d accounts, %d noncompliant, %d error",
            scope.kind,
            trigger,
            s.total,
            s.noncompliant,
            s.error,
        )
        if self.store is None:
            return AuditRun(result=result, run_id=None)
        try:
            run_id = self.store.save_run(result, trigger, requested_by, channel)
        except StoreError as exc:
            # The verdicts are still true: show them, and say they were not recorded.
            log.error("audit of %s not saved: %s", scope.kind, exc)
            return AuditRun(result=result, run_id=None, save_error=str(exc))
        return AuditRun(result=result, run_id=str(run_id) if run_id is not None else None)

    def run(
        self,
        scope: Scope,
        trigger: str,
        requested_by: str | None = None,
        channel: str | None = None,
    ) -> AuditResult:
        return self.record(scope, trigger, requested_by, channel).result
