"""The ports the use cases own: what they need from the outside, named after their events.

Services call these; adapters implement them, and ``bot.wiring`` passes the adapters in.
Nothing here knows Slack, the database or AWS. One module per concern:

- ``people``: the approver directory and the remediation notifier (Slack);
- ``checks``: a check asked and its result, the check notifier, the request guard;
- ``audit``: the auditor (AWS) and the saved runs (the store);
- ``alerts``: the root-activity events and alerts (the store);
- ``remediation``: the requests (the store), root access (AWS), this process's identity;
- ``metrics``: what an operator watches;
- ``runtime``: the clock, the job queue and timers (``bot.runtime``).

Every name is re-exported here: ``from bot.services.ports import X``.
"""

from __future__ import annotations

from bot.services.ports.alerts import AlertRepository
from bot.services.ports.audit import Auditor, AuditRun, RunRepository
from bot.services.ports.checks import (
    CheckNotifier,
    CheckRequest,
    CheckResult,
    KeyChangeSource,
    RequestGuard,
)
from bot.services.ports.metrics import NO_METRICS, Metrics, NoMetrics
from bot.services.ports.people import ApproverDirectory, NotDelivered, RemediationNotifier
from bot.services.ports.remediation import Identity, RequestRepository, RootAccess, RootSession
from bot.services.ports.runtime import Clock, Deadline, DigestSchedule, JobQueue, Timers

__all__ = [
    "NO_METRICS",
    "AlertRepository",
    "ApproverDirectory",
    "AuditRun",
    "Auditor",
    "CheckNotifier",
    "CheckRequest",
    "CheckResult",
    "Clock",
    "Deadline",
    "DigestSchedule",
    "Identity",
    "JobQueue",
    "KeyChangeSource",
    "Metrics",
    "NoMetrics",
    "NotDelivered",
    "RemediationNotifier",
    "RequestGuard",
    "RequestRepository",
    "RootAccess",
    "RootSession",
    "RunRepository",
    "Timers",
]
