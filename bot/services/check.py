"""The check use case (``/rootkey check``, the "Re-run" button): audit after the ack, then
tell the result to everyone who asked.

The handler only acks and calls ``CheckRunner.start``; the audit happens in a worker of
``JobQueue`` and its result (or why there is none) goes to the notifier (``CheckNotifier``: in
Slack, the message and the CSV report). The worker first claims the Slack request (``guard``):
a repeat that reached another replica was acknowledged there, but it never starts a second
audit and posts nothing.

Identical checks coalesce: a check of a scope that already has an audit waiting to start joins
it, and that one audit's result is posted to every channel and person that asked (once per
channel and person). An audit already running is never joined, as its result could predate
the request (someone who has just deleted a key and checks again sees a fresh audit); the new
request waits for the next one, which starts when the running one ends, so one scope has at
most one audit running and one waiting. Accounts with an accepted risk (``exceptions``, the
remediation flow's active exceptions, read after the audit) are shown apart in the message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from bot.audit.models import Scope
from bot.records.errors import StoreError
from bot.remediation.keys import NO_CHANGES, KeyChanges
from bot.remediation.models import RiskException
from bot.services.audit import AuditService
from bot.services.ports import (
    CheckNotifier,
    CheckRequest,
    CheckResult,
    JobQueue,
    KeyChangeSource,
    RequestGuard,
)

log = logging.getLogger(__name__)

ExceptionSource = Callable[[], Sequence[RiskException]]

__all__ = ["CheckRequest", "CheckRunner", "coalescing_key"]


def coalescing_key(scope: Scope) -> Scope:
    """Checks that audit the same accounts, whatever the order they were named in."""
    return Scope(scope.kind, tuple(sorted(set(scope.account_ids))))


class CheckRunner:
    def __init__(
        self,
        audit: AuditService,
        notifier: CheckNotifier,
        jobs: JobQueue,
        exceptions: ExceptionSource | None = None,
        guard: RequestGuard | None = None,
        key_changes: KeyChangeSource | None = None,
    ) -> None:
        self.audit = audit
        self.notifier = notifier
        self.jobs = jobs
        self.exceptions = exceptions  # the remediation flow's accepted risks, when wired
        self.key_changes = key_changes  # root keys created/reactivated, where alerts are on
        self.guard = guard
        self.lock = threading.Lock()
        self.waiting: dict[Scope, list[CheckRequest]] = {}  # by scope: not started yet
        self.active: set[Scope] = set()  # scopes with an audit queued or running

    def accepted_risks(self) -> tuple[Sequence[RiskException], KeyChanges, bool]:
        """The active exceptions, the accounts' latest key changes, and whether they could not
        be read (then none apply: a finding is never hidden because the database did not
        answer)."""
        if self.exceptions is None:
            return (), NO_CHANGES, False
        try:
            exceptions = self.exceptions()
            changes = self.key_changes() if self.key_changes is not None else NO_CHANGES
        except StoreError as exc:
            log.warning("accepted risks not read: %s", exc)
            return (), NO_CHANGES, True
        return exceptions, changes, False

    def start(self, request: CheckRequest) -> bool:
        """Queue the audit, or join the one of the same scope waiting to start; False when
        too many audits are already waiting."""
        key = coalescing_key(request.scope)
        with self.lock:
            waiting = self.waiting.get(key)
            if waiting is not None:
                waiting.append(request)
                return True
            if not self.jobs.reserve(f"check {request.scope.kind}"):
                return False
            self.waiting[key] = [request]
            if key in self.active:
                return True  # launched when the running audit of this scope ends
            self.active.add(key)
        self.launch(key)
        return True

    def launch(self, key: Scope) -> None:
        if not self.jobs.run_reserved(f"check {key.kind}", lambda: self.run_waiting(key)):
            with self.lock:  # stopping: nothing will run these
                self.waiting.pop(key, None)
                self.active.discard(key)

    def run_waiting(self, key: Scope) -> None:
        with self.lock:  # from here on, a new request of this scope waits for the next audit
            requests = self.waiting.pop(key, [])
        try:
            self.execute_all(requests)
        finally:
            with self.lock:
                again = key in self.waiting
                if not again:
                    self.active.discard(key)
            if again:
                self.launch(key)

    def execute(self, request: CheckRequest) -> None:
        self.execute_all([request])

    def execute_all(self, requests: Sequence[CheckRequest]) -> None:
        """One audit for ``requests`` (all of one scope), its result posted to each of them."""
        # A request another replica took on is left to it; a person asking twice in the same
        # channel gets one message.
        chosen: dict[tuple[str, str | None], CheckRequest] = {}
        for request in requests:
            if request.key and self.guard is not None and not self.guard.claim(request.key):
                continue
            chosen.setdefault((request.channel, request.user), request)
        if not chosen:
            return
        for_all = list(chosen.values())
        request = for_all[0]
        if len(for_all) > 1:
            log.info("one audit of %s for %d requests", request.scope.kind, len(for_all))
        try:
            run = self.audit.record(request.scope, request.trigger, request.user, request.channel)
        except Exception as exc:  # the audit as a whole could not run: tell them why
            self.notifier.check_failed(for_all, exc)
            return
        exceptions, changes, unread = self.accepted_risks()
        result = CheckResult(run, tuple(exceptions), unread, key_changes=changes)
        self.notifier.check_finished(for_all, result)
