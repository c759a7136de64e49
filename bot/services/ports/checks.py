"""Checks: what was asked, what came back, and where it is told (``bot.slack.notifier``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.audit.models import Scope
from bot.remediation.keys import KeyChanges
from bot.remediation.models import RiskException
from bot.services.ports.audit import AuditRun


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


class RequestGuard(Protocol):
    """The guard against repeated Slack requests (``bot.jobs``: in memory, or claimed in the
    store across replicas)."""

    def first_time(self, key: str) -> bool:
        """Before the ack, without I/O: True the first time this process sees ``key`` (a Slack
        retry or a replay to the same process sees False)."""
        ...

    def claim(self, key: str) -> bool:
        """After the ack, before the work: True for the one process, of all replicas, that
        does the work of ``key``."""
        ...
