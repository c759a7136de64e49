"""The Slack side of the remediation notifier port: each notice
(``bot.remediation.notices``) worded with the Block Kit builders (``bot.slack.blocks``) and
posted through the ``Poster`` (retries, deliver-once).

``tell`` picks the renderer by the notice's type (``functools.singledispatch``): one small
function per notice, registered below. A request's notices go to its thread; once it ends its
finding (verified, risk accepted), the finding's entry is updated in place
(``finding.FindingMessages``). A message Slack does not take is logged and never undoes the
move it tells (except the request itself, whose caller closes it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from functools import singledispatch
from zoneinfo import ZoneInfo

from bot.remediation.models import Conversation, Request
from bot.remediation.notices import (
    ApprovalCounted,
    Audience,
    Checked,
    DatabaseFailed,
    ExecutionTakenOver,
    FindingSettled,
    KeysDeactivated,
    Notice,
    Reminder,
    RequestChanged,
    RequestMoved,
    RequestNotPosted,
    RiskAccepted,
    StepDone,
    TrackingStarted,
    WorkFailed,
)
from bot.remediation.rights import ApproverSpec
from bot.remediation.states import State
from bot.services.org_state import OrgState
from bot.slack.blocks import remediation as blocks
from bot.slack.blocks import remediation_events as words
from bot.slack.blocks.common import Message
from bot.slack.notifier.finding import FindingMessages
from bot.slack.poster import DeliveryError, Poster

log = logging.getLogger(__name__)


class SlackRemediationNotifier:
    def __init__(
        self,
        poster: Poster,
        *,
        approvers: ApproverSpec,
        required_approvals: int,
        zone: ZoneInfo,
        current: Callable[[], OrgState] | None = None,
    ) -> None:
        self.poster = poster
        self.approvers = approvers
        self.required_approvals = required_approvals
        self.zone = zone
        # A finding updated in place: its header recounted from the Organization now.
        self.findings = FindingMessages(poster, current)

    # -- plumbing --------------------------------------------------------------------------------

    def say(self, req: Request, message: Message) -> None:
        """Post in the request's thread; a Slack failure is logged, never undoes a move."""
        try:
            self.poster.post(req.where.place, message, thread_ts=req.where.replies_under)
        except DeliveryError as exc:
            log.error("request #%d: could not post to its thread: %s", req.id, exc.error)

    def dm(self, user: str, message: Message) -> None:
        try:
            self.poster.post(user, message)
        except DeliveryError as exc:
            log.warning("could not message %s: %s", user, exc.error)

    def request_message(self, req: Request) -> Message:
        return blocks.request_message(
            req, self.approvers.mention(), self.required_approvals, self.zone
        )

    # -- RemediationNotifier ---------------------------------------------------------------------

    def can_post_in(self, where: Conversation) -> bool:
        """A public or private channel (C..., G...); never a direct message with the bot."""
        return where.place.startswith(("C", "G"))

    def open(self, req: Request) -> Conversation:
        # DeliveryError is the port's NotDelivered: the caller closes the request.
        where = req.where
        ts = self.poster.post(where.place, self.request_message(req), thread_ts=where.thread).ts
        # Posted on its own (ROOTKEY_REQUEST_CHANNEL), the request heads its own thread.
        return replace(where, thread=where.thread or ts, message=ts) if ts else where

    def notify(self, req: Request, notice: Notice) -> None:
        tell(notice, req, self)


# -- one renderer per notice ---------------------------------------------------------------------


@singledispatch
def tell(notice: Notice, req: Request, slack: SlackRemediationNotifier) -> None:
    """Word and post ``notice`` about ``req``; each notice type registers its own."""
    raise TypeError(f"no Slack renderer for {type(notice).__name__}")


@tell.register
def not_posted(notice: RequestNotPosted, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.dm(req.requester, words.not_posted_message(req, notice.error))


@tell.register
def changed(notice: RequestChanged, req: Request, slack: SlackRemediationNotifier) -> None:
    """Replace the request message in place (buttons while waiting, else the decision)."""
    if not req.where.message:
        return
    message = (
        slack.request_message(req)
        if req.state is State.REQUESTED
        else blocks.decided_message(
            req, blocks.decision_line(req.state, notice.actor, notice.at, slack.zone), slack.zone
        )
    )
    try:
        slack.poster.update(req.where.place, req.where.message, message)
    except DeliveryError as exc:
        log.error("request #%d: could not update its message: %s", req.id, exc.error)


@tell.register
def moved(notice: RequestMoved, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.say(req, blocks.transition_note(req, notice.old, notice.detail, notice.actor))


@tell.register
def approval(notice: ApprovalCounted, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.say(req, words.approval_note(req, notice.user, notice.left))


@tell.register
def risk_accepted(notice: RiskAccepted, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.say(req, words.risk_accepted_note(req, slack.zone))


@tell.register
def settled(notice: FindingSettled, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.findings.settle(req)


@tell.register
def step(notice: StepDone, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.say(req, words.step_note(req, notice.step))


@tell.register
def tracking(notice: TrackingStarted, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.say(req, blocks.tracked_steps(req, notice.verdict))
    if req.assignee:
        slack.dm(req.assignee, words.assigned_message(req))


@tell.register
def checked(notice: Checked, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.say(req, words.checked_note(req, notice))


@tell.register
def deactivated(notice: KeysDeactivated, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.say(req, blocks.back_out_note(req))


@tell.register
def taken_over(notice: ExecutionTakenOver, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.say(req, words.lease_lost_note(req, notice.detail))


@tell.register
def database_failed(notice: DatabaseFailed, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.say(req, words.database_failed_note(req, notice.error))


@tell.register
def work_failed(notice: WorkFailed, req: Request, slack: SlackRemediationNotifier) -> None:
    slack.say(req, words.work_failed_note(req, notice.what, notice.error))


@tell.register
def reminder(notice: Reminder, req: Request, slack: SlackRemediationNotifier) -> None:
    if notice.audience is Audience.ASSIGNEE:
        message = words.assignee_reminder(req)
        slack.say(req, message)
        if req.assignee:
            slack.dm(req.assignee, message)
    else:
        slack.say(req, words.approvers_reminder(req, slack.approvers.mention(), notice.waited))
