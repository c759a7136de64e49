"""The remediation use case: request, approve or reject, execute or track, verify, expire.

Slack handlers and the scheduler call ``RemediationService``; it moves requests through
``bot.remediation``'s state machine with the store's conditional updates, so each move happens
once, and tells every move and step to its notifier (``bot.services.ports``), which knows
where the request's thread is. Its parts change for different reasons:

- ``decisions``: the form, a submitted request, approvals, rejections, expiry;
- ``execution``: the work after approval (root session and leases, or tracking) and resuming
  an execution that stopped;
- ``sweep``: the periodic expiry, exception ends, rechecks and reminders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from bot.audit.models import AuditResult, Status
from bot.config import Config
from bot.records.history import AccountState
from bot.records.remediation import NewRequest
from bot.remediation.events import FormContext, FormOutcome, RequestForm
from bot.remediation.keys import risk_coverage
from bot.remediation.models import Conversation, Request, RiskException
from bot.remediation.states import State
from bot.services.ports import (
    ApproverDirectory,
    Identity,
    JobQueue,
    KeyChangeSource,
    RemediationNotifier,
    RequestRepository,
    RootAccess,
)
from bot.services.remediation.core import AuditPath, Core, utcnow
from bot.services.remediation.decisions import Decisions
from bot.services.remediation.execution import Execution
from bot.services.remediation.owners import Owners
from bot.services.remediation.sweep import Sweep

log = logging.getLogger(__name__)

__all__ = ["AuditPath", "Owners", "RemediationService"]


class RemediationService:
    """The use case's one face: what handlers, the scheduler and the bot's start call."""

    def __init__(
        self,
        config: Config,
        store: RequestRepository,
        notifier: RemediationNotifier,
        directory: ApproverDirectory,
        audit: AuditPath,
        *,
        identity: Identity,
        root_access: RootAccess | None = None,
        owners: Owners | None = None,
        names: Callable[[str], str | None] | None = None,
        people: Callable[[str], str | None] | None = None,
        latest: Callable[[str], AccountState | None] | None = None,
        key_changes: KeyChangeSource | None = None,
        jobs: JobQueue,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.key_changes = key_changes  # root keys created/reactivated, where alerts are on
        self.core = Core(
            config,
            store,
            notifier,
            audit,
            identity=identity,
            root_access=root_access,
            latest=latest,
            people=people,
            jobs=jobs,
            now=now,
        )
        owners = owners if owners is not None else Owners(config.owners_file)
        self.execution = Execution(self.core, owners)
        self.decisions = Decisions(
            self.core, self.execution, directory, owners, names or (lambda _account: None)
        )
        self.sweeper = Sweep(self.core, self.decisions, self.execution)

    @property
    def config(self) -> Config:
        return self.core.config

    @config.setter
    def config(self, config: Config) -> None:
        self.core.config = config

    @property
    def store(self) -> RequestRepository:
        return self.core.store

    def now(self) -> datetime:
        return self.core.now()

    # -- lifecycle (started and stopped with the bot) ---------------------------------------------

    def start(self) -> None:
        if not self.core.config.approvers:
            log.warning("ROOTKEY_APPROVERS is empty: remediation requests cannot be approved")
        self.core.background(self.execution.resume_interrupted, True)

    @property
    def sweep_interval(self) -> float:
        """How often the bot's scheduler should call ``sweep`` (seconds)."""
        return self.sweeper.interval

    # -- the form and the clicks ------------------------------------------------------------------

    def form(self, ctx: FormContext, user: str) -> FormOutcome:
        return self.decisions.form(ctx, user)

    def home_channel(self) -> str | None:
        return self.decisions.home_channel()

    def prepare(self, form: RequestForm, user: str) -> NewRequest:
        return self.decisions.prepare(form, user)

    def create(self, new: NewRequest) -> Request:
        return self.decisions.create(new)

    def approve(self, request_id: int, user: str) -> Request:
        return self.decisions.approve(request_id, user)

    def may_approve(self, request_id: int, user: str) -> Request:
        return self.decisions.may_approve(request_id, user)

    def may_reject(self, request_id: int, user: str) -> Request:
        return self.decisions.may_reject(request_id, user)

    def reject(self, request_id: int, user: str, reason: str | None = None) -> Request:
        return self.decisions.reject(request_id, user, reason)

    def verify(self, request_id: int, user: str) -> Request:
        return self.decisions.verify(request_id, user)

    def revoke(self, request_id: int, user: str) -> Request:
        return self.decisions.revoke(request_id, user)

    def cancel(self, request_id: int, user: str) -> Request:
        return self.decisions.cancel(request_id, user)

    def audit_one(self, account_id: str, trigger: str, user: str | None = None) -> AuditResult:
        """Audit one account through the normal audit path (saved, as the form shows it)."""
        return self.core.audit_one(account_id, trigger, user)

    # -- the work and the sweep -------------------------------------------------------------------

    def proceed(self, request_id: int) -> None:
        self.execution.proceed(request_id)

    def recheck(self, req: Request, asked_by: str | None = None) -> Request | None:
        """Re-audit a tracked request's account now and move it where its keys stand."""
        return self.execution.recheck(req, asked_by)

    def sweep(self) -> None:
        self.sweeper.sweep()

    def resume_interrupted(self, at_start: bool) -> None:
        self.execution.resume_interrupted(at_start)

    def running(self, request_id: int) -> AbstractContextManager[bool]:
        return self.core.running(request_id)

    def move(
        self, req: Request, to: State, actor: str, detail: str, **fields: Any
    ) -> Request | None:
        return self.core.move(req, to, actor, detail, **fields)

    # -- reading ----------------------------------------------------------------------------------

    def open_requests(self) -> list[Request]:
        return self.core.store.open_requests()

    def where_of(self, request_id: int) -> Conversation | None:
        """Where request ``request_id`` lives; None when it cannot be read (the database
        failing, or no such request)."""
        try:
            return self.core.store.get(request_id).where
        except Exception:  # told in a direct message instead
            return None

    def active_exceptions(self) -> list[RiskException]:
        """Accounts to show apart in results and digests until their exception ends."""
        return self.core.store.active_exceptions(self.core.now())

    def not_covering(self, exceptions: list[RiskException]) -> dict[int, str]:
        """Request id -> why an accepted risk no longer covers its account's last verdict."""
        lapsed: dict[int, str] = {}
        changes = self.key_changes() if self.key_changes is not None and exceptions else {}
        for exc in exceptions:
            state = self.core.latest(exc.account_id)
            if state is None or state.status is not Status.NONCOMPLIANT:
                continue
            cover = risk_coverage(
                exc,
                state.status,
                state.keys,
                state.report_generated_at,
                changes.get(exc.account_id),
            )
            if not cover.covered:
                lapsed[exc.request_id] = cover.why
        return lapsed
