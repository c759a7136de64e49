"""Audits and their history: the auditor (AWS) and the saved runs (``bot.store.Store``).

The repository raises ``StoreError`` when the database cannot answer; only the methods the
use cases call are named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from bot.audit.models import AuditResult, Scope, Status
from bot.records.history import AccountState, DigestSlot, RunInfo, TrendDay


class Auditor(Protocol):
    """Audits a scope (``bot.aws.audit_pool.ProcessAuditor`` in the bot: AWS, in worker
    processes). Raises ``AuditError`` (or ``AuditFailed`` from a worker) when the audit as a
    whole cannot run; an account it cannot read is an ``error`` verdict, never a raise."""

    def audit(self, scope: Scope) -> AuditResult: ...


@dataclass(frozen=True)
class AuditRun:
    result: AuditResult
    run_id: str | None  # None when no store is wired, or saving failed
    save_error: str | None = None  # the audit ran but could not be saved


class RunRepository(Protocol):
    """The saved audit runs and their verdicts, as the digest reads them (``bot.store.Store``)."""

    def save_run(
        self,
        result: AuditResult,
        trigger: str,
        requested_by: str | None = None,
        channel: str | None = None,
    ) -> int: ...

    def get_run(self, run_id: int) -> RunInfo:
        """Raises ``UnknownRun`` when there is no such run."""
        ...

    def last_run(
        self, *, trigger: str | None = None, scope: str | None = None
    ) -> RunInfo | None: ...

    def whole_audit_id(self) -> int | None:
        """The latest audit of everything rootkey watches (None before the first)."""
        ...

    def baseline_run(self, run: RunInfo, before: datetime) -> RunInfo | None: ...

    def statuses_in(self, run_id: int) -> dict[str, Status]: ...

    def current_states(
        self, baseline: datetime | None = None
    ) -> tuple[RunInfo | None, list[AccountState]]: ...

    def trend(
        self, days: int = 30, *, now: datetime | None = None, zone: tzinfo = UTC
    ) -> list[TrendDay]: ...

    def last_posted_slot(
        self, channel: str | None = None, *, with_run: bool = False
    ) -> DigestSlot | None: ...

    def file_url(self) -> str | None:
        """Where a reader can verify the log themselves (a SQLite file's URL), if anywhere."""
        ...
