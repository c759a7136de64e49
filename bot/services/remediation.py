"""The remediation use case: request, approve or reject, execute or track, verify, expire.

Slack handlers and the scheduler call this; it moves requests through ``bot.remediation``'s
state machine with the store's conditional updates, so each move happens once, and posts every
move and step to the request's thread. Clicks carry only a request id: each one reloads the
request and checks its state and the clicker's rights here, on the server.

Execution (``assume-root``) runs in a worker thread after the approval click is acknowledged.
The executing process holds a lease on the request; after a restart, a request left in
``executing`` by a process that is gone is re-audited and either finished (verified) or put back
to ``approved`` with a note, then executed again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, Protocol

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.audit.models import AuditResult, OrgFeatures, Scope, Status, Verdict
from bot.aws.root import RootAccess, RootAccessError, RootKey
from bot.config import Config, ConfigError
from bot.remediation import rights
from bot.remediation.errors import (
    AlreadyOpen,
    ApproverLookupFailed,
    InvalidInput,
    LeaseLost,
    NotAllowed,
    RemediationError,
    StaleState,
)
from bot.remediation.keys import (
    KeyPrint,
    coverage,
    foreign_sentence,
    prints_of,
    sort_for_deletion,
)
from bot.remediation.models import Request, RiskException
from bot.remediation.progress import (
    KeyProgress,
    choose_mode,
    clean_reason,
    clean_ticket,
    exception_end,
    key_progress,
    parse_owners,
    tracked_target,
)
from bot.remediation.states import TRACKED_STATES, Kind, Mode, State
from bot.rules import is_user_id
from bot.services.audit import AuditFailed
from bot.slack.blocks import remediation as blocks
from bot.slack.blocks.common import Message
from bot.slack.poster import TRANSPORT_ERRORS, DeliveryError, Poster
from bot.store.records import AccountState, StoreError
from bot.store.remediation import BOT_ACTOR, OPEN_FOR_ACCOUNT, NewRequest, RemediationStore

log = logging.getLogger(__name__)

APPROVER_CACHE_SECONDS = 60.0
LEASE = timedelta(minutes=16)  # an AssumeRoot session lasts at most 15 minutes
MAX_SWEEP_INTERVAL = 60.0
STALLED = timedelta(minutes=2)  # approved this long without starting: the click's worker died


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


class Owners:
    """``ROOTKEY_OWNERS``: account id -> Slack user, re-read when the file changes."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self.lock = threading.Lock()
        self.stamp: float | None = None
        self.mapping: dict[str, str] = {}
        if self.path is not None:
            self.read()  # a broken file stops start-up with one line

    def read(self) -> dict[str, str]:
        assert self.path is not None
        try:
            stamp = self.path.stat().st_mtime
            if stamp != self.stamp:
                self.mapping = parse_owners(self.path.read_text(encoding="utf-8"))
                self.stamp = stamp
        except (OSError, ValueError) as exc:
            if self.stamp is None:
                raise ConfigError("ROOTKEY_OWNERS", f"could not read {self.path}: {exc}") from None
            log.error("ROOTKEY_OWNERS: %s; keeping the last good mapping", exc)
        return self.mapping

    def get(self, account_id: str) -> str | None:
        if self.path is None:
            return None
        with self.lock:
            return self.read().get(account_id)


