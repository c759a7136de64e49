"""After root deleted a key: where the remediation side's notes go, and its re-audit
(``DeletionFollowUp``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial

from bot.events.models import RootActivity
from bot.remediation.models import Request
from bot.remediation.states import TRACKED_STATES, Kind, State
from bot.services.ports import Placed, RequestFinder, Timers

log = logging.getLogger(__name__)

OPEN_STATES = (State.REQUESTED, State.APPROVED, *TRACKED_STATES)


class DeletionFollowUp:
    """After root deleted a key: the thread of each open remediation request of the account
    the deletion's note goes in too (unless it is one of the key's alerts, ``noted``), returned
    for the alerts outbox to post with the note (recorded with it, retried until Slack takes
    it); and, for a tracked request, a re-audit (``recheck``) that moves it on, to verified
    when no key is left. The re-audit is a job of the bot's scheduler (``timers``), ``delay``
    later by its clock (IAM's summary may lag a few seconds), so the queue is never held up by
    an audit."""

    def __init__(
        self,
        requests: RequestFinder,
        recheck: Callable[[Request], object],
        timers: Timers,
        *,
        delay: timedelta = timedelta(seconds=5),
    ) -> None:
        self.requests = requests
        self.recheck = recheck
        self.timers = timers
        self.delay = delay

    def __call__(self, activity: RootActivity, noted: Sequence[Placed]) -> list[Placed]:
        found = [
            r
            for r in self.requests.find(OPEN_STATES, kind=Kind.REMEDIATION)
            if r.account_id == activity.account_id
        ]
        threads: list[Placed] = []
        for req in found:
            thread = req.where.replies_under
            if thread and Placed(req.where.place, thread) not in noted:
                threads.append(Placed(req.where.place, thread))
            if req.state in TRACKED_STATES:
                self.timers.later(f"re-audit #{req.id}", self.delay, partial(self.later, req))
        return threads

    def later(self, req: Request) -> None:
        try:
            self.recheck(req)
        except Exception:  # a background job: the sweep's next recheck tries again
            log.exception("events: re-audit of request #%d after a root deletion failed", req.id)
