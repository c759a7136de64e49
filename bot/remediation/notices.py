"""What a request's conversation is told: one small frozen dataclass per event.

The remediation use case hands each of these, with the request as it stands after the event,
to its notifier's one ``notify(request, notice)`` (``bot.services.ports.RemediationNotifier``);
the Slack adapter words each kind with the Block Kit builders (``bot.slack.notifier``). A new
event is one class here, added to ``Notice``, and one renderer there (a unit test refuses a
notice the adapter cannot word). Telling is never part of a move: a notice that cannot be
delivered is the adapter's to log.

Posting the request itself is not a notice: it is where the request comes to live
(``RemediationNotifier.open``), and it can fail in a way its caller must act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.audit.models import Verdict
from bot.remediation.events import Step
from bot.remediation.progress import KeyProgress
from bot.remediation.states import State


@dataclass(frozen=True)
class RequestNotPosted:
    """The request could not be posted (so it closed): the requester is told privately."""

    error: str  # the platform's short reason


@dataclass(frozen=True)
class RequestChanged:
    """Show the request as it stands now: its buttons while it waits, else the decision
    (by ``actor``, at ``at``) in their place."""

    actor: str | None
    at: datetime


@dataclass(frozen=True)
class RequestMoved:
    """The request moved from ``old`` to its state now, by ``actor`` (None: the bot)."""

    old: State
    detail: str
    actor: str | None


@dataclass(frozen=True)
class ApprovalCounted:
    """``user`` approved; ``left`` more approvals are needed."""

    user: str
    left: int


@dataclass(frozen=True)
class RiskAccepted:
    """An exception request was approved: the account is shown apart until it ends."""


@dataclass(frozen=True)
class FindingSettled:
    """The request ended its finding (verified, or its accepted risk ended): the outcome is
    shown where the finding was posted, in place of its buttons."""


@dataclass(frozen=True)
class StepDone:
    """One step of the work (also written to the audit log)."""

    step: Step


@dataclass(frozen=True)
class TrackingStarted:
    """The manual steps, as the last audit shows the keys; the assignee is told privately."""

    verdict: Verdict | None


@dataclass(frozen=True)
class Checked:
    """A re-audit someone asked for that moves nothing: where the keys stand."""

    asked_by: str
    progress: KeyProgress
    reason: str  # the verdict's reason (shown when the account could not be read)


@dataclass(frozen=True)
class KeysDeactivated:
    """The keys are off but not deleted: how to back out."""


@dataclass(frozen=True)
class ExecutionTakenOver:
    """Another process took the execution over (this one lost its lease); ``detail`` says
    where this one stood."""

    detail: str | None = None


@dataclass(frozen=True)
class DatabaseFailed:
    """The execution stopped on a database failure; it resumes once the database answers."""

    error: str


@dataclass(frozen=True)
class WorkFailed:
    """Scheduled work (``what``) on the request failed; the next sweep tries again."""

    what: str
    error: str


class Audience(StrEnum):
    """Who a reminder is for."""

    ASSIGNEE = "assignee"
    APPROVERS = "approvers"


@dataclass(frozen=True)
class Reminder:
    """The request still waits, ``waited`` seconds after its last move, for ``audience``."""

    audience: Audience
    waited: float


Notice = (
    RequestNotPosted
    | RequestChanged
    | RequestMoved
    | ApprovalCounted
    | RiskAccepted
    | FindingSettled
    | StepDone
    | TrackingStarted
    | Checked
    | KeysDeactivated
    | ExecutionTakenOver
    | DatabaseFailed
    | WorkFailed
    | Reminder
)
