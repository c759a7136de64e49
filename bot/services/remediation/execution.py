"""After approval: execute (``assume-root``: a root session deletes the keys, then a re-audit)
or track (a person removes the keys; re-audits move the request), and pick up executions that
stopped.

Execution runs in a worker thread after the approval click is acknowledged. The executing
process holds a lease on the request (its ``Identity`` names the holder) and renews it at
every step and before every deletion; after a restart, a request left in ``executing`` by a
process that is gone is re-audited and either finished (verified) or put back to
``approved``, then executed again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.audit.models import Verdict
from bot.records.aws import RootKey
from bot.records.errors import RootAccessError, StoreError, shown_error
from bot.records.remediation import BOT_ACTOR
from bot.remediation.errors import LeaseLost
from bot.remediation.events import (
    Deleted,
    KeysListed,
    OpeningRootSession,
    Reauditing,
    Resuming,
    TrackingInstead,
    WouldDelete,
)
from bot.remediation.keys import KeyPrint, foreign_sentence, sort_for_deletion
from bot.remediation.models import Request
from bot.remediation.notices import (
    Checked,
    DatabaseFailed,
    ExecutionTakenOver,
    KeysDeactivated,
    TrackingStarted,
)
from bot.remediation.progress import (
    KeyProgress,
    dry_run_applies,
    key_progress,
    too_old_to_start,
    tracked_target,
)
from bot.remediation.states import Kind, Mode, State
from bot.services.audit import AuditFailed
from bot.services.remediation.core import LEASE, Core
from bot.services.remediation.owners import Owners

log = logging.getLogger(__name__)

STALLED = timedelta(minutes=2)  # approved this long without starting: the click's worker died


def keys_word(count: int) -> str:
    """ "a root access key", "2 root access keys" (an unknown count, 0, reads as one)."""
    return "a root access key" if count <= 1 else f"{count} root access keys"


def print_of(key: RootKey) -> KeyPrint:
    """A key as a root session listed it, as a fingerprint (no slot: ListAccessKeys has none)."""
    return KeyPrint(
        created=key.created,
        active=key.active,
        key_id=key.key_id,
        last_used_date=key.last_used_date,
        last_used_region=key.last_used_region,
        last_used_service=key.last_used_service,
    )


class Execution:
    def __init__(self, core: Core, owners: Owners) -> None:
        self.core = core
        self.owners = owners

    def proceed(self, request_id: int) -> None:
        """Start the work of an approved remediation: execute (assume-root) or track."""
        core = self.core
        req = core.store.get(request_id)
        if req.state is not State.APPROVED:
            return
        if req.mode is Mode.ASSUME_ROOT:
            mode, why = core.mode_for(core.features())
            if mode is Mode.ASSUME_ROOT:
                self.execute(req)
                return
            core.step(req, TrackingInstead(why))
        self.track(req)

    # -- tracked ---------------------------------------------------------------------------------

    def track(self, req: Request) -> None:
        core = self.core
        owner = self.owners.get(req.account_id)
        assignee = owner or req.requester
        source = "the owner from ROOTKEY_OWNERS" if owner else "the requester"
        moved = core.move(
            req, State.TRACKING, BOT_ACTOR, f"assigned to {core.person(assignee)}, {source}",
            assignee=assignee, checked_at=core.now(),
        )  # fmt: skip
        if moved is None:
            return
        verdict = core.verdict(req.account_id, "recheck")
        core.notifier.notify(moved, TrackingStarted(verdict))
        self.progress(moved, verdict, None)  # already deactivated or deleted meanwhile

    def recheck(self, req: Request, asked_by: str | None = None) -> Request | None:
        return self.progress(req, self.core.verdict(req.account_id, "recheck", asked_by), asked_by)

    def progress(self, req: Request, verdict: Verdict, asked_by: str | None) -> Request | None:
        """Move a tracked request to where a re-audit shows its keys (told as it moves)."""
        progress = key_progress(verdict)
        target = tracked_target(req.state, progress)
        if target is None:
            if asked_by:
                self.core.notifier.notify(req, Checked(asked_by, progress, verdict.reason))
            return None
        detail = {
            State.DEACTIVATED: "re-audit: keys present but deactivated",
            State.VERIFIED: "re-audit: no root access key left (deleted)",
            State.TRACKING: "re-audit: a key is active again (reactivated)",
        }[target]
        moved = self.core.move(req, target, BOT_ACTOR, detail)
        if moved is not None and target is State.DEACTIVATED:
            self.core.notifier.notify(moved, KeysDeactivated())
        return moved

    # -- assume-root -----------------------------------------------------------------------------

    def execute(self, req: Request) -> None:
        """assume-root: AssumeRoot, list keys with last use, delete (unless dry run), re-audit.

        Whatever goes wrong ends in a state the thread explains: ``failed`` with the reason, or
        (the database failing) the lease handed back so that the resume path re-audits it."""
        core = self.core
        with core.running(req.id):  # marked before the move: no sweep here may resume it
            until = core.now() + LEASE
            running = core.move(
                req, State.EXECUTING, BOT_ACTOR, "deleting through centralized root access",
                lease_owner=core.me, lease_until=until,
            )  # fmt: skip
            if running is None:
                return  # another click or process is on it
            deleted: list[str] = []
            try:
                self.run_root_session(running, deleted)
            except RootAccessError as exc:
                self.give_up(running, str(exc), deleted)
            except AuditFailed as exc:
                self.give_up(running, f"the re-audit could not run: {exc}", deleted)
            except StoreError as exc:
                self.hand_back(running, exc)
            except LeaseLost as exc:
                log.warning("request #%d: %s", running.id, exc)
                core.notifier.notify(running, ExecutionTakenOver())

    def give_up(self, req: Request, why: str, deleted: list[str]) -> None:
        """End an execution as failed, saying what was deleted before it stopped."""
        done = f"; already deleted: {', '.join(deleted)}" if deleted else "; no key was deleted"
        try:
            failed = self.core.move(req, State.FAILED, BOT_ACTOR, why + done)
        except StoreError as exc:
            self.hand_back(req, exc)
            return
        if failed is None:  # another process holds the request now: it finishes it
            log.warning("request #%d: %s (%s)", req.id, LeaseLost(req.id), why)
            self.core.notifier.notify(req, ExecutionTakenOver(why + done))

    def hand_back(self, req: Request, exc: StoreError) -> None:
        """The database failed mid-execution: say so in the thread and hand the lease back, so
        the next sweep (of any process) re-audits the account and finishes the request."""
        core = self.core
        log.error("request #%d: database failure while executing: %s", req.id, exc)
        core.notifier.notify(req, DatabaseFailed(shown_error(exc)))  # the detail is logged above
        try:
            core.store.release_lease(req.id, core.me, core.now())
        except StoreError as again:
            log.error("request #%d: could not hand back its lease: %s", req.id, again)

    def run_root_session(self, req: Request, deleted: list[str]) -> None:
        core = self.core
        root = core.root_access
        assert root is not None
        dry = dry_run_applies(req.dry_run, core.config.dry_run)  # the safer of the two
        core.step(req, OpeningRootSession(req.account_id, root.region, root.duration))
        session = root.open(req.account_id)
        listed = session.list_keys()
        core.step(req, KeysListed(tuple(k.describe() for k in listed)), renew=False)
        plan = sort_for_deletion(req.key_prints, [print_of(k) for k in listed])
        if plan.stop:  # a key nobody approved: stop before anything is deleted
            raise RootAccessError(
                "; ".join(foreign_sentence(k, req.key_prints) for k in plan.foreign)
            )
        wanted = {k.key_id for k in plan.matching}
        keys = [k for k in listed if k.key_id in wanted]
        for key in keys:
            if dry:
                core.step(req, WouldDelete(key.masked))
                continue
            core.keep_lease(req)  # never delete under another process's lease
            session.delete_key(key.key_id)
            deleted.append(key.masked)
            core.step(req, Deleted(key.masked))
        core.step(req, Reauditing())
        self.finish_execution(req, dry)

    def finish_execution(self, req: Request, dry: bool) -> Request | None:
        verdict = self.core.verdict(req.account_id, "recheck")
        progress = key_progress(verdict)
        if progress is KeyProgress.DELETED:
            return self.core.move(
                req, State.VERIFIED, BOT_ACTOR, "re-audit: no root access key left"
            )
        if dry:
            detail = (
                "dry run (ROOTKEY_DRY_RUN=true): nothing was deleted; the re-audit still finds "
                f"{keys_word(len(verdict.keys))}"
            )
        elif progress is KeyProgress.UNKNOWN:
            detail = f"re-audit could not read the account: {verdict.reason}"
        else:
            detail = f"re-audit still finds {keys_word(len(verdict.keys))}"
        return self.core.move(req, State.FAILED, BOT_ACTOR, detail)

    # -- executions that stopped -----------------------------------------------------------------

    def resume_interrupted(self, at_start: bool) -> None:
        """Requests left in ``executing`` by a process that is gone: re-audit and finish them,
        or put them back to approved (with a note) and execute again. Approved requests that
        never started are started."""
        core = self.core
        now = core.now()
        for req in core.store.executing():
            with core.running(req.id) as fresh:
                if not fresh:
                    continue  # this process is executing it right now
                ours = req.lease_owner == core.me  # ours, but its work here has ended
                expired = req.lease_until is None or req.lease_until <= now
                if not (ours or expired or core.identity.gone(req.lease_owner)):
                    continue
                core.guard(req, self.resume_one, "resume")
        # Approved but never started (a restart right after the approval click): start now.
        # The moves out of approved are conditional, so a process that is starting it at this
        # very moment and this one cannot both do it.
        for req in core.store.find([State.APPROVED], kind=Kind.REMEDIATION):
            if not (at_start or req.state_since <= now - STALLED):
                continue
            if too_old_to_start(req.created_at, core.config.approval_ttl, now):
                core.guard(req, self.expire_unstarted, "expire")
                continue
            log.info("request #%d: approved but not started; starting it", req.id)
            core.guard(req, lambda r: self.proceed(r.id), "start")

    def expire_unstarted(self, req: Request) -> None:
        """An approved request older than ``ROOTKEY_APPROVAL_TTL`` that never started expires
        instead of running (the approvers decided on the account as it was then)."""
        seconds = self.core.config.approval_ttl
        ttl = f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"
        self.core.move(
            req, State.EXPIRED, BOT_ACTOR,
            f"approved but not started, and older than ROOTKEY_APPROVAL_TTL ({ttl}): it "
            "expires instead of running now; nothing was deleted; request again",
        )  # fmt: skip

    def resume_one(self, req: Request) -> None:
        """Take the lease of an interrupted execution (if it is still as we saw it) and resume."""
        core = self.core
        if not core.store.take_over(req, core.me, core.now() + LEASE):
            return
        log.info("request #%d: resuming an interrupted execution", req.id)
        self.resume(core.store.get(req.id), restarted=req.lease_owner != core.me)

    def resume(self, req: Request, restarted: bool = True) -> None:
        core = self.core
        core.step(req, Resuming(restarted))
        if key_progress(core.verdict(req.account_id, "recheck")) is KeyProgress.DELETED:
            core.move(req, State.VERIFIED, BOT_ACTOR, "after restart: re-audit finds no root key")
            return
        back = core.move(
            req, State.APPROVED, BOT_ACTOR,
            "interrupted by a restart; the re-audit still finds a root key, so the request is "
            "back to approved and runs again",
        )  # fmt: skip
        if back is not None:
            self.proceed(back.id)
