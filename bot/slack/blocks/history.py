"""Block Kit of `/rootkey history <account-id>`: where the account stands and how it got there."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.audit.models import Status
from bot.remediation.states import Kind
from bot.services.history import RequestLine
from bot.slack.blocks.common import (
    Message,
    check_limits,
    context,
    escape,
    header,
    mrkdwn_section,
    truncate,
)
from bot.slack.blocks.remediation import ticket_text
from bot.slack.blocks.status import sections
from bot.store import AccountState, HistoryEntry

TIMELINE_LIMIT = 15  # status changes shown; older ones are summed up
REQUEST_LINES = 25  # request moments shown; older ones are summed up
SHOWN_TEXT = 200  # characters of a reason or a detail shown in a line
STATUS_WORDS = {
    Status.COMPLIANT: ":white_check_mark: compliant",
    Status.NONCOMPLIANT: ":red_circle: root access key present",
    Status.ERROR: ":warning: could not be audited",
}


TRIGGER_WORDS = {
    "command": "found by a /rootkey check",
    "button": "found by a Re-run",
    "schedule": "found by the scheduled audit",
    "recheck": "found by a re-audit of a request",
    "cli": "found from the command line",
}


def stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def changes_only(entries: Sequence[HistoryEntry]) -> list[tuple[HistoryEntry, int]]:
    """Newest-first entries folded into status changes: (first entry of a streak, audits)."""
    folded: list[tuple[HistoryEntry, int]] = []
    for entry in reversed(entries):  # oldest first
        if folded and folded[-1][0].status is entry.status:
            first, count = folded[-1]
            folded[-1] = (first, count + 1)
        else:
            folded.append((entry, 1))
    folded.reverse()
    return folded


def request_text(line: RequestLine) -> str:
    """One moment of a request, as the timeline says it (user text escaped and shortened)."""
    req = line.request
    by = f" by <@{line.actor}>" if line.actor else ""
    number = f"#{req.id}"
    if line.what == "requested":
        kind = "Remediation" if req.kind is Kind.REMEDIATION else "Risk exception"
        text = (
            f":memo: {kind} request {number} requested by <@{req.requester}>: "
            f"“{escape(truncate(req.reason, SHOWN_TEXT))}”"
        )
        if req.kind is Kind.EXCEPTION and req.exception_until is not None:
            text += f" (until {stamp(req.exception_until)})"
        if req.ticket_url:
            text += f" · ticket {ticket_text(req.ticket_url)}"
        return text
    if line.what == "approval":
        return f":ballot_box_with_check: Request {number} approved{by}"
    if line.what == "deleted":
        return f":wastebasket: Request {number}: {escape(truncate(line.detail, SHOWN_TEXT))}"
    detail = escape(truncate(line.detail, SHOWN_TEXT))
    return (
        f"Request {number} {line.what}{by}: {detail}"
        if detail
        else f"Request {number} {line.what}{by}"
    )


def history_message(
    account_id: str,
    entries: Sequence[HistoryEntry],
    state: AccountState | None,
    *,
    now: datetime,
    requests: Sequence[RequestLine] = (),
) -> Message:
    """``entries`` newest first (``Store.history``); ``state`` from ``Store.latest_state``;
    ``requests``: what was asked and decided about the account, newest first
    (``bot.services.history``), merged into the timeline."""
    if not entries or state is None:
        text = (
            f"No saved audit of {account_id} yet. `/rootkey check {account_id}` audits it "
            "and starts its history."
        )
        return check_limits(Message(blocks=[mrkdwn_section(escape(text))], text=text))

    name = f" ({state.account_name})" if state.account_name else ""
    now_line = f"*Now:* {STATUS_WORDS[state.status]} (checked {stamp(state.checked_at)})"
    if state.open_since is not None:
        days = state.days_open(now) or 0
        now_line += (
            f"\n*Open since* {stamp(state.open_since)}: {days} day{'s' if days != 1 else ''}"
        )
    now_line += (
        f"\n*Last change* {stamp(state.last_change)} · *first seen* {stamp(state.first_seen)}"
    )
    if state.status is not Status.COMPLIANT:
        now_line += f"\n{escape(state.reason)}"

    folded = changes_only(entries)
    timed: list[tuple[datetime, str]] = []
    for entry, count in folded[:TIMELINE_LIMIT]:
        how = TRIGGER_WORDS.get(entry.trigger, f"found by a {escape(entry.trigger)} audit")
        later = count - 1
        same = f"; the same in {later} later audit{'s' if later != 1 else ''}" if later else ""
        timed.append((entry.checked_at, f"{STATUS_WORDS[entry.status]}, {how}{same}"))
    timed += [(line.at, request_text(line)) for line in requests[:REQUEST_LINES]]
    timed.sort(key=lambda item: item[0], reverse=True)
    lines = [f"• {stamp(at)} — {text}" for at, text in timed]
    if len(folded) > TIMELINE_LIMIT:
        lines.append(f"…and {len(folded) - TIMELINE_LIMIT} earlier changes")
    if len(requests) > REQUEST_LINES:
        lines.append(f"…and {len(requests) - REQUEST_LINES} earlier request events")

    timeline = sections(["*Timeline, newest first*", *lines])
    timeline[0].block_id = "rootkey_history_timeline"
    blocks = [
        header(f"History of {account_id}{name}"),
        mrkdwn_section(now_line, block_id="rootkey_history_now"),
        *timeline,
        context(
            f"From the last {len(entries)} saved audits of this account",
            block_id="rootkey_history_context",
        ),
    ]
    text = f"History of {account_id}{escape(name)}: now {state.status.value}" + (
        f", open {state.days_open(now)} days" if state.open_since is not None else ""
    )
    return check_limits(Message(blocks=blocks, text=text))
