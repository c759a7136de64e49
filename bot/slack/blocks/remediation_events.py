"""The words of the remediation flow's events in Slack: steps and notes in a request's thread,
private messages, reminders, and the request form a fresh audit allows.

``bot.slack.notifier.remediation`` calls these for the notices the use case reports
(``bot.remediation.notices``); the request message itself and the modals' blocks are in
``bot.slack.blocks.remediation``.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from slack_sdk.models.views import View

from bot.remediation.errors import LeaseLost
from bot.remediation.events import (
    AlreadyRequested,
    CannotAudit,
    Deleted,
    ExceptionOffer,
    FormOutcome,
    KeysListed,
    NothingToRemedy,
    OpeningRootSession,
    Reauditing,
    RemediationOffer,
    Resuming,
    Step,
    TrackingInstead,
    WouldDelete,
)
from bot.remediation.models import Request
from bot.remediation.notices import Checked
from bot.remediation.progress import KeyProgress
from bot.slack.blocks.common import Message, escape
from bot.slack.blocks.remediation import (
    exception_modal,
    info_modal,
    remediation_modal,
    root_keys_note,
    thread_note,
    when,
)

# A permalink as Slack returns it: an http(s) URL without the characters that end a link.
SAFE_LINK = re.compile(r"https?://[^\s<>|]+")


def elapsed(seconds: float) -> str:
    """``3 days``, ``5 hours``, ``2 minutes``: how long, in the largest whole unit."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "under a minute"


# -- steps of the work ---------------------------------------------------------------------------


def step_note(req: Request, step: Step) -> Message:
    if isinstance(step, KeysListed):
        return root_keys_note(req, step.described)
    if isinstance(step, OpeningRootSession):
        text = (
            f":key: Opening a root session in {step.account_id}: sts:AssumeRoot on the regional "
            f"endpoint ({step.region}), {step.duration} s, task policy "
            "IAMDeleteRootUserCredentials."
        )
    elif isinstance(step, WouldDelete):
        text = (
            f":test_tube: Dry run (ROOTKEY_DRY_RUN=true): would delete {step.masked}; "
            "nothing was deleted."
        )
    elif isinstance(step, Deleted):
        text = f":wastebasket: Deleted {step.masked}."
    elif isinstance(step, Reauditing):
        text = ":mag: Re-auditing the account through the normal audit path."
    elif isinstance(step, TrackingInstead):
        text = f":information_source: Cannot act as root now ({step.why}); tracking instead."
    else:
        assert isinstance(step, Resuming)
        why = (
            "rootkey restarted while this request was executing"
            if step.restarted
            else "the execution of this request stopped before it ended"
        )
        text = f":arrows_counterclockwise: {why}; re-auditing the account to see where it stands."
    return thread_note(text)


# -- notes in the thread -------------------------------------------------------------------------


def approval_note(req: Request, user: str, left: int) -> Message:
    return thread_note(
        f":ballot_box_with_check: <@{user}> approved request #{req.id}; "
        f"{left} more approval{'s' if left != 1 else ''} needed."
    )


def risk_accepted_note(req: Request, zone: ZoneInfo) -> Message:
    return thread_note(
        f":shield: Risk accepted for {req.account_id} until "
        f"{when(req.exception_until, zone)}, owner "
        f"<@{req.owner or req.requester}>. The account is shown apart until then."
    )


def checked_note(req: Request, check: Checked) -> Message:
    words = {
        KeyProgress.ACTIVE: "a root access key is still active",
        KeyProgress.DEACTIVATED: "the keys are deactivated but not deleted yet",
        KeyProgress.UNKNOWN: f"the account could not be read ({check.reason})",
    }.get(check.progress, check.progress.value)
    return thread_note(f":mag: Checked request #{req.id} for <@{check.asked_by}>: {escape(words)}.")


def lease_lost_note(req: Request, detail: str | None) -> Message:
    lost = LeaseLost(req.id)
    return thread_note(f":information_source: {lost}" + (f" ({detail})" if detail else ""))


def database_failed_note(req: Request, error: str) -> Message:
    return thread_note(
        f":warning: Request #{req.id} stopped: {escape(error)}. It stays executing; as soon as "
        "the database "
        "answers, the account is re-audited and the request finished or put back to "
        "approved."
    )


def work_failed_note(req: Request, what: str, error: str) -> Message:
    return thread_note(
        f":warning: Could not {escape(what)} request "
        f"#{req.id} ({escape(error)}); it stays {req.state.value} and "
        "rootkey tries again on its next sweep."
    )


def assignee_reminder(req: Request) -> Message:
    """In the thread, and privately to the assignee."""
    return thread_note(
        f":bell: <@{req.assignee}>, request #{req.id} still waits for the root access "
        f"keys of {req.account_id} to be removed ({req.state.value})."
    )


def approvers_reminder(req: Request, approvers: str, waited: float) -> Message:
    return thread_note(
        f":bell: {approvers}: request #{req.id} ({req.account_id}) is still "
        f"{req.state.value}, assigned to <@{req.assignee}>, {elapsed(waited)} "
        "after approval."
    )


# -- private messages ----------------------------------------------------------------------------


def not_posted_message(req: Request, error: str) -> Message:
    return thread_note(
        f":warning: rootkey could not post request #{req.id} in <#{req.where.place}> "
        f"({escape(error)}), so nobody could approve it; it is closed. "
        "Invite the bot to the channel and ask again."
    )


def assigned_message(req: Request) -> Message:
    return thread_note(
        f"You have been assigned remediation request #{req.id}: remove the root access "
        f"keys of {req.account_id}. The steps are in the thread."
    )


# -- the request form ----------------------------------------------------------------------------


def form_view(outcome: FormOutcome, link: str | None = None) -> View:
    """The request form (or why there is none) after a fresh audit; ``link``: the permalink
    of the open request's message when there is one (``AlreadyRequested``)."""
    if isinstance(outcome, AlreadyRequested):
        number = f"#{outcome.request_id}"
        shown = f"<{link}|{number}>" if link and SAFE_LINK.fullmatch(link) else number
        return info_modal(
            f":hourglass_flowing_sand: Request {shown} for {outcome.account_id} is already "
            f"{escape(outcome.state)}: there is nothing to ask again. Follow it in its thread; "
            "once it is decided, withdrawn or expired, a new request can be made."
        )
    if isinstance(outcome, NothingToRemedy):
        return info_modal(
            f":white_check_mark: A fresh audit finds no root access key in "
            f"{outcome.account_id}: nothing to remediate or to accept."
        )
    if isinstance(outcome, CannotAudit):
        return info_modal(
            f":warning: Could not audit {outcome.account_id}, so no request can be made: "
            f"{escape(outcome.reason)}"
        )
    if isinstance(outcome, RemediationOffer):
        return remediation_modal(
            outcome.context, outcome.verdict, outcome.mode, outcome.why, outcome.now
        )
    assert isinstance(outcome, ExceptionOffer)
    return exception_modal(
        outcome.context, outcome.verdict, outcome.owner, outcome.today, outcome.now
    )
