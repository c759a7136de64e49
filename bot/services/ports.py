"""The ports the use cases own: what they need from the outside, named after their events.

Services call these; adapters implement them (``bot.slack.notifier.SlackNotifier`` words and
posts each event with the Block Kit builders; ``bot.slack.directory.SlackDirectory`` asks
Slack who is in a user group). Nothing here knows Slack.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from bot.audit.models import AuditResult, Scope, Status
from bot.records.alerts import Alert, Claimed, Folded, Pruned
from bot.records.history import AccountState, DigestSlot, RunInfo, TrendDay
from bot.remediation.keys import KeyChanges
from bot.remediation.models import Conversation, Request, RiskException
from bot.remediation.notices import Notice


class NotDelivered(Exception):
    """A message could not be delivered; ``error`` is the platform's short reason."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class ApproverDirectory(Protocol):
    def members(self, group: str) -> list[str]:
        """The user ids in approver group ``group`` (S...); raises ``ApproverLookupFailed``
        when the platform cannot be asked."""
        ...

    def private_members(self, channel: str) -> frozenset[str] | None:
        """Who can read ``channel`` when it is private (its members); None when anyone in the
        workspace can read it, or when the platform could not say."""
        ...


class RemediationNotifier(Protocol):
    """Where a request lives, and what it is told there (``bot.remediation.notices``).

    ``notify`` and ``open`` apart, because posting a request is not telling it something:
    ``open`` is where the request comes to live (the conversation comes back with its message,
    to be saved) and its failure is the caller's to act on (``NotDelivered``: the request is
    closed at once, since nobody could approve it); ``notify`` returns nothing and never raises
    (a notice that cannot be delivered is the adapter's to log: it never undoes a move). Which
    conversations may hold a request is the platform's rule (``can_post_in``).
    """

    def can_post_in(self, where: Conversation) -> bool:
        """Whether a request may live in ``where``: one the approvers can see (never a
        direct message with the bot)."""
        ...

    def open(self, req: Request) -> Conversation:
        """Post the request with its buttons; where it now lives (its message included).
        Raises ``NotDelivered``."""
        ...

    def notify(self, req: Request, notice: Notice) -> None:
        """Tell ``notice`` where ``req`` (as it stands after the event) lives."""
        ...


# -- audits ----------------------------------------------------------------------------------


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


# -- the audit history and the alerts (``bot.store`` implements these) ------------------------
#
# Each raises ``StoreError`` when the database cannot answer. Only the methods the use cases
# call are named here.


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


