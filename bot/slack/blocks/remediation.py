"""Block Kit of the remediation flow: the request modals, the request message with its
Approve / Reject buttons, the decision that replaces them, thread notes, the tracked steps and
``/rootkey status``.

Button values and ``private_metadata`` carry ids only; everything shown is rebuilt from the
store on every click.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    DatePickerElement,
    InputBlock,
    PlainTextInputElement,
    PlainTextObject,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.audit.models import KeySlot, Status, Verdict
from bot.audit.verdict import with_age
from bot.remediation.events import FormContext
from bot.remediation.models import Request
from bot.remediation.progress import MAX_EXCEPTION_DAYS, used_recently
from bot.remediation.states import Kind, Mode, State
from bot.slack.action_ids import ActionId, CallbackId
from bot.slack.blocks.common import (
    Message,
    check_limits,
    context,
    escape,
    fmt_date,
    mrkdwn_section,
    plain,
    sentence,
    truncate,
    user_text_section,
)

INPUT_ACTION = "value"  # action_id of every input element; block ids name the fields

STATE_ICON = {
    State.REQUESTED: ":hourglass_flowing_sand:",
    State.APPROVED: ":white_check_mark:",
    State.REJECTED: ":no_entry_sign:",
    State.EXPIRED: ":alarm_clock:",
    State.EXECUTING: ":gear:",
    State.TRACKING: ":eyes:",
    State.DEACTIVATED: ":double_vertical_bar:",
    State.VERIFIED: ":white_check_mark:",
    State.FAILED: ":x:",
    State.CANCELLED: ":heavy_multiplication_x:",
}


def when(value: datetime | None, zone: ZoneInfo) -> str:
    """``2026-11-30 09:12 UTC`` in the configured time zone."""
    if value is None:
        return "never"
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def clock(value: datetime, zone: ZoneInfo) -> str:
    """``09:12 UTC`` (what a decision line shows)."""
    return value.astimezone(zone).strftime("%H:%M %Z")


def kind_word(kind: Kind) -> str:
    return "Remediation" if kind is Kind.REMEDIATION else "Risk exception"


def account_text(account_id: str, name: str | None) -> str:
    return f"*{account_id}*" + (f" · {escape(name)}" if name else "")


def key_line(key: KeySlot, now: datetime) -> str:
    state = "active" if key.active else "deactivated"
    age = f"{key.age_days} days old" if key.age_days is not None else "age unknown"
    if key.last_used_date:
        where = ", ".join(
            escape(x) for x in (key.last_used_service, key.last_used_region) if x and x != "N/A"
        )
        used = f"last used {fmt_date(key.last_used_date)}" + (f" ({where})" if where else "")
    else:
        used = "never used"
    line = f"• Key {key.slot}: {state} · {age} · {used}"
    if used_recently(key, now):
        line += (
            "\n  :warning: *Used in the last 30 days*: deleting it may break whatever uses it. "
            "Find that first."
        )
    return line


def keys_text(verdict: Verdict, now: datetime) -> str:
    if verdict.status is Status.COMPLIANT:
        return ":white_check_mark: The last audit finds no root access key here."
    if verdict.status is Status.ERROR:
        return f":warning: Could not read the keys: {escape(truncate(verdict.reason, 400))}"
    lines = [key_line(k, now) for k in verdict.keys] or [
        "• A root access key is present (no slot detail in the credential report)"
    ]
    return "*Root access keys*\n" + "\n".join(lines)


# -- modals ------------------------------------------------------------------------------------


def text_input(
    block_id: str, label: str, *, multiline: bool = False, optional: bool = False, hint: str = ""
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        element=PlainTextInputElement(
            action_id=INPUT_ACTION, multiline=multiline, max_length=2000 if multiline else 500
        ),
        optional=optional,
        hint=hint or None,
    )


def modal(
    callback_id: str, title: str, blocks: list[Any], meta: str = "", submit: str | None = None
) -> View:
    view = View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=plain(title, 24)),
        close=PlainTextObject(text="Cancel" if submit else "Close"),
        submit=PlainTextObject(text=submit) if submit else None,
        blocks=blocks,
        private_metadata=meta,
    )
    view.to_dict()  # slack_sdk validates lengths and counts here
    return view


def loading_modal() -> View:
    return modal(
        CallbackId.REMEDIATION_REQUEST.value,
        "rootkey",
        [mrkdwn_section(":mag: Auditing the account's root access keys…")],
    )


def info_modal(text: str) -> View:
    return modal(CallbackId.REMEDIATION_REQUEST.value, "rootkey", [mrkdwn_section(text)])


def remediation_modal(
    ctx: FormContext, verdict: Verdict, mode: Mode, why: str, now: datetime
) -> View:
    what = (
        "rootkey deletes the keys through centralized root access (AssumeRoot), then re-audits."
        if mode is Mode.ASSUME_ROOT
        else "A person removes the keys (deactivate, then delete); rootkey tracks and verifies it."
    )
    blocks = [
        mrkdwn_section(
            "Remove the root access keys of "
            + account_text(verdict.account_id, verdict.account_name)
        ),
        mrkdwn_section(keys_text(verdict, now)),
        mrkdwn_section(f"*Mode:* {escape(mode.value)}. {what}"),
        *([context(escape(why))] if why else []),  # why not the mode configured
        text_input("reason", "Reason", multiline=True, hint="Why it is safe to remove them"),
        text_input("ticket", "Ticket", optional=True, hint="SEC-1234 or https://…"),
        context("Approvers are asked in the finding's thread. Deleting a key cannot be undone."),
        mrkdwn_section(
            "The key has to stay for now? Ask for a time-limited exception instead.",
            block_id="rootkey_switch_to_exception",
            accessory=ButtonElement(
                text="Accept the risk instead",
                action_id=ActionId.ACCEPT_RISK.value,
                value=verdict.account_id,
            ),
        ),
    ]
    return modal(
        CallbackId.REMEDIATION_REQUEST.value, "Request remediation", blocks, ctx.encode(), "Request"
    )


def exception_modal(
    ctx: FormContext, verdict: Verdict, owner: str, today: date, now: datetime
) -> View:
    blocks = [
        mrkdwn_section(
            f"Accept the risk of the root access keys of "
            f"{account_text(verdict.account_id, verdict.account_name)} until a date "
            f"(at most {MAX_EXCEPTION_DAYS} days). Until then the account is shown apart; "
            "afterwards it counts again."
        ),
        mrkdwn_section(keys_text(verdict, now)),
        InputBlock(
            block_id="until",
            label="Until",
            element=DatePickerElement(
                action_id=INPUT_ACTION, initial_date=(today + timedelta(days=30)).isoformat()
            ),
        ),
        InputBlock(
            block_id="owner",
            label="Owner of the risk",
            element=UserSelectElement(action_id=INPUT_ACTION, initial_user=owner),
        ),
        text_input("reason", "Reason", multiline=True, hint="Why the key has to stay for now"),
        text_input("ticket", "Ticket", optional=True, hint="SEC-1234 or https://…"),
    ]
    return modal(CallbackId.ACCEPT_RISK.value, "Accept risk", blocks, ctx.encode(), "Request")


# -- the request message ----------------------------------------------------------------------


def ticket_text(ticket: str) -> str:
    """A link when the reference is one (``clean_ticket`` checked it), else the ticket id."""
    shown = escape(truncate(ticket, 200))
    return f"<{ticket}|{shown}>" if ticket.startswith(("https://", "http://")) else shown


def request_body(req: Request, zone: ZoneInfo) -> list[Any]:
    title = f"{STATE_ICON[req.state]} *{kind_word(req.kind)} request #{req.id}* · " + account_text(
        req.account_id, req.account_name
    )
    lines = [title, f"Requested by <@{req.requester}> · {when(req.created_at, zone)}"]
    if req.kind is Kind.REMEDIATION and req.mode:
        dry = " · *dry run*: nothing will be deleted" if req.dry_run else ""
        lines.append(f"Mode: *{req.mode.value}*{dry}")
    if req.kind is Kind.EXCEPTION:
        lines.append(
            f"Exception until *{when(req.exception_until, zone)}*, "
            f"risk owner <@{req.owner or req.requester}>"
        )
    lines.append(recorded_keys_text(req))
    if req.ticket_url:
        lines.append(f"Ticket: {ticket_text(req.ticket_url)}")
    return [
        mrkdwn_section("\n".join(lines), block_id=f"rootkey_request:{req.id}"),
        user_text_section("Reason", req.reason),
    ]


def recorded_keys_text(req: Request) -> str:
    """The keys a request is about, as its approvers decide on them (age and last use as of
    the request): an exception covers only these, an execution deletes only these."""
    what = "deletes only" if req.kind is Kind.REMEDIATION else "covers only"
    if req.key_prints is None:
        return "*Keys:* not recorded (an older request): it covers and deletes no key"
    if not req.key_prints:
        return (
            "*Keys:* no key detail in the audit; any key the root session finds stops the "
            "request before it is deleted"
        )
    lines = [
        key_line(with_age(k.as_slot(), req.created_at), req.created_at) for k in req.key_prints
    ]
    return f"*Keys this request is about* (it {what} these):\n" + "\n".join(lines)


def request_message(req: Request, approvers: str, required: int, zone: ZoneInfo) -> Message:
    """The request with Approve and Reject, mentioning the approvers. Neither carries a Slack
    confirm dialog: Slack would show it to whoever clicks, before the bot can refuse them (the
    requester asked to confirm a deletion they may not approve). The bot checks the clicker's
    rights first, then asks to confirm (``approval_prompt``) or for a reason (``reject_modal``).
    """
    so_far = ", ".join(f"<@{u}>" for u in req.approvers_so_far)
    needed = f"{required} approval{'s' if required != 1 else ''} needed"
    progress = f" · approved so far by {so_far}" if so_far else ""
    buttons = ActionsBlock(
        block_id=f"rootkey_decide:{req.id}",
        elements=[
            ButtonElement(
                text="Approve",
                action_id=ActionId.REVIEW_APPROVAL.value,
                value=str(req.id),
                style="primary",
            ),
            ButtonElement(
                text="Reject",
                action_id=ActionId.REVIEW_REJECTION.value,
                value=str(req.id),
                style="danger",
            ),
            cancel_button(req, "Withdraw / cancel"),
        ],
    )
    blocks = [
        *request_body(req, zone),
        context(
            f"Approvers: {approvers} ({needed}; the requester cannot approve){progress}. "
            f"Expires {when(req.expires_at, zone)} unless decided."
        ),
        buttons,
    ]
    text = f"{kind_word(req.kind)} request #{req.id} for {req.account_id} waits for approval"
    return check_limits(Message(blocks=blocks, text=text))


def approval_question(req: Request, zone: ZoneInfo) -> str:
    """What an approver confirms: a dry run, a deletion that cannot be undone, or a risk."""
    if req.kind is Kind.REMEDIATION and req.dry_run:
        return f"Approve a dry run for {req.account_id}? Nothing will be deleted."
    if req.kind is Kind.REMEDIATION:
        return (
            f"Approve deleting the root access keys of {req.account_id}? Deletion cannot be undone."
        )
    return f"Accept the risk for {req.account_id} until {when(req.exception_until, zone)}?"


def approval_prompt(req: Request, zone: ZoneInfo) -> Message:
    """Private to someone who may approve (rights checked): the question, and the button
    that approves (the bot checks the rights again when it is clicked)."""
    question = f"*Request #{req.id}*: {escape(approval_question(req, zone))}"
    confirm = ActionsBlock(
        block_id=f"rootkey_confirm_approval:{req.id}",
        elements=[
            ButtonElement(
                text="Approve" if req.kind is Kind.EXCEPTION or req.dry_run else "Approve deletion",
                action_id=ActionId.APPROVE.value,
                value=str(req.id),
                style="primary",
            )
        ],
    )
    blocks = [mrkdwn_section(question), mrkdwn_section(recorded_keys_text(req)), confirm]
    return check_limits(Message(blocks=blocks, text=truncate(approval_question(req, zone), 3000)))


def reject_modal(req: Request) -> View:
    """Reject ``req``, with a reason if the approver gives one (logged, said in the thread)."""
    blocks = [
        mrkdwn_section(
            f"Reject {kind_word(req.kind).lower()} request #{req.id} for "
            f"{account_text(req.account_id, req.account_name)}? Nothing will be changed."
        ),
        text_input(
            "reason",
            "Reason",
            multiline=True,
            optional=True,
            hint="Shown in the request's thread and kept in the audit log",
        ),
    ]
    return modal(CallbackId.REJECT_REQUEST.value, "Reject request", blocks, str(req.id), "Reject")


def decided_message(req: Request, line: str, zone: ZoneInfo) -> Message:
    """The request message after a decision: the buttons replaced by ``line``."""
    blocks = [*request_body(req, zone), context(line)]
    text = f"{kind_word(req.kind)} request #{req.id} for {req.account_id}: {line}"
    return check_limits(Message(blocks=blocks, text=truncate(text, 3000)))


def decision_line(state: State, actor: str | None, at: datetime, zone: ZoneInfo) -> str:
    by = f" by <@{actor}>" if actor else ""
    words = {
        State.APPROVED: f":white_check_mark: Approved{by}, {clock(at, zone)}",
        State.REJECTED: f":no_entry_sign: Rejected{by}, {clock(at, zone)}",
        State.EXPIRED: f":alarm_clock: Expired, not decided in time ({when(at, zone)})",
        State.CANCELLED: f":heavy_multiplication_x: Withdrawn or cancelled{by}, {clock(at, zone)}",
    }
    return words.get(
        state, f"{STATE_ICON[state]} {state.value.capitalize()}{by}, {clock(at, zone)}"
    )


def thread_note(text: str) -> Message:
    """One line (or a few) of the bot's own mrkdwn in the request's thread."""
    return check_limits(Message(blocks=[mrkdwn_section(text)], text=truncate(text, 3000)))


def transition_note(req: Request, old: State, detail: str, actor: str | None) -> Message:
    by = f" by <@{actor}>" if actor else ""
    text = (
        f"{STATE_ICON[req.state]} Request #{req.id}: *{old.value}* → *{req.state.value}*{by}. "
        f"{escape(sentence(detail))}"
    )
    return thread_note(text.strip())


# -- tracked mode ------------------------------------------------------------------------------


def tracked_steps(req: Request, verdict: Verdict | None) -> Message:
    """The CIS procedure for a person (console and CLI), with "I've done it, verify now"."""
    keys = ", ".join(
        f"key {k.slot} ({'active' if k.active else 'deactivated'})"
        for k in (verdict.keys if verdict else ())
    )
    intro = (
        f":bust_in_silhouette: Assigned to <@{req.assignee}>: remove the root access keys of "
        f"{account_text(req.account_id, req.account_name)}" + (f" ({keys})" if keys else "") + ". "
        "Only the root user can do this. First deactivate, watch that nothing breaks, then delete."
    )
    console = (
        "*In the console* (signed in as the root user)\n"
        "1. Account menu (top right) → *Security credentials*.\n"
        "2. *Access keys*: for each key, *Actions → Deactivate*.\n"
        "3. Wait and watch: nothing should fail, and the key's *last used* date should not move.\n"
        "4. Then *Actions → Delete* and confirm. A deleted key cannot come back."
    )
    cli = (
        "*With the AWS CLI* (run with the root user's credentials)\n"
        "```aws iam list-access-keys\n"
        "aws iam update-access-key --access-key-id <KEY_ID> --status Inactive\n"
        "aws iam delete-access-key --access-key-id <KEY_ID>```"
    )
    verify = ActionsBlock(
        block_id=f"rootkey_verify:{req.id}",
        elements=[
            ButtonElement(
                text="I've done it, verify now",
                action_id=ActionId.VERIFY_NOW.value,
                value=str(req.id),
                style="primary",
            )
        ],
    )
    blocks = [
        mrkdwn_section(intro),
        mrkdwn_section(console),
        mrkdwn_section(cli),
        context("rootkey re-audits the account on a schedule and posts progress here."),
        verify,
    ]
    return check_limits(
        Message(blocks=blocks, text=f"Request #{req.id}: steps to remove the root access keys")
    )


def back_out_note(req: Request) -> Message:
    text = (
        f":double_vertical_bar: Request #{req.id}: the keys of {req.account_id} are deactivated, "
        "not deleted yet. *Back-out:* if something broke, the root user can reactivate a key "
        "(console: Security credentials → Access keys → Actions → Activate, or "
        "`aws iam update-access-key --access-key-id <KEY_ID> --status Active`). "
        "Once a key is deleted it cannot come back, and rootkey never creates root keys. "
        "When nothing broke, delete the keys."
    )
    return thread_note(text)


def root_keys_note(req: Request, described: Sequence[str]) -> Message:
    if not described:
        return thread_note(f":mag: Request #{req.id}: the root session finds no access key.")
    lines = "\n".join(f"• {escape(d)}" for d in described)
    return thread_note(f":mag: Request #{req.id}: root access keys of {req.account_id}:\n{lines}")


def cancel_button(req: Request, label: str) -> ButtonElement:
    """Withdraw (the requester) or cancel (an approver) an open request: nothing is changed."""
    return ButtonElement(
        text=label,
        action_id=ActionId.CANCEL_REQUEST.value,
        value=str(req.id),
        confirm=ConfirmObject(
            title="Withdraw or cancel?",
            text=f"Request #{req.id} for {req.account_id} ends; nothing will be changed.",
            confirm="Yes, end it",
            deny="Keep it",
        ),
    )
