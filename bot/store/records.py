"""What the store answers with: plain, immutable records (no SQLAlchemy objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.audit.models import KeySlot, Status, Summary


class StoreError(Exception):
    """The database could not be reached or answered with an error."""

    # What Slack users read: never the driver's text (it names hosts, ports and roles); the
    # one error handler logs that detail instead.
    USER_LINE = "database not available: try again in a minute (the details are in rootkey's log)"
    log_detail = True

    @property
    def user_message(self) -> str:
        """The one line a Slack user reads (through the one error handler)."""
        return self.USER_LINE


def shown_error(exc: BaseException) -> str:
    """A failure as Slack may show it: a database's own text (hosts, ports, roles) goes to the
    log only."""
    return "database not available" if isinstance(exc, StoreError) else str(exc)


class UnknownRun(StoreError):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"no saved audit run with id {run_id}")
        self.run_id = run_id

    @property
    def user_message(self) -> str:
        return str(self)


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
