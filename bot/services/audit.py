"""The audit use case, shared by Slack commands, buttons and the scheduler.

``AuditService.run`` audits a scope through the auditor (AWS) and, when a store is wired,
saves the run so that history, digests and remediation can refer to it by id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from bot.audit.models import AuditResult, Scope

log = logging.getLogger(__name__)

TRIGGERS = frozenset({"command", "schedule", "recheck", "button", "cli"})


class Auditor(Protocol):
    def audit(self, scope: Scope) -> AuditResult: ...


class RunStore(Protocol):
    """The part of the store this use case needs."""

    def save_run(
        self, result: AuditResult, trigger: str, requested_by: str | None, channel: str | None
    ) -> object: ...


@dataclass(frozen=True)
class AuditRun:
    result: AuditResult
    run_id: str | None  # None when no store is wired


class AuditService:
    def __init__(self, auditor: Auditor, store: RunStore | None = None) -> None:
        self.auditor = auditor
        self.store = store

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
        result = self.auditor.audit(scope)
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
        run_id = self.store.save_run(result, trigger, requested_by, channel)
        return AuditRun(result=result, run_id=str(run_id) if run_id is not None else None)

    def run(
        self,
        scope: Scope,
        trigger: str,
        requested_by: str | None = None,
        channel: str | None = None,
    ) -> AuditResult:
        return self.record(scope, trigger, requested_by, channel).result