class AlertRepository(Protocol):
    """Root-activity events claimed once across replicas, and their alert messages (the outbox
    the alerts are posted from; ``bot.store.alerts.AlertStore``)."""

    def claim_event(
        self,
        event_id: str,
        account_id: str,
        activity: str,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> Claimed: ...

    def record_alert(
        self,
        *,
        event_id: str,
        owner: str,
        activity: str,
        account_id: str,
        key_id: str,
        at: datetime,
        now: datetime,
        origin: Sequence[str] = (),
        channel: str | None = None,
        ts: str | None = None,
        threads: Sequence[tuple[str, str]] = (),
        hold_until: datetime | None = None,
    ) -> Alert | None: ...

    def fold_use(
        self,
        *,
        event_id: str,
        owner: str,
        account_id: str,
        key_id: str,
        action: str,
        at: datetime,
        ip: str,
        now: datetime,
        hold_until: datetime | None = None,
    ) -> Folded | None: ...

    def claim_post(
        self,
        alert_id: int,
        owner: str,
        now: datetime,
        stale_before: datetime,
        hold_until: datetime | None = None,
    ) -> str | None: ...

    def release_post(self, alert_id: int, claim: str, retry_at: datetime) -> None: ...

    def set_message(self, alert_id: int, channel: str, ts: str) -> None: ...

    def unposted(self, now: datetime, limit: int) -> list[Alert]: ...

    def get(self, alert_id: int) -> Alert: ...

    def recent(self, account_id: str, since: datetime) -> list[Alert]: ...

    def prune(self, events_before: datetime, alerts_before: datetime) -> Pruned: ...


# -- checks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRequest:
    """Someone asked for a check: of what, where the answer goes, and who asked."""

    scope: Scope
    channel: str
    user: str | None = None
    response_url: str | None = None
    trigger: str = "command"
    key: str | None = None  # the request's key, claimed before the audit starts


@dataclass(frozen=True)
class CheckResult:
    run: AuditRun
    exceptions: tuple[RiskException, ...] = ()  # accepted risks, shown apart
    exceptions_unread: bool = False  # they could not be read: every finding is shown
    # latest root key created or reactivated per account (root-activity alerts)
    key_changes: KeyChanges = field(default_factory=dict)


# Account id -> its latest root key created or reactivated, per the root-activity alerts
# (wired only where alerts are set up). Raises StoreError when it cannot be read.
KeyChangeSource = Callable[[], KeyChanges]


class CheckNotifier(Protocol):
    def check_finished(self, requests: Sequence[CheckRequest], result: CheckResult) -> None:
        """Tell each of ``requests`` the one result (and attach the full report)."""
        ...

    def check_failed(self, requests: Sequence[CheckRequest], error: Exception) -> None:
        """The audit as a whole could not run: tell each of ``requests`` why."""
        ...


# -- metrics ---------------------------------------------------------------------------------


class Metrics(Protocol):
    """What an operator watches, told as it happens (``bot.metrics`` counts it for
    ``GET /metrics``). Labels are few and bounded: a scope, a trigger, an error code."""

    def audit_done(self, scope: str, trigger: str, seconds: float, *, failed: bool) -> None:
        """An audit of ``scope`` ran for ``seconds``; ``failed``: it could not run as a whole."""
        ...

    def aws_error(self, reason: str) -> None:
        """An AWS call failed with the error code ``reason`` (``AccessDenied``, ...)."""
        ...

    def alert_posted(self, activity: str, lag: float) -> None:
        """A root-activity alert was posted ``lag`` seconds after the event happened."""
        ...

    def messages_received(self, count: int) -> None: ...

    def messages_handled(self, count: int) -> None:
        """Deleted from the queue: alerted, or deliberately skipped (duplicates, not ours)."""
        ...

    def message_dead_lettered(self) -> None:
        """Left on the queue for its dead-letter queue: not an event, or handling it failed."""
        ...

    def slack_retry(self, method: str, reason: str) -> None:
        """A Slack call is sent again after ``reason`` (``ratelimited``, a 5xx, a timeout)."""
        ...

    def slack_refused(self, method: str, error: str) -> None:
        """Slack did not take a call, for good (after any retries)."""
        ...


class NoMetrics:
    """``Metrics`` that counts nothing: the default of every use case and adapter."""

    def audit_done(self, scope: str, trigger: str, seconds: float, *, failed: bool) -> None:
        pass

    def aws_error(self, reason: str) -> None:
        pass

    def alert_posted(self, activity: str, lag: float) -> None:
        pass

    def messages_received(self, count: int) -> None:
        pass

    def messages_handled(self, count: int) -> None:
        pass

    def message_dead_lettered(self) -> None:
        pass

    def slack_retry(self, method: str, reason: str) -> None:
        pass

    def slack_refused(self, method: str, error: str) -> None:
        pass


NO_METRICS: Metrics = NoMetrics()


# -- time and background work ------------------------------------------------------------------


class Clock(Protocol):
    """The time the use cases and the schedule go by: ``bot.runtime.SystemClock`` in the bot,
    ``simulator.clock.ManualClock`` (moved by hand) in tests. Services take ``clock.now``."""

    def now(self) -> datetime:
        """The time now, in UTC."""
        ...

    def sleep_until(self, when: datetime | None, wake: threading.Event) -> bool:
        """Wait until ``when`` (for ever when None), or until ``wake`` is set; True when the
        time came. ``wake`` is a cue to look again, set by whoever has news for the sleeper
        (a job added, the bot stopping, a clock moved by hand): never a reason by itself."""
        ...


class JobQueue(Protocol):
    """Work that runs after the caller returns, in a bounded lane of the bot's job pool
    (``bot.runtime``): named, counted while pending, refused when full or stopping."""

    @property
    def pending(self) -> int:
        """Jobs reserved, queued or running."""
        ...

    def submit(self, name: str, fn: Callable[[], object]) -> bool:
        """Queue ``fn``; False (and nothing queued) when full or stopping."""
        ...

    def reserve(self, name: str) -> bool:
        """Count one job as pending before it is queued; False when full or stopping."""
        ...

    def run_reserved(self, name: str, fn: Callable[[], object]) -> bool:
        """Queue ``fn`` in a slot ``reserve`` took; False when stopping (slot given back)."""
        ...

    def release(self) -> None:
        """Give back a slot ``reserve`` took, for a job that will not be queued."""
        ...


class Timers(Protocol):
    """Work at a later time by the clock (``bot.runtime``'s scheduler)."""

    def later(self, name: str, delay: timedelta, fn: Callable[[], object]) -> None:
        """Run ``fn`` once, ``delay`` from now."""
        ...
