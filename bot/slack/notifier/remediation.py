"""The Slack side of the use cases' notifier ports: each event worded with the Block Kit
builders (``bot.slack.blocks``) and posted through the ``Poster`` (retries, deliver-once).

A request's events go to its thread; once it ends its finding (verified, risk accepted), the
finding's entry is updated in place (``finding.FindingMessages``). A message Slack does not
take is logged and never undoes the move it tells (except the request itself, whose caller
closes it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.audit.models import Verdict
from bot.remediation.events import Audience, Checked, Step
from bot.remediation.models import Request
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
            self.poster.post(req.channel, message, thread_ts=req.thread_ts or req.message_ts)
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

    def request_opened(self, req: Request) -> str | None:
        # DeliveryError is the port's NotDelivered: the caller closes the request.
        return self.poster.post(req.channel, self.request_message(req), thread_ts=req.thread_ts).ts

    def request_not_posted(self, req: Request, error: str) -> None:
        self.dm(req.requester, words.not_posted_message(req, error))

    def request_changed(self, req: Request, actor: str | None, at: datetime) -> None:
        """Replace the request message in place (buttons while waiting, else the decision)."""
        if not req.message_ts:
            return
        message = (
            self.request_message(req)
            if req.state is State.REQUESTED
            else blocks.decided_message(
                req, blocks.decision_line(req.state, actor, at, self.zone), self.zone
            )
        )
        try:
            self.poster.update(req.channel, req.message_ts, message)
        except DeliveryError as exc:
            log.error("request #%d: could not update its message: %s", req.id, exc.error)

    def request_moved(self, req: Request, old: State, detail: str, actor: str | None) -> None:
        self.say(req, blocks.transition_note(req, old, detail, actor))

    def approval_counted(self, req: Request, user: str, left: int) -> None:
        self.say(req, words.approval_note(req, user, left))

    def risk_accepted(self, req: Request) -> None:
        self.say(req, words.risk_accepted_note(req, self.zone))

    def finding_settled(self, req: Request) -> None:
        self.findings.settle(req)

    def step_done(self, req: Request, step: Step) -> None:
        self.say(req, words.step_note(req, step))

    def tracking_started(self, req: Request, verdict: Verdict | None) -> None:
        self.say(req, blocks.tracked_steps(req, verdict))
        if req.assignee:
            self.dm(req.assignee, words.assigned_message(req))

    def checked(self, req: Request, check: Checked) -> None:
        self.say(req, words.checked_note(req, check))

    def keys_deactivated(self, req: Request) -> None:
        self.say(req, blocks.back_out_note(req))

    def lease_lost(self, req: Request, detail: str | None = None) -> None:
        self.say(req, words.lease_lost_note(req, detail))

    def database_failed(self, req: Request, error: str) -> None:
        self.say(req, words.database_failed_note(req, error))

    def work_failed(self, req: Request, what: str, error: str) -> None:
        self.say(req, words.work_failed_note(req, what, error))

    def reminder(self, req: Request, audience: Audience, waited: float) -> None:
        if audience is Audience.ASSIGNEE:
            message = words.assignee_reminder(req)
            self.say(req, message)
            if req.assignee:
                self.dm(req.assignee, message)
        else:
            self.say(req, words.approvers_reminder(req, self.approvers.mention(), waited))
