"""What the audit history answers with: plain, immutable records (no SQLAlchemy objects leak
out), and ``changes_of``, what changed since a baseline, computed from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.audit.models import KeySlot, Status, Summary

# How an audit was started; "button" (Re-run) and "cli" come from the Slack app and the CLI.
TRIGGERS = ("command", "schedule", "recheck", "button", "cli")


@dataclass(frozen=True)
class RunInfo:
    id: int
    started_at: datetime
    finished_at: datetime
    scope: str
    trigger: str
    requested_by: str | None
    channel: str | None
    summary: Summary


@dataclass(frozen=True)
class AccountState:
    """An account's verdict (as of a run, or its latest) and what its history says about it.

    ``open_since`` is the first noncompliant verdict of the current open streak (a streak runs
    from the first noncompliant verdict after the last compliant one; verdicts we could not
    take, ``error``, do not end it). ``baseline_status`` is the last status we actually saw
    (compliant or noncompliant) at the baseline time asked for, None when never seen by then.
    """

    account_id: str
    account_name: str | None
    status: Status
    reason: str
    checked_at: datetime
    run_id: int
    keys: tuple[KeySlot, ...]
    root_mfa_active: bool | None
    first_seen: datetime
    last_change: datetime
    open_since: datetime | None
    baseline_status: Status | None = None
    baseline_raw_status: Status | None = None  # may be "error", unlike baseline_status
    report_generated_at: datetime | None = None  # the credential report the verdict read

    @property
    def label(self) -> str:
        return f"{self.account_id} ({self.account_name})" if self.account_name else self.account_id

    def days_open(self, now: datetime) -> int | None:
        """Whole days since the open streak began (None when nothing is open)."""
        if self.open_since is None:
            return None
        return max(0, (now - self.open_since).days)


@dataclass(frozen=True)
class Changes:
    """What changed between a baseline time and the current verdicts."""

    baseline: datetime | None
    new_noncompliant: tuple[AccountState, ...]
    fixed: tuple[AccountState, ...]
    still_open: tuple[AccountState, ...]  # noncompliant now, oldest open streak first
    errors: tuple[AccountState, ...]  # could not be audited now
    new_errors: tuple[AccountState, ...]  # errors now that were not errors at the baseline


@dataclass(frozen=True)
class HistoryEntry:
    run_id: int
    checked_at: datetime
    status: Status
    reason: str
    account_name: str | None
    keys: tuple[KeySlot, ...]
    root_mfa_active: bool | None
    trigger: str
    requested_by: str | None


@dataclass(frozen=True)
class TrendDay:
    day: date
    compliant: int
    noncompliant: int  # a root key needing action (accepted risks apart, where counted)
    error: int
    accepted: int = 0  # a root key under an accepted risk (counted for today only)

    @property
    def total(self) -> int:
        return self.compliant + self.noncompliant + self.error + self.accepted


@dataclass(frozen=True)
class DigestSlot:
    id: int
    channel: str
    slot_time: datetime
    state: str  # claimed / posted / failed
    claimed_by: str
    claimed_at: datetime
    attempts: int
    run_id: int | None = None
    baseline_run_id: int | None = None
    message_ts: str | None = None
    posted_at: datetime | None = None
    error: str | None = None


def changes_of(states: Sequence[AccountState], baseline: datetime | None) -> Changes:
    def new(state: AccountState) -> bool:
        return baseline is None or (state.open_since is not None and state.open_since > baseline)

    open_now = [s for s in states if s.status is Status.NONCOMPLIANT]
    errors = sorted((s for s in states if s.status is Status.ERROR), key=lambda s: s.account_id)
    return Changes(
        baseline=baseline,
        new_noncompliant=tuple(sorted((s for s in open_now if new(s)), key=lambda s: s.account_id)),
        fixed=tuple(
            sorted(
                (
                    s
                    for s in states
                    if s.status is Status.COMPLIANT and s.baseline_status is Status.NONCOMPLIANT
                ),
                key=lambda s: s.account_id,
            )
        ),
        still_open=tuple(
            sorted(open_now, key=lambda s: (s.open_since or s.checked_at, s.account_id))
        ),
        errors=tuple(errors),
        new_errors=tuple(s for s in errors if s.baseline_raw_status is not Status.ERROR),
    )