def elapsed(seconds: float) -> str:
    """``3 days``, ``5 hours``, ``2 minutes``: how long, in the largest whole unit."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "under a minute"


def machine() -> str:
    """This host as a lease names it: the hostname, plus (where Linux tells) the kernel boot id
    and the PID namespace, so that containers sharing a hostname are told apart."""
    host = socket.gethostname()
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        pid_ns = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
    except OSError:
        return host  # unknown: no lease is ever judged by a process id (see process_gone)
    digits = "".join(c for c in pid_ns if c.isdigit())
    return f"{host}/{boot.replace('-', '')[:12]}.{digits}"


def process_id() -> str:
    """Who holds an execution lease: machine, process id and a token unique to this start."""
    return f"{machine()}:{os.getpid()}:{uuid.uuid4().hex}"


def process_gone(owner: str | None, me: str) -> bool:
    """True when the lease ``owner`` is surely a process that no longer runs.

    Only a lease taken in this same boot and PID namespace (``machine()``) is judged by its
    process id, and never ours (``me``) nor one with our process id (an earlier start with the
    same number, or another namespace): those wait for the lease to run out.
    """
    if not owner:
        return True
    if owner == me:
        return False
    host, _, rest = owner.partition(":")
    pid_text, _, _token = rest.partition(":")
    here = me.partition(":")[0]
    if host != here or "/" not in here or not pid_text.isdigit():
        return False  # another machine or namespace, or we cannot tell: wait for the lease
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


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


class RemediationService:
    def __init__(
        self,
        config: Config,
        store: RemediationStore,
        poster: Poster,
        client: WebClient,
        audit: AuditPath,
        *,
        root_access: RootAccess | None = None,
        owners: Owners | None = None,
        names: Callable[[str], str | None] | None = None,
        latest: Callable[[str], AccountState | None] | None = None,
        now: Callable[[], datetime] = utcnow,
        workers: int = 2,
    ) -> None:
        self.config = config
        self.store = store
        self.poster = poster
        self.client = client
        self.audit = audit
        self.root_access = root_access
        self.owners = owners if owners is not None else Owners(config.owners_file)
        self.names = names or (lambda _account: None)
        self.latest = latest or (lambda _account: None)  # an account's last saved verdict
        self.now = now
        self.spec = rights.ApproverSpec.parse(config.approvers)
        self.me = process_id()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rootkey-remedy")
        self.cache_lock = threading.Lock()
        self.cached: tuple[float, frozenset[str]] | None = None
        self.active_lock = threading.Lock()
        self.active: set[int] = set()  # requests this process is executing or resuming now
        self.last_problem: dict[int, str] = {}  # the sweep's last failure posted per request

    # -- lifecycle (a Background of build_app) ---------------------------------------------------

    def start(self) -> None:
        if not self.config.approvers:
            log.warning("ROOTKEY_APPROVERS is empty: remediation requests cannot be approved")
        self.background(self.resume_interrupted, True)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def background(self, fn: Callable[..., object], *args: object) -> None:
        """Run after the click's ack; a failure is logged with its traceback (a bug)."""

        def report(future: Future[object]) -> None:
            exc = future.exception() if not future.cancelled() else None
            if exc is not None:
                log.error("remediation work %s failed", fn.__name__, exc_info=exc)

        self.pool.submit(fn, *args).add_done_callback(report)

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

    def is_running(self, request_id: int) -> bool:
        with self.active_lock:
            return request_id in self.active

    @property
    def sweep_interval(self) -> float:
        """How often the scheduler should call ``sweep`` (seconds)."""
        ttl = self.config.approval_ttl / 4  # an expiry is seen at most a quarter TTL late
        return max(1.0, min(self.config.recheck_interval, ttl, MAX_SWEEP_INTERVAL))

    # -- Slack plumbing ------------------------------------------------------------------------

    def say(self, req: Request, message: Message) -> None:
        """Post in the request's thread; a Slack failure is logged, never undoes a move."""
        try:
            self.poster.post(req.channel, message, thread_ts=req.thread_ts or req.message_ts)
        except DeliveryError as exc:
            log.error("request #%d: could not post to its thread: %s", req.id, exc.error)

    def refresh_message(self, req: Request, line: str | None = None) -> None:
        """Replace the request message in place (buttons while waiting, else ``line``)."""
        if not req.message_ts:
            return
        zone = self.config.zone
        message = (
            blocks.request_message(req, self.spec.mention(), self.config.required_approvals, zone)
            if req.state is State.REQUESTED
            else blocks.decided_message(
                req, line or blocks.decision_line(req.state, None, self.now(), zone), zone
            )
        )
        try:
            self.poster.update(req.channel, req.message_ts, message)
        except DeliveryError as exc:
            log.error("request #%d: could not update its message: %s", req.id, exc.error)

    def step(self, req: Request, text: str, message: Message | None = None) -> None:
        """One step of the work: logged, then posted to the thread. While executing, each step
        first renews this process's lease (and stops the work if it lost it)."""
        if req.state is State.EXECUTING:
            self.keep_lease(req)
        self.store.note(req.id, BOT_ACTOR, "step", text, self.now())
        self.say(req, message or blocks.thread_note(text))

    def keep_lease(self, req: Request) -> None:
        """Renew this process's execution lease; ``LeaseLost`` when another process has it."""
        if not self.store.renew_lease(req.id, self.me, self.now() + LEASE):
            raise LeaseLost(req.id)

    def moved(self, req: Request, old: State, detail: str, actor: str | None) -> None:
        self.say(req, blocks.transition_note(req, old, detail, actor))

    def move(
        self, req: Request, to: State, actor: str, detail: str, **fields: Any
    ) -> Request | None:
        """Conditional move from ``req.state``; posts it when this call made it."""
        holder = self.me if req.state is State.EXECUTING else None
        moved = self.store.transition(
            req.id, req.state, to, actor, detail, self.now(), holder, **fields
        )
        if moved is not None:
            self.moved(moved, req.state, detail, None if actor == BOT_ACTOR else actor)
        return moved

    # -- approvers -------------------------------------------------------------------------------

    def group_members(self, group: str) -> list[str]:
        try:
            response = self.client.usergroups_users_list(usergroup=group)
        except (SlackApiError, SlackClientError, *TRANSPORT_ERRORS) as exc:
            raise ApproverLookupFailed(
                f"Could not ask Slack who is in approver group {group}; nothing was changed, "
                "try again."
            ) from exc
        return [str(u) for u in response.get("users") or []]

    def approvers(self) -> frozenset[str]:
        with self.cache_lock:
            if self.cached and time.monotonic() - self.cached[0] < APPROVER_CACHE_SECONDS:
                return self.cached[1]
        members = self.spec.resolve(self.group_members)
        with self.cache_lock:
            self.cached = (time.monotonic(), members)
        return members

    # -- the form --------------------------------------------------------------------------------

    def audit_one(self, account_id: str, trigger: str, user: str | None = None) -> AuditResult:
        return self.audit.run(Scope(kind="accounts", account_ids=(account_id,)), trigger, user)

    @staticmethod
    def verdict_of(result: AuditResult, account_id: str) -> Verdict:
        for verdict in result.verdicts:
            if verdict.account_id == account_id:
                return verdict
        return Verdict(account_id, Status.ERROR, "the audit returned no verdict", "aws")

    def open_form(
        self, ctx: blocks.FormContext, user: str, trigger_id: str, view_id: str | None = None
    ) -> None:
        """Open the request modal at once (a trigger id lasts 3 s), then fill it after a fresh
        audit of the account; ``view_id`` replaces an open form instead."""
        if view_id is None:
            opened = self.client.views_open(trigger_id=trigger_id, view=blocks.loading_modal())
            view_id = opened["view"]["id"]
        result = self.audit_one(ctx.account_id, "button", user)
        verdict = self.verdict_of(result, ctx.account_id)
        if verdict.status is Status.COMPLIANT:
            view = blocks.info_modal(
                f":white_check_mark: A fresh audit finds no root access key in "
                f"{ctx.account_id}: nothing to remediate or to accept."
            )
        elif verdict.status is Status.ERROR:
            view = blocks.info_modal(
                f":warning: Could not audit {ctx.account_id}, so no request can be made: "
                f"{blocks.escape(verdict.reason)}"
            )
        elif ctx.kind is Kind.REMEDIATION:
            mode, why = self.mode_for(result.features)
            view = blocks.remediation_modal(ctx, verdict, mode, why, self.now())
        else:
            owner = self.owners.get(ctx.account_id) or user
            view = blocks.exception_modal(ctx, verdict, owner, self.today(), self.now())
        self.client.views_update(view_id=view_id, view=view)

    def today(self) -> date:
        return self.now().astimezone(self.config.zone).date()

    def mode_for(self, features: OrgFeatures) -> tuple[Mode, str]:
        return choose_mode(self.config.remediation, features)

    def prepare(self, kind: Kind, meta: str, view: dict[str, Any], user: str) -> NewRequest:
        """Validate a submitted form; raises ``InvalidInput`` naming the field."""
        try:
            ctx = blocks.FormContext.decode(meta)
        except ValueError:
            raise InvalidInput(
                "reason", "This form is not valid any more; open it again."
            ) from None
        if ctx.kind is not kind:
            raise InvalidInput("reason", "This form is not valid any more; open it again.")
        values = blocks.form_values(view)
        reason = clean_reason(values.get("reason"))
        ticket = clean_ticket(values.get("ticket"))
        owner = None
        until = None
        if kind is Kind.EXCEPTION:
            raw = values.get("until") or ""
            try:
                picked = date.fromisoformat(raw)
            except ValueError:
                raise InvalidInput("until", "Pick the date the exception ends.") from None
            until = exception_end(picked, self.today())
            owner = values.get("owner") or user
            if not is_user_id(owner):
                raise InvalidInput(
                    "owner", "Pick the risk owner from the list: a Slack user (U... or W...)."
                )
        self.refuse_if_open(kind, ctx.account_id)
        prints = self.keys_to_record(kind, ctx.account_id)
        now = self.now()
        return NewRequest(
            kind=kind,
            account_id=ctx.account_id,
            account_name=self.names(ctx.account_id),
            requester=user,
            reason=reason,
            channel=ctx.channel,
            thread_ts=ctx.thread_ts,
            expires_at=now + timedelta(seconds=self.config.approval_ttl),
            ticket_url=ticket,
            owner=owner,
            exception_until=until,
            dry_run=kind is Kind.REMEDIATION and self.config.dry_run,
            key_prints=prints,
        )

    def keys_to_record(self, kind: Kind, account_id: str) -> tuple[KeyPrint, ...]:
        """The keys a new request is about: those of the account's last audit (the one the
        form showed). Raises ``InvalidInput`` when that audit shows nothing to ask about."""
        state = self.latest(account_id)
        if state is None or state.status is not Status.NONCOMPLIANT:
            raise InvalidInput(
                "reason",
                f"The last audit of {account_id} does not show a root access key any more; "
                "open the form again.",
            )
        if kind is Kind.EXCEPTION and not state.keys:
            raise InvalidInput(
                "reason",
                f"rootkey cannot see which root access keys {account_id} has (no credential "
                "report detail), so an exception could not be limited to them. Ask again once "
                "a check shows the keys.",
            )
        return prints_of(state.keys)

    def refuse_if_open(self, kind: Kind, account_id: str) -> None:
        """``InvalidInput`` naming the open request of this kind for the account, if any."""
        for other in self.store.find(OPEN_FOR_ACCOUNT, kind=kind, account_id=account_id):
            raise InvalidInput(
                "reason", f"Request #{other.id} for {account_id} is already {other.state.value}."
            )

    def create(self, new: NewRequest) -> Request:
        """Save the request and post it, with its buttons, in the finding's thread. Two
        requests for one account submitted at the same moment: the second is refused with the
        same line as the form gives."""
        if new.kind is Kind.REMEDIATION:
            new = replace(new, mode=self.mode_for(self.features())[0])
        try:
            req = self.store.create(new, self.now())
        except AlreadyOpen as exc:
            self.refuse_if_open(new.kind, new.account_id)
            raise InvalidInput("reason", str(exc)) from None  # closed again meanwhile
        message = blocks.request_message(
            req, self.spec.mention(), self.config.required_approvals, self.config.zone
        )
        try:
            posted = self.poster.post(req.channel, message, thread_ts=req.thread_ts)
        except DeliveryError as exc:
            log.error("request #%d: could not post it: %s", req.id, exc.error)
            # Nobody could approve it: close it at once, so that asking again is possible.
            closed = self.store.transition(
                req.id, State.REQUESTED, State.EXPIRED, BOT_ACTOR,
                f"could not be posted ({exc.error})", self.now(),
            )  # fmt: skip
            self.dm(
                req.requester,
                f":warning: rootkey could not post request #{req.id} in <#{req.channel}> "
                f"({blocks.escape(exc.error)}), so nobody could approve it; it is closed. "
                "Invite the bot to the channel and ask again.",
            )
            return closed or req
        if posted.ts:
            self.store.set_message(req.id, posted.ts, req.thread_ts or posted.ts)
        return self.store.get(req.id)

    def features(self) -> OrgFeatures:
        if self.config.remediation != Mode.ASSUME_ROOT.value or self.root_access is None:
            return OrgFeatures()
        try:
            return self.root_access.features()
        except RootAccessError as exc:
            log.warning("could not read the Organization features: %s", exc)
            return OrgFeatures()

    # -- decisions -------------------------------------------------------------------------------

    def refuse(self, req: Request, user: str, what: str, exc: RemediationError) -> NoReturn:
        """Log a refused click (the request itself is not touched) and re-raise it."""
        self.store.note(req.id, user, "refused", f"{what} refused: {exc}", self.now())
        raise exc

    def fresh(self, request_id: int) -> Request:
        """The request as stored now, expired first if its approval time ran out."""
        req = self.store.get(request_id)
        if req.state is State.REQUESTED and req.expires_at <= self.now():
            self.expire(req)
            req = self.store.get(request_id)
        return req

    def approve(self, request_id: int, user: str) -> Request:
        req = self.fresh(request_id)
        try:
            rights.check_approve(req, user, self.approvers(), self.spec.mention())
        except (NotAllowed, StaleState, ApproverLookupFailed) as exc:
            self.refuse(req, user, "approve", exc)
        outcome = self.store.approve(req.id, user, self.config.required_approvals, self.now())
        if not outcome.counted:  # another click got there first
            now_req = outcome.request
            if now_req.state is State.REQUESTED:
                exc = NotAllowed(f"You already approved request #{req.id}.")
            else:
                exc = StaleState(req.id, now_req.state.value, "approve")
            self.refuse(now_req, user, "approve", exc)
        done = outcome.request
        if not outcome.approved:
            left = rights.remaining_approvals(done, self.config.required_approvals)
            self.refresh_message(done)
            self.say(
                done,
                blocks.thread_note(
                    f":ballot_box_with_check: <@{user}> approved request #{done.id}; "
                    f"{left} more approval{'s' if left != 1 else ''} needed."
                ),
            )
            return done
        line = blocks.decision_line(State.APPROVED, user, self.now(), self.config.zone)
        self.refresh_message(done, line)
        self.moved(done, State.REQUESTED, f"{len(done.approvals)} approval(s)", user)
        if done.kind is Kind.EXCEPTION:
            self.say(
                done,
                blocks.thread_note(
                    f":shield: Risk accepted for {done.account_id} until "
                    f"{blocks.when(done.exception_until, self.config.zone)}, owner "
                    f"<@{done.owner or done.requester}>. The account is shown apart until then."
                ),
            )
        else:
            self.background(self.proceed, done.id)
        return done

    def reject(self, request_id: int, user: str) -> Request:
        req = self.fresh(request_id)
        try:
            rights.check_reject(req, user, self.approvers(), self.spec.mention())
        except (NotAllowed, StaleState, ApproverLookupFailed) as exc:
            self.refuse(req, user, "reject", exc)
        moved = self.store.transition(
            req.id, State.REQUESTED, State.REJECTED, user, "rejected", self.now()
        )
        if moved is None:
            current = self.store.get(req.id)
            self.refuse(current, user, "reject", StaleState(req.id, current.state.value, "reject"))
        self.refresh_message(
            moved, blocks.decision_line(State.REJECTED, user, self.now(), self.config.zone)
        )
        self.moved(moved, State.REQUESTED, "nothing will be changed", user)
        return moved

    def expire(self, req: Request) -> Request | None:
        ttl = blocks.when(req.expires_at, self.config.zone)
        moved = self.move(req, State.EXPIRED, BOT_ACTOR, f"not decided by {ttl}")
        if moved is not None:
            self.refresh_message(
                moved, blocks.decision_line(State.EXPIRED, None, self.now(), self.config.zone)
            )
        return moved

    # -- after approval --------------------------------------------------------------------------

    def proceed(self, request_id: int) -> None:
        """Start the work of an approved remediation: execute (assume-root) or track."""
        req = self.store.get(request_id)
        if req.state is not State.APPROVED:
            return
        if req.mode is Mode.ASSUME_ROOT:
            features = self.features()
            mode, why = self.mode_for(features)
            if mode is Mode.ASSUME_ROOT:
                self.execute(req)
                return
            self.step(
                req, f":information_source: Cannot act as root now ({why}); tracking instead."
            )
        self.track(req)

    def track(self, req: Request) -> None:
        owner = self.owners.get(req.account_id)
        assignee = owner or req.requester
        source = "owner from ROOTKEY_OWNERS" if owner else "the requester"
        moved = self.move(
            req, State.TRACKING, BOT_ACTOR, f"assigned to {assignee} ({source})",
            assignee=assignee, checked_at=self.now(),
        )  # fmt: skip
        if moved is None:
            return
        verdict = self.verdict_of(self.audit_one(req.account_id, "recheck"), req.account_id)
        self.say(moved, blocks.tracked_steps(moved, verdict))
        self.dm(
            assignee,
            f"You have been assigned remediation request #{moved.id}: remove the root access "
            f"keys of {moved.account_id}. The steps are in the thread.",
        )
        self.progress(moved, verdict, None)  # already deactivated or deleted meanwhile

    def dm(self, user: str, text: str) -> None:
        try:
            self.poster.post(user, blocks.thread_note(text))
        except DeliveryError as exc:
            log.warning("could not message %s: %s", user, exc.error)

    def execute(self, req: Request) -> None:
        """assume-root: AssumeRoot, list keys with last use, delete (unless dry run), re-audit.

        Whatever goes wrong ends in a state the thread explains: ``failed`` with the reason, or
        (the database failing) the lease handed back so that the resume path re-audits it."""
        with self.running(req.id):  # marked before the move: no sweep here may resume it
            until = self.now() + LEASE
            running = self.move(
                req, State.EXECUTING, BOT_ACTOR, "deleting through centralized root access",
                lease_owner=self.me, lease_until=until,
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
                self.say(running, blocks.thread_note(f":information_source: {exc}"))

    def give_up(self, req: Request, why: str, deleted: list[str]) -> None:
        """End an execution as failed, saying what was deleted before it stopped."""
        done = f"; already deleted: {', '.join(deleted)}" if deleted else "; no key was deleted"
        try:
            failed = self.move(req, State.FAILED, BOT_ACTOR, why + done)
        except StoreError as exc:
            self.hand_back(req, exc)
            return
        if failed is None:  # another process holds the request now: it finishes it
            lost = LeaseLost(req.id)
            log.warning("request #%d: %s (%s)", req.id, lost, why)
            self.say(req, blocks.thread_note(f":information_source: {lost} ({why}{done})"))

    def hand_back(self, req: Request, exc: StoreError) -> None:
        """The database failed mid-execution: say so in the thread and hand the lease back, so
        the next sweep (of any process) re-audits the account and finishes the request."""
        log.error("request #%d: database failure while executing: %s", req.id, exc)
        self.say(
            req,
            blocks.thread_note(
                f":warning: Request #{req.id} stopped: rootkey's database failed "
                f"({blocks.escape(str(exc))}). It stays executing; as soon as the database "
                "answers, the account is re-audited and the request finished or put back to "
                "approved."
            ),
        )
        try:
            self.store.release_lease(req.id, self.me, self.now())
        except StoreError as again:
            log.error("request #%d: could not hand back its lease: %s", req.id, again)

    def run_root_session(self, req: Request, deleted: list[str]) -> None:
        assert self.root_access is not None
        dry = req.dry_run  # as saved when it was requested (and shown to the approvers)
        self.step(
            req,
            f":key: Opening a root session in {req.account_id}: sts:AssumeRoot on the "
            f"regional endpoint ({self.root_access.region}), {self.root_access.duration} s, "
            "task policy IAMDeleteRootUserCredentials.",
        )
        session = self.root_access.open(req.account_id)
        listed = session.list_keys()
        described = [k.describe() for k in listed]
        self.store.note(
            req.id, BOT_ACTOR, "step",
            "keys: " + ("; ".join(described) or "none"), self.now(),
        )  # fmt: skip
        self.say(req, blocks.root_keys_note(req, described))
        plan = sort_for_deletion(req.key_prints, [print_of(k) for k in listed])
        if plan.stop:  # a key nobody approved: stop before anything is deleted
            raise RootAccessError(
                "; ".join(foreign_sentence(k, req.key_prints) for k in plan.foreign)
            )
        wanted = {k.key_id for k in plan.matching}
        keys = [k for k in listed if k.key_id in wanted]
        for key in keys:
            if dry:
                self.step(
                    req,
                    f":test_tube: Dry run (ROOTKEY_DRY_RUN=true): would delete {key.masked}; "
                    "nothing was deleted.",
                )
                continue
            self.keep_lease(req)  # never delete under another process's lease
            session.delete_key(key.key_id)
            deleted.append(key.masked)
            self.step(req, f":wastebasket: Deleted {key.masked}.")
        self.step(req, ":mag: Re-auditing the account through the normal audit path.")
        self.finish_execution(req, dry)

    def finish_execution(self, req: Request, dry: bool) -> Request | None:
        verdict = self.verdict_of(self.audit_one(req.account_id, "recheck"), req.account_id)
        progress = key_progress(verdict)
        if progress is KeyProgress.DELETED:
            return self.move(req, State.VERIFIED, BOT_ACTOR, "re-audit: no root access key left")
        if dry:
            detail = (
                "dry run (ROOTKEY_DRY_RUN=true): nothing was deleted; the re-audit still finds "
                f"{len(verdict.keys) or 'a'} root access key(s)"
            )
        elif progress is KeyProgress.UNKNOWN:
            detail = f"re-audit could not read the account: {verdict.reason}"
        else:
            detail = f"re-audit still finds {len(verdict.keys) or 'a'} root access key(s)"
        return self.move(req, State.FAILED, BOT_ACTOR, detail)

    # -- tracked: verify and recheck --------------------------------------------------------------

    def verify(self, request_id: int, user: str) -> Request:
        """ "I've done it, verify now": re-audit a tracked request at once."""
        req = self.store.get(request_id)
        if req.state not in TRACKED_STATES:
            self.refuse(req, user, "verify", StaleState(req.id, req.state.value, "verify"))
        self.store.note(req.id, user, "note", "asked to verify now", self.now())
        return self.recheck(req, user) or self.store.get(req.id)

    def recheck(self, req: Request, asked_by: str | None = None) -> Request | None:
        verdict = self.verdict_of(
            self.audit_one(req.account_id, "recheck", asked_by), req.account_id
        )
        return self.progress(req, verdict, asked_by)

    def progress(self, req: Request, verdict: Verdict, asked_by: str | None) -> Request | None:
        """Move a tracked request to where a re-audit shows its keys (posting the move)."""
        progress = key_progress(verdict)
        target = tracked_target(req.state, progress)
        if target is None:
            if asked_by:
                words = {
                    KeyProgress.ACTIVE: "a root access key is still active",
                    KeyProgress.DEACTIVATED: "the keys are deactivated but not deleted yet",
                    KeyProgress.UNKNOWN: f"the account could not be read ({verdict.reason})",
                }[progress]
                text = f":mag: Checked request #{req.id} for <@{asked_by}>: {blocks.escape(words)}."
                self.say(req, blocks.thread_note(text))
            return None
        detail = {
            State.DEACTIVATED: "re-audit: keys present but deactivated",
            State.VERIFIED: "re-audit: no root access key left (deleted)",
            State.TRACKING: "re-audit: a key is active again (reactivated)",
        }[target]
        moved = self.move(req, target, BOT_ACTOR, detail)
        if moved is not None and target is State.DEACTIVATED:
            self.say(moved, blocks.back_out_note(moved))
        return moved

    # -- the scheduler's sweep ------------------------------------------------------------------

    def sweep(self) -> None:
        """Expire, end exceptions, recheck tracked accounts, remind; each request on its own."""
        now = self.now()
        for req in self.store.overdue(now):
            self.guard(req, self.expire)
        for req in self.store.lapsed_exceptions(now):
            self.guard(req, self.end_exception)
        interval = timedelta(seconds=self.config.recheck_interval)
        for req in self.store.due_rechecks(now, interval):
            if self.store.claim_recheck(req, now):
                self.guard(req, self.recheck)
        for req in self.store.find(TRACKED_STATES, kind=Kind.REMEDIATION):
            self.guard(req, self.remind)
        self.resume_interrupted(False)

    def guard(
        self, req: Request, action: Callable[[Request], object], what: str | None = None
    ) -> None:
        """One request's failure (AWS, audit, Slack, database) must not stop the others. The
        request keeps its state, the next sweep tries again, and the thread says why (once per
        distinct failure, not on every sweep)."""
        try:
            action(req)
        except (RemediationError, RootAccessError, AuditFailed, StoreError, DeliveryError) as exc:
            log.error("request #%d: %s", req.id, exc)
            problem = f"{type(exc).__name__}: {exc}"
            if self.last_problem.get(req.id) == problem:
                return
            self.last_problem[req.id] = problem
            what = what or getattr(action, "__name__", "work").replace("_", " ")
            self.say(
                req,
                blocks.thread_note(
                    f":warning: Could not {blocks.escape(what)} request "
                    f"#{req.id} ({blocks.escape(str(exc))}); it stays {req.state.value} and "
                    "rootkey tries again on its next sweep."
                ),
            )
        else:
            self.last_problem.pop(req.id, None)

    def end_exception(self, req: Request) -> None:
        self.move(req, State.EXPIRED, BOT_ACTOR, "the exception ran out; the account counts again")

    def remind(self, req: Request) -> None:
        since = max((a.at for a in req.approvals), default=req.created_at)
        waited = (self.now() - since).total_seconds()
        after = self.config.reminder_after
        if waited >= after and self.store.claim_reminder(req.id, "assignee", self.now()):
            text = (
                f":bell: <@{req.assignee}>, request #{req.id} still waits for the root access "
                f"keys of {req.account_id} to be removed ({req.state.value})."
            )
            self.say(req, blocks.thread_note(text))
            if req.assignee:
                self.dm(req.assignee, text)
        if waited >= 2 * after and self.store.claim_reminder(req.id, "approvers", self.now()):
            self.say(req, blocks.thread_note(
                f":bell: {self.spec.mention()}: request #{req.id} ({req.account_id}) is still "
                f"{req.state.value}, assigned to <@{req.assignee}>, {elapsed(waited)} "
                "after approval."
            ))  # fmt: skip

    def resume_interrupted(self, at_start: bool) -> None:
        """Requests left in ``executing`` by a process that is gone: re-audit and finish them,
        or put them back to approved (with a note) and execute again. Approved requests that
        never started are started."""
        now = self.now()
        for req in self.store.executing():
            with self.running(req.id) as fresh:
                if not fresh:
                    continue  # this process is executing it right now
                ours = req.lease_owner == self.me  # ours, but its work here has ended
                expired = req.lease_until is None or req.lease_until <= now
                if not (ours or expired or process_gone(req.lease_owner, self.me)):
                    continue
                self.guard(req, self.resume_one, "resume")
        # Approved but never started (a restart right after the approval click): start now.
        # The moves out of approved are conditional, so a process that is starting it at this
        # very moment and this one cannot both do it.
        for req in self.store.find([State.APPROVED], kind=Kind.REMEDIATION):
            if at_start or req.state_since <= now - STALLED:
                log.info("request #%d: approved but not started; starting it", req.id)
                self.guard(req, lambda r: self.proceed(r.id), "start")

    def resume_one(self, req: Request) -> None:
        """Take the lease of an interrupted execution (if it is still as we saw it) and resume."""
        if not self.store.take_over(req, self.me, self.now() + LEASE):
            return
        log.info("request #%d: resuming an interrupted execution", req.id)
        self.resume(self.store.get(req.id), restarted=req.lease_owner != self.me)

    def resume(self, req: Request, restarted: bool = True) -> None:
        why = (
            "rootkey restarted while this request was executing"
            if restarted
            else "the execution of this request stopped before it ended"
        )
        self.step(
            req,
            f":arrows_counterclockwise: {why}; re-auditing the account to see where it stands.",
        )
        verdict = self.verdict_of(self.audit_one(req.account_id, "recheck"), req.account_id)
        if key_progress(verdict) is KeyProgress.DELETED:
            self.move(req, State.VERIFIED, BOT_ACTOR, "after restart: re-audit finds no root key")
            return
        back = self.move(
            req, State.APPROVED, BOT_ACTOR,
            "interrupted by a restart; the re-audit still finds a root key, so the request is "
            "back to approved and runs again",
        )  # fmt: skip
        if back is not None:
            self.proceed(back.id)

    # -- reading -------------------------------------------------------------------------------

    def open_requests(self) -> list[Request]:
        return self.store.open_requests()

    def active_exceptions(self) -> list[RiskException]:
        """Accounts to show apart in results and digests until their exception ends."""
        return self.store.active_exceptions(self.now())

    def not_covering(self, exceptions: list[RiskException]) -> dict[int, str]:
        """Request id -> why an accepted risk no longer covers its account's last verdict."""
        lapsed: dict[int, str] = {}
        for exc in exceptions:
            state = self.latest(exc.account_id)
            if state is None or state.status is not Status.NONCOMPLIANT:
                continue
            cover = coverage(state.status, state.keys, exc.key_prints)
            if not cover.covered:
                lapsed[exc.request_id] = cover.why
        return lapsed

    def status(self) -> Message:
        exceptions = self.active_exceptions()
        return blocks.status_message(
            self.open_requests(), exceptions, self.config.zone, self.not_covering(exceptions)
        )

    def revoke(self, request_id: int, user: str) -> Request:
        """End an accepted risk before its date (an approver or the risk owner, from
        ``/rootkey status``): the account counts again at once."""
        req = self.store.get(request_id)
        try:
            rights.check_revoke(req, user, self.approvers(), self.spec.mention())
        except (NotAllowed, StaleState, ApproverLookupFailed) as exc:
            self.refuse(req, user, "revoke", exc)
        moved = self.move(
            req, State.EXPIRED, user, "exception revoked before its end; the account counts again"
        )
        if moved is None:
            current = self.store.get(req.id)
            self.refuse(current, user, "revoke", StaleState(req.id, current.state.value, "revoke"))
        return moved


class RemediationSweep:
    """The periodic sweep (expiry, exception ends, tracked rechecks, reminders, stale
    executions) on an APScheduler interval; starts and stops with the bot."""

    def __init__(self, service: RemediationService) -> None:
        self.service = service
        self.scheduler: BackgroundScheduler | None = None

    def start(self) -> None:
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(
            self.service.sweep,
            IntervalTrigger(seconds=self.service.sweep_interval),
            id="rootkey-remediation-sweep",
            name="remediation sweep",
            coalesce=True,
            max_instances=1,
        )
        scheduler.add_listener(self.job_failed, EVENT_JOB_ERROR)
        scheduler.start()
        self.scheduler = scheduler

    def shutdown(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None

    @staticmethod
    def job_failed(event: JobExecutionEvent) -> None:
        log.error("remediation sweep failed", exc_info=event.exception)


def attach_remediation(services: Any) -> None:
    """Give the bot its remediation flow (buttons, modals, `/rootkey status`) and its sweep.
    Needs the SQL store; without it the buttons say remediation is not enabled."""
    from bot.store import Store

    store = services.store
    if not isinstance(store, Store):
        log.info("no remediation: it needs the store (DATABASE_URL)")
        return
    config = services.config
    root_access = (
        RootAccess(config.aws_region) if config.remediation == Mode.ASSUME_ROOT.value else None
    )
    service = RemediationService(
        config,
        RemediationStore(store.engine),
        services.poster,
        services.client,
        services.audit,
        root_access=root_access,
        names=lambda account: getattr(store.latest_state(account), "account_name", None),
        latest=store.latest_state,
    )
    services.remediation = service
    services.background.extend([service, RemediationSweep(service)])
