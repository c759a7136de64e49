"""Block Kit of `/rootkey history <account-id>`: where the account stands and how it got there."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.audit.models import Status
from bot.slack.blocks.common import (
    Message,
    check_limits,
    context,
    escape,
    header,
    mrkdwn_section,
)
from bot.store import AccountState, HistoryEntry

TIMELINE_LIMIT = 15  # status changes shown; older ones are summed up
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


def history_message(
    account_id: str,
    entries: Sequence[HistoryEntry],
    state: AccountState | None,
    *,
    now: datetime,
) -> Message:
    """``entries`` newest first (``Store.history``); ``state`` from ``Store.latest_state``."""
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
    lines = []
    for entry, count in folded[:TIMELINE_LIMIT]:
        how = TRIGGER_WORDS.get(entry.trigger, f"found by a {escape(entry.trigger)} audit")
        later = count - 1
        same = f"; the same in {later} later audit{'s' if later != 1 else ''}" if later else ""
        lines.append(f"• {stamp(entry.checked_at)} — {STATUS_WORDS[entry.status]}, {how}{same}")
    if len(folded) > TIMELINE_LIMIT:
        lines.append(f"…and {len(folded) - TIMELINE_LIMIT} earlier changes")

    blocks = [
        header(f"History of {account_id}{name}"),
        mrkdwn_section(now_line, block_id="rootkey_history_now"),
        mrkdwn_section(
            "*Timeline, newest first*\n" + "\n".join(lines), block_id="rootkey_history_timeline"
        ),
        context(
            f"From the last {len(entries)} saved audits of this account",
            block_id="rootkey_history_context",
        ),
    ]
    text = f"History of {account_id}{escape(name)}: now {state.status.value}" + (
        f", open {state.days_open(now)} days" if state.open_since is not None else ""
    )
    return check_limits(Message(blocks=blocks, text=text))
