"""The periodic sweep: expiry, exception ends, tracked rechecks, reminders and stalled
executions, each request on its own (``Core.guard``); the bot's scheduler (``bot.runtime``)
runs it every ``interval`` seconds by its clock."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.records.remediation import BOT_ACTOR
from bot.remediation.models import Request
from bot.remediation.notices import Audience, Reminder
from bot.remediation.states import TRACKED_STATES, Kind, State
from bot.services.remediation.core import Core
from bot.services.remediation.decisions import Decisions
from bot.services.remediation.execution import Execution

log = logging.getLogger(__name__)

MAX_SWEEP_INTERVAL = 60.0


class Sweep:
    def __init__(self, core: Core, decisions: Decisions, execution: Execution) -> None:
        self.core = core
        self.decisions = decisions
        self.execution = execution

    @property
    def interval(self) -> float:
        """How often the scheduler should call ``sweep`` (seconds)."""
        config = self.core.config
        ttl = config.approval_ttl / 4  # an expiry is seen at most a quarter TTL late
        return max(1.0, min(config.recheck_interval, ttl, MAX_SWEEP_INTERVAL))

    def sweep(self) -> None:
        """Expire, end exceptions, recheck tracked accounts, remind; each request on its own."""
        core = self.core
        store = core.store
        now = core.now()
        for req in store.overdue(now):
            core.guard(req, self.decisions.expire)
        for req in store.lapsed_exceptions(now):
            core.guard(req, self.end_exception)
        interval = timedelta(seconds=core.config.recheck_interval)
        for req in store.due_rechecks(now, interval):
            if store.claim_recheck(req, now):
                core.guard(req, self.execution.recheck)
        for req in store.find(TRACKED_STATES, kind=Kind.REMEDIATION):
            core.guard(req, self.remind)
        self.execution.resume_interrupted(False)

    def end_exception(self, req: Request) -> None:
        self.core.move(
            req, State.EXPIRED, BOT_ACTOR, "the exception ran out; the account counts again"
        )

    def remind(self, req: Request) -> None:
        core = self.core
        since = max((a.at for a in req.approvals), default=req.created_at)
        waited = (core.now() - since).total_seconds()
        after = core.config.reminder_after
        if waited >= after and core.store.claim_reminder(req.id, "assignee", core.now()):
            core.notifier.notify(req, Reminder(Audience.ASSIGNEE, waited))
        if waited >= 2 * after and core.store.claim_reminder(req.id, "approvers", core.now()):
            core.notifier.notify(req, Reminder(Audience.APPROVERS, waited))
