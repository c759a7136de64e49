"""What every part of the remediation use case shares: the settings, the store, the notifier,
the audit path, this process's identity and lease, and the moves that are told as they happen
(a move to verified, or the end of an accepted risk, also shows on the finding the request came
from).

The decisions (``decisions``), the work after approval (``execution``) and the scheduled sweep
(``sweep``) all move requests through ``Core.move``: a conditional update in the store, so each
move happens once, told to the notifier by the caller that made it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.audit.models import AuditResult, OrgFeatures, Scope, Status, Verdict
from bot.config import Config
from bot.records.errors import RootAccessError, StoreError, shown_error
from bot.records.history import AccountState
from bot.records.remediation import BOT_ACTOR
from bot.remediation import rights
from bot.remediation.errors import LeaseLost, RemediationError
from bot.remediation.events import Step
from bot.remediation.models import Request
from bot.remediation.notices import (
    FindingSettled,
    RequestChanged,
    RequestMoved,
    StepDone,
    WorkFailed,
)
from bot.remediation.progress import choose_mode
from bot.remediation.states import Kind, Mode, State
from bot.services.audit import AuditFailed
from bot.services.ports import (
    Identity,
    JobQueue,
    NotDelivered,
    RemediationNotifier,
    RequestRepository,
    RootAccess,
)

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=16)  # an AssumeRoot session lasts at most 15 minutes
# What one request's work may fail with; the others go on, and the request is tried again.
WORK_ERRORS = (RemediationError, RootAccessError, AuditFailed, StoreError, NotDelivered)


class AuditPath(Protocol):
    """The normal audit path (``bot.services.audit.AuditService``)."""

    def run(
        self,
        scope: Scope,
        trigger: str,
        requested_by: str | None = None,
        channel: str | None = None,
    ) -> AuditResult: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


def verdict_of(result: AuditResult, account_id: str) -> Verdict:
    for verdict in result.verdicts:
        if verdict.account_id == account_id:
            return verdict
    return Verdict(account_id, Status.ERROR, "the audit returned no verdict", "aws")


class Core:
    def __init__(
        self,
        config: Config,
        store: RequestRepository,
        notifier: RemediationNotifier,
        audit: AuditPath,
        *,
        identity: Identity,
        root_access: RootAccess | None = None,
        latest: Callable[[str], AccountState | None] | None = None,
        people: Callable[[str], str | None] | None = None,
        jobs: JobQueue,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.notifier = notifier
        self.audit = audit
        self.root_access = root_access
        self.latest = latest or (lambda _account: None)  # an account's last saved verdict
        self.people = people or (lambda _user: None)  # a user id's name, from the directory
        self.now = now
        self.spec = rights.ApproverSpec.parse(config.approvers)
        self.identity = identity  # who this process is, as a lease names its holder
        self.me = identity.me
        self.jobs = jobs  # the work after a click's ack (a lane of the bot's job pool)
        self.active_lock = threading.Lock()
        self.active: set[int] = set()  # requests this process is executing or resuming now
        self.last_problem: dict[int, str] = {}  # the last failure told per request

    def background(self, fn: Callable[..., object], *args: object) -> None:
        """Run after the click's ack; a failure is logged with its traceback (a bug)."""
        name = getattr(fn, "__name__", "work")

        def run() -> None:
            try:
                fn(*args)
            except Exception:
                log.exception("remediation work %s failed", name)

        if not self.jobs.submit(f"remediation {name}", run):
            log.warning("remediation work %s not started: stopping", name)

    @contextmanager
    def running(self, request_id: int) -> Iterator[bool]:
        """Mark a request as being worked on by this process right now (execution or resume);
        yields False when it already was (the outer work keeps the mark)."""
        with self.active_lock:
            fresh = request_id not in self.active
            self.active.add(request_id)
        try:
            yield fresh
        finally:
            if fresh:
                with self.active_lock:
                    self.active.discard(request_id)

    # -- people, as the log names them ------------------------------------------------------------

    def name_of(self, user: str) -> str | None:
        """A person's name for the log (plain text), or None (unknown, or the bot itself)."""
        return None if user == BOT_ACTOR else self.people(user)

    def person(self, user: str) -> str:
        """A person in a log line: "Avery Approver (U0APPROVE1)", or the id alone."""
        return rights.named(user, self.name_of(user))

    def naming(self) -> rights.Naming:
        """How refusals name the approvers and people: mentions in Slack, names in the log."""
        return rights.Naming(self.spec, self.name_of)

    # -- moves and steps, told as they happen ----------------------------------------------------

    def refresh(self, req: Request, actor: str | None = None) -> None:
        """Show the request message as the request stands (buttons, or the decision)."""
        self.notifier.notify(req, RequestChanged(actor, self.now()))

    def step(self, req: Request, step: Step, *, renew: bool = True) -> None:
        """One step of the work: logged, then told. While executing, each step first renews
        this process's lease (and stops the work if it lost it)."""
        if renew and req.state is State.EXECUTING:
            self.keep_lease(req)
        self.store.note(req.id, BOT_ACTOR, "step", step.record, self.now())
        self.notifier.notify(req, StepDone(step))

    def keep_lease(self, req: Request) -> None:
        """Renew this process's execution lease; ``LeaseLost`` when another process has it."""
        if not self.store.renew_lease(req.id, self.me, self.now() + LEASE):
            raise LeaseLost(req.id)

    def move(
        self, req: Request, to: State, actor: str, detail: str, **fields: Any
    ) -> Request | None:
        """Conditional move from ``req.state``; told when this call made it."""
        holder = self.me if req.state is State.EXECUTING else None
        moved = self.store.transition(
            req.id, req.state, to, actor, detail, self.now(), holder,
            actor_name=self.name_of(actor), **fields,
        )  # fmt: skip
        if moved is not None:
            by = None if actor == BOT_ACTOR else actor
            self.notifier.notify(moved, RequestMoved(req.state, detail, by))
            ended_risk = req.kind is Kind.EXCEPTION and req.state is State.APPROVED
            if to is State.VERIFIED or (ended_risk and to is State.EXPIRED):
                self.notifier.notify(moved, FindingSettled())  # fixed, or its accepted risk ended
        return moved

    def guard(
        self, req: Request, action: Callable[[Request], object], what: str | None = None
    ) -> None:
        """One request's failure (AWS, audit, Slack, database) must not stop the others. The
        request keeps its state, the next sweep tries again, and the thread says why (once per
        distinct failure, not on every sweep)."""
        try:
            action(req)
        except WORK_ERRORS as exc:
            log.error("request #%d: %s", req.id, exc)
            problem = f"{type(exc).__name__}: {exc}"
            if self.last_problem.get(req.id) == problem:
                return
            self.last_problem[req.id] = problem
            what = what or getattr(action, "__name__", "work").replace("_", " ")
            self.notifier.notify(req, WorkFailed(what, shown_error(exc)))
        else:
            self.last_problem.pop(req.id, None)

    # -- audits and modes ------------------------------------------------------------------------

    def audit_one(self, account_id: str, trigger: str, user: str | None = None) -> AuditResult:
        return self.audit.run(Scope(kind="accounts", account_ids=(account_id,)), trigger, user)

    def verdict(self, account_id: str, trigger: str, user: str | None = None) -> Verdict:
        return verdict_of(self.audit_one(account_id, trigger, user), account_id)

    def mode_for(self, features: OrgFeatures) -> tuple[Mode, str]:
        return choose_mode(self.config.remediation, features)

    def features(self) -> OrgFeatures:
        if self.config.remediation != Mode.ASSUME_ROOT.value or self.root_access is None:
            return OrgFeatures()
        try:
            return self.root_access.features()
        except RootAccessError as exc:
            log.warning("could not read the Organization features: %s", exc)
            return OrgFeatures()
