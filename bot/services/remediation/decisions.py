"""Decisions on requests: the form a fresh audit allows, a submitted form checked, the request
saved and posted, approvals and rejections (rights checked on the server for every click) and
expiry. Clicks carry only a request id: each one reloads the request and checks its state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, NoReturn

from bot.audit.models import Status
from bot.records.remediation import BOT_ACTOR, OPEN_FOR_ACCOUNT, NewRequest
from bot.remediation import rights
from bot.remediation.errors import (
    AlreadyOpen,
    ApproverLookupFailed,
    InvalidInput,
    NotAllowed,
    RemediationError,
    StaleState,
)
from bot.remediation.events import (
    AlreadyRequested,
    CannotAudit,
    ExceptionOffer,
    FormContext,
    FormOutcome,
    NothingToRemedy,
    RemediationOffer,
    RequestForm,
)
from bot.remediation.keys import KeyPrint, prints_of
from bot.remediation.models import Conversation, Request
from bot.remediation.notices import (
    ApprovalCounted,
    FindingSettled,
    RequestMoved,
    RequestNotPosted,
    RiskAccepted,
)
from bot.remediation.progress import (
    clean_optional_reason,
    clean_reason,
    clean_ticket,
    exception_end,
)
from bot.remediation.states import TRACKED_STATES, Kind, State
from bot.rules import is_user_id
from bot.services.ports import ApproverDirectory, NotDelivered
from bot.services.remediation.core import Core, verdict_of
from bot.services.remediation.owners import Owners

if TYPE_CHECKING:
    from bot.services.remediation.execution import Execution

log = logging.getLogger(__name__)


def approvals_word(count: int) -> str:
    return f"{count} approval" + ("" if count == 1 else "s")


class Decisions:
    def __init__(
        self,
        core: Core,
        execution: Execution,
        directory: ApproverDirectory,
        owners: Owners,
        names: Callable[[str], str | None],
    ) -> None:
        self.core = core
        self.execution = execution
        self.directory = directory
        self.owners = owners
        self.names = names

    # -- approvers -------------------------------------------------------------------------------

    def approvers(self) -> frozenset[str]:
        """Who approves at this moment: ``ROOTKEY_APPROVERS`` as configured now, each approver
        group's members asked of Slack afresh (a decision never rests on a cached list)."""
        return self.core.spec.resolve(self.directory.members)

    # -- the form --------------------------------------------------------------------------------

    def today(self) -> date:
        return self.core.now().astimezone(self.core.config.zone).date()

    def form(self, ctx: FormContext, user: str) -> FormOutcome:
        """What the request form offers after a fresh audit of the account; an open request
        of the same kind is said before any audit (a form that could not be sent is never
        shown to be filled in)."""
        for other in self.open_for(ctx.kind, ctx.account_id):
            return AlreadyRequested(ctx.account_id, other.id, other.state.value, other.where)
        result = self.core.audit_one(ctx.account_id, "button", user)
        verdict = verdict_of(result, ctx.account_id)
        if verdict.status is Status.COMPLIANT:
            return NothingToRemedy(ctx.account_id)
        if verdict.status is Status.ERROR:
            return CannotAudit(ctx.account_id, verdict.reason)
        if ctx.kind is Kind.REMEDIATION:
            mode, why = self.core.mode_for(result.features)
            return RemediationOffer(ctx, verdict, mode, why, self.core.now())
        owner = self.owners.get(ctx.account_id) or user
        return ExceptionOffer(ctx, verdict, owner, self.today(), self.core.now())

    def prepare(self, form: RequestForm, user: str) -> NewRequest:
        """Validate a submitted form; raises ``InvalidInput`` naming the field."""
        config, ctx = self.core.config, form.context
        kind = ctx.kind
        reason = clean_reason(form.reason)
        ticket = clean_ticket(form.ticket, config.ticket_url)
        owner = None
        until = None
        if kind is Kind.EXCEPTION:
            try:
                picked = date.fromisoformat(form.until or "")
            except ValueError:
                raise InvalidInput("until", "Pick the date the exception ends.") from None
            until = exception_end(picked, self.today())
            owner = form.owner or user
            if not is_user_id(owner):
                raise InvalidInput(
                    "owner", "Pick the risk owner from the list: a Slack user (U... or W...)."
                )
        where = self.where_to_post(ctx.where)
        self.refuse_if_open(kind, ctx.account_id)
        prints = self.keys_to_record(kind, ctx.account_id)
        now = self.core.now()
        return NewRequest(
            kind=kind,
            account_id=ctx.account_id,
            account_name=self.names(ctx.account_id),
            requester=user,
            reason=reason,
            where=where,
            expires_at=now + timedelta(seconds=config.approval_ttl),
            ticket_url=ticket,
            owner=owner,
            exception_until=until,
            dry_run=kind is Kind.REMEDIATION and config.dry_run,
            key_prints=prints,
        )  # the requester's name is asked of Slack in ``create``, after the form's ack

    def where_to_post(self, where: Conversation) -> Conversation:
        """Where a request is posted: in ``ROOTKEY_REQUEST_CHANNEL`` when set, else in the
        finding's thread, which must be where approvers can see it (never a direct message
        with the bot, where no approver would see it while it blocks other requests for the
        account: the notifier knows which conversations those are)."""
        if self.core.config.request_channel:
            where = Conversation(self.core.config.request_channel)
        elif not self.core.notifier.can_post_in(where):
            raise InvalidInput(
                "reason",
                "Requests are posted where the approvers see them: run the check in a channel "
                "(with the bot invited) and ask from its result there, not from a direct message.",
            )
        self.refuse_unless_an_approver_reads(where.place)
        return where

    def home_channel(self) -> str | None:
        """Where a request made from the Home tab (no channel of its own) is posted:
        ``ROOTKEY_REQUEST_CHANNEL``, else the digest channel; None when neither is set."""
        config = self.core.config
        return config.request_channel or config.digest_channel

    def refuse_unless_an_approver_reads(self, channel: str) -> None:
        """A request in a private channel or group DM that no approver is in would wait there
        unseen (and block every other request for the account): ``InvalidInput`` naming why.
        A public channel is readable by everyone; a directory that cannot say refuses nothing."""
        members = self.directory.private_members(channel)
        if members is None:
            return
        try:
            approvers = self.approvers()
        except ApproverLookupFailed:
            return  # the approval itself checks again
        if not approvers & members:
            raise InvalidInput(
                "reason",
                f"No approver is a member of {channel}, the private conversation where the "
                "request would be posted: nobody could approve it there. Invite an approver "
                "(or ask from a channel they are in), then submit again.",
            )

    def cancel(self, request_id: int, user: str) -> Request:
        """The requester withdraws their request, or an approver cancels it (any open state
        but executing): nothing will be changed, and the account may be asked about again."""
        core = self.core
        req = core.store.get(request_id)
        try:
            approvers = frozenset() if user == req.requester else self.approvers()
            rights.check_cancel(req, user, approvers, core.naming())
        except (NotAllowed, StaleState, ApproverLookupFailed) as exc:
            self.refuse(req, user, "cancel", exc)
        how = "withdrawn by the requester" if user == req.requester else "cancelled by an approver"
        detail = f"{how}; nothing will be changed"
        moved = core.store.transition(
            req.id, req.state, State.CANCELLED, user, detail, core.now(),
            actor_name=core.name_of(user),
        )  # fmt: skip
        if moved is None:
            current = core.store.get(req.id)
            self.refuse(current, user, "cancel", StaleState(req.id, current.state.value, "cancel"))
        core.refresh(moved, user)
        core.notifier.notify(moved, RequestMoved(req.state, detail, user))
        return moved

    def keys_to_record(self, kind: Kind, account_id: str) -> tuple[KeyPrint, ...]:
        """The keys a new request is about: those of the account's last audit (the one the
        form showed). Raises ``InvalidInput`` when that audit shows nothing to ask about."""
        state = self.core.latest(account_id)
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

    def open_for(self, kind: Kind, account_id: str) -> list[Request]:
        """The account's open requests of ``kind`` (one at most: the store refuses a second)."""
        return self.core.store.find(OPEN_FOR_ACCOUNT, kind=kind, account_id=account_id)

    def refuse_if_open(self, kind: Kind, account_id: str) -> None:
        """``InvalidInput`` naming the open request of this kind for the account, if any."""
        for other in self.open_for(kind, account_id):
            raise InvalidInput(
                "reason", f"Request #{other.id} for {account_id} is already {other.state.value}."
            )

    def create(self, new: NewRequest) -> Request:
        """Save the request and post it, with its buttons, in the finding's thread. Two
        requests for one account submitted at the same moment: the second is refused with the
        same line as the form gives."""
        core = self.core
        new = replace(new, requester_name=core.name_of(new.requester))
        if new.kind is Kind.REMEDIATION:
            new = replace(new, mode=core.mode_for(core.features())[0])
        try:
            req = core.store.create(new, core.now())
        except AlreadyOpen as exc:
            self.refuse_if_open(new.kind, new.account_id)
            raise InvalidInput("reason", str(exc)) from None  # closed again meanwhile
        try:
            where = core.notifier.open(req)
        except NotDelivered as exc:
            log.error("request #%d: could not post it: %s", req.id, exc.error)
            # Nobody could approve it: close it at once, so that asking again is possible.
            closed = core.store.transition(
                req.id, State.REQUESTED, State.EXPIRED, BOT_ACTOR,
                f"could not be posted ({exc.error})", core.now(),
            )  # fmt: skip
            core.notifier.notify(req, RequestNotPosted(exc.error))
            return closed or req
        core.store.set_place(req.id, where)
        return core.store.get(req.id)

    # -- clicks ----------------------------------------------------------------------------------

    def refuse(self, req: Request, user: str, what: str, exc: RemediationError) -> NoReturn:
        """Log a refused click (the request itself is not touched) and re-raise it."""
        core = self.core
        detail = f"{what} refused: {exc}"  # str(exc): the plain line, names and ids
        core.store.note(req.id, user, "refused", detail, core.now(), core.name_of(user))
        raise exc

    def fresh(self, request_id: int) -> Request:
        """The request as stored now, expired first if its approval time ran out."""
        req = self.core.store.get(request_id)
        if req.state is State.REQUESTED and req.expires_at <= self.core.now():
            self.expire(req)
            req = self.core.store.get(request_id)
        return req

    def may_approve(self, request_id: int, user: str) -> Request:
        """The first step of an approval, before anyone is asked to confirm a deletion: the
        request when ``user`` may approve it now; else the refusal, logged and raised (the
        requester, a stranger, a decided request are refused before any confirmation)."""
        req = self.fresh(request_id)
        try:
            rights.check_approve(req, user, self.approvers(), self.core.naming())
        except (NotAllowed, StaleState, ApproverLookupFailed) as exc:
            self.refuse(req, user, "approve", exc)
        return req

    def may_reject(self, request_id: int, user: str) -> Request:
        """The first step of a rejection, before the reason is asked for: the request when
        ``user`` may reject it now; else the refusal, logged and raised."""
        req = self.fresh(request_id)
        try:
            rights.check_reject(req, user, self.approvers(), self.core.naming())
        except (NotAllowed, StaleState, ApproverLookupFailed) as exc:
            self.refuse(req, user, "reject", exc)
        return req

    def approve(self, request_id: int, user: str) -> Request:
        core = self.core
        required = core.config.required_approvals
        req = self.fresh(request_id)
        try:
            approvers = self.approvers()
            rights.check_approve(req, user, approvers, core.naming())
        except (NotAllowed, StaleState, ApproverLookupFailed) as exc:
            self.refuse(req, user, "approve", exc)
        # Only people who are approvers now count towards the decision.
        outcome = core.store.approve(
            req.id, user, required, core.now(), approvers=approvers, user_name=core.name_of(user)
        )
        if not outcome.counted:  # another click got there first
            now_req = outcome.request
            refusal: RemediationError = (
                NotAllowed(f"You already approved request #{req.id}.")
                if now_req.state is State.REQUESTED
                else StaleState(req.id, now_req.state.value, "approve")
            )
            self.refuse(now_req, user, "approve", refusal)
        done = outcome.request
        if not outcome.approved:
            core.refresh(done)
            left = rights.remaining_approvals(done, required, approvers)
            core.notifier.notify(done, ApprovalCounted(user, left))
            return done
        core.refresh(done, user)
        said = approvals_word(len(done.approvals))
        core.notifier.notify(done, RequestMoved(State.REQUESTED, said, user))
        if done.kind is Kind.EXCEPTION:
            core.notifier.notify(done, RiskAccepted())
            core.notifier.notify(done, FindingSettled())
        else:
            core.background(self.execution.proceed, done.id)
        return done

    def reject(self, request_id: int, user: str, reason: str | None = None) -> Request:
        """Reject a waiting request (rights checked again); ``reason``, optional, is written
        in the rejection's log line and said in the thread."""
        core = self.core
        why = clean_optional_reason(reason)
        req = self.may_reject(request_id, user)
        detail = f"rejected: {why}" if why else "rejected"
        moved = core.store.transition(
            req.id, State.REQUESTED, State.REJECTED, user, detail, core.now(),
            actor_name=core.name_of(user),
        )  # fmt: skip
        if moved is None:
            current = core.store.get(req.id)
            self.refuse(current, user, "reject", StaleState(req.id, current.state.value, "reject"))
        core.refresh(moved, user)
        said = (
            f"Reason: {why.rstrip('.')}. Nothing will be changed"
            if why
            else "nothing will be changed"
        )
        core.notifier.notify(moved, RequestMoved(State.REQUESTED, said, user))
        return moved

    def revoke(self, request_id: int, user: str) -> Request:
        """End an accepted risk before its date (an approver or the risk owner, from
        ``/rootkey status``): the account counts again at once."""
        core = self.core
        req = core.store.get(request_id)
        try:
            rights.check_revoke(req, user, self.approvers(), core.naming())
        except (NotAllowed, StaleState, ApproverLookupFailed) as exc:
            self.refuse(req, user, "revoke", exc)
        moved = core.move(
            req, State.EXPIRED, user, "exception revoked before its end; the account counts again"
        )
        if moved is None:
            current = core.store.get(req.id)
            self.refuse(current, user, "revoke", StaleState(req.id, current.state.value, "revoke"))
        return moved

    def verify(self, request_id: int, user: str) -> Request:
        """ "I've done it, verify now": re-audit a tracked request at once."""
        core = self.core
        req = core.store.get(request_id)
        if req.state not in TRACKED_STATES:
            self.refuse(req, user, "verify", StaleState(req.id, req.state.value, "verify"))
        core.store.note(req.id, user, "note", "asked to verify now", core.now(), core.name_of(user))
        return self.execution.recheck(req, user) or core.store.get(req.id)

    def expire(self, req: Request) -> Request | None:
        """Not decided in time: expired, and the buttons replaced by the expiry."""
        ttl = req.expires_at.astimezone(self.core.config.zone).strftime("%Y-%m-%d %H:%M %Z")
        moved = self.core.move(req, State.EXPIRED, BOT_ACTOR, f"not decided by {ttl}")
        if moved is not None:
            self.core.refresh(moved)
        return moved
