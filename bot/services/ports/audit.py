"""Audits and their history: the auditor (AWS), where its findings are exported (Security Hub),
and the saved runs and verdicts (``bot.store.Store``), each use case naming its own reads.

The repository raises ``StoreError`` when the database cannot answer; only the methods the
use cases call are named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol, runtime_checkable

from bot.audit.models import AuditResult, Scope, Status, Verdict
from bot.records.history import AccountState, DigestSlot, HistoryEntry, RunInfo, TrendDay


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


class RunReader(Protocol):
    def last_run(
        self, *, trigger: str | None = None, scope: str | None = None
    ) -> RunInfo | None: ...

    def current_states(
        self, baseline: datetime | None = None
    ) -> tuple[RunInfo | None, list[AccountState]]: ...


class AuditHistory(Protocol):
    """``bot.store.Store``."""

    def history(self, account_id: str, limit: int = 100) -> list[HistoryEntry]: ...

    def latest_state(self, account_id: str) -> AccountState | None: ...


class MemberStates(Protocol):
    def current_states(
        self, baseline: datetime | None = None
    ) -> tuple[RunInfo | None, list[AccountState]]: ...


class NamedAccounts(Protocol):
    """``bot.store.Store.accounts_named``."""

    def accounts_named(self, name: str) -> list[tuple[str, str]]: ...


class RunStore(Protocol):
    """The part of the store this use case needs."""

    def save_run(
        self, result: AuditResult, trigger: str, requested_by: str | None, channel: str | None
    ) -> object: ...


@runtime_checkable
class LastMembers(Protocol):
    """The store's memory of the Organization, where it has one."""

    def last_org_accounts(self) -> tuple[str, ...]: ...


class ExportOutcome(Protocol):
    @property
    def ok(self) -> bool: ...

    def summary(self) -> str: ...

    def failure_lines(self) -> list[str]: ...


class FindingsExporter(Protocol):
    def export(self, verdicts: Sequence[Verdict]) -> ExportOutcome: ...
