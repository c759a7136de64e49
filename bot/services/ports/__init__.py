"""The ports the use cases own: what they need from the outside, named after their events.

Services call these; adapters implement them, and ``bot.wiring`` passes the adapters in.
Nothing here knows Slack, the database or AWS. One module per concern:

- ``people``: the approver directory, the request form's screen and the remediation
  notifier (Slack);
- ``checks``: a check asked and its result, the check notifier, the request guard;
- ``audit``: the auditor (AWS), the findings' export, and the saved runs (the store);
- ``alerts``: the events queue, the root-activity events and alerts (the store), their
  notifier (Slack);
- ``remediation``: the requests (the store), root access and key usage (AWS), this
  process's identity;
- ``metrics``: what an operator watches;
- ``runtime``: the clock, the job queue and timers (``bot.runtime``).

Every name is re-exported here: ``from bot.services.ports import X``. A port whose answer is a
use case's own result (the Home tab's ``HomeScreen`` shows a ``HomeSnapshot``, the digest's
``DigestNotifier`` posts a ``Digest``) stays beside that result, and so do the Protocols one
use case asks of another (``AuditPath``, ``FormSource``, ``KeyUsage``, ``OrganizationNow``).
"""

from __future__ import annotations

from bot.services.ports.alerts import AlertNotifier, AlertRepository, Placed, PostedAlerts, Queue
from bot.services.ports.audit import (
    AuditHistory,
    Auditor,
    AuditRun,
    ExportOutcome,
    FindingsExporter,
    LastMembers,
    MemberStates,
    NamedAccounts,
    RunReader,
    RunRepository,
    RunStore,
)
from bot.services.ports.checks import (
    CheckNotifier,
    CheckRequest,
    CheckResult,
    KeyChangeSource,
    RequestGuard,
)
from bot.services.ports.metrics import NO_METRICS, AuditMetrics, Metrics, NoMetrics
from bot.services.ports.people import (
    ApproverDirectory,
    FormScreen,
    NotDelivered,
    RemediationNotifier,
)
from bot.services.ports.remediation import (
    ExceptionView,
    Identity,
    OpenRequestView,
    RemediationSource,
    RequestFinder,
    RequestLog,
    RequestReader,
    RequestRepository,
    Risk,
    RisksInForce,
    RootAccess,
    RootSession,
    UsageReader,
)
from bot.services.ports.runtime import Clock, Deadline, DigestSchedule, JobQueue, Timers

__all__ = [
    "NO_METRICS",
    "AlertNotifier",
    "AlertRepository",
    "ApproverDirectory",
    "AuditHistory",
    "AuditMetrics",
    "AuditRun",
    "Auditor",
    "CheckNotifier",
    "CheckRequest",
    "CheckResult",
    "Clock",
    "Deadline",
    "DigestSchedule",
    "ExceptionView",
    "ExportOutcome",
    "FindingsExporter",
    "FormScreen",
    "Identity",
    "JobQueue",
    "KeyChangeSource",
    "LastMembers",
    "MemberStates",
    "Metrics",
    "NamedAccounts",
    "NoMetrics",
    "NotDelivered",
    "OpenRequestView",
    "Placed",
    "PostedAlerts",
    "Queue",
    "RemediationNotifier",
    "RemediationSource",
    "RequestFinder",
    "RequestGuard",
    "RequestLog",
    "RequestReader",
    "RequestRepository",
    "Risk",
    "RisksInForce",
    "RootAccess",
    "RootSession",
    "RunReader",
    "RunRepository",
    "RunStore",
    "Timers",
    "UsageReader",
]
