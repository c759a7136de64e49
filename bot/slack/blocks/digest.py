"""Block Kit of the compliance digest (and its thread notes).

The message holds counts and the worst accounts of each list, within one text budget for the
whole message (``MAX_MESSAGE_TEXT``); accounts that could not be audited for the same reason
share one line; whatever does not fit is named in the CSV posted in the thread, so the message
stays within Slack's limits at any size. An all
clear is one short section: a long digest always means something needs doing.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from slack_sdk.models.blocks import SectionBlock

from bot.rules import is_user_id
from bot.services.digest_report import Digest, Excepted
from bot.services.ports import OpenRequestView
from bot.slack.blocks.common import (
    MAX_MESSAGE_TEXT,
    MAX_SECTION_TEXT,
    Message,
    TextBudget,
    check_limits,
    context,
    error_groups,
    escape,
    header,
    mrkdwn_section,
    one_line,
)
from bot.store import AccountState

T = TypeVar("T")

LIST_LIMIT = 10  # accounts named per list in the message; the CSV has them all
SECTION_BUDGET = MAX_SECTION_TEXT - 200
MORE_LINE = 80  # "…and 1,234 more in the CSV in the thread"
ANCHOR_TEXT = 600  # the log head's section, at most
# Block text of the header, the summary and the context line, at most (1,500), six titles with
# their "…and N more" lines, and the log head's section
LISTS_TEXT = MAX_MESSAGE_TEXT - 2600 - ANCHOR_TEXT
MAX_REASON = 300


def user(ident: str | None) -> str:
    if not ident:
        return "nobody"
    return f"<@{ident}>" if is_user_id(ident) else escape(ident)


def when(digest: Digest, value: datetime) -> str:
    local = digest.local(value)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


def day(digest: Digest, value: datetime | None) -> str:
    return digest.local(value).strftime("%Y-%m-%d") if value else "unknown"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def account(state: AccountState) -> str:
    name = f" {escape(state.account_name)}" if state.account_name else ""
    return f"`{escape(state.account_id)}`{name}"


def keys_text(state: AccountState) -> str:
    if not state.keys:
        return "root key present"
    active = sum(1 for k in state.keys if k.active)
    text = plural(len(state.keys), "key")
    return text + (f" ({active} active)" if active else " (deactivated)")


def key_age(state: AccountState) -> str:
    """The oldest key's age, as the credential report gives it (empty when it does not)."""
    ages = [k.age_days for k in state.keys if k.age_days is not None]
    return f", {plural(max(ages), 'day')} old" if ages else ""


def bullet_list(
    items: Sequence[T],
    render: Callable[[T], str],
    *,
    more: str = "in the CSV in the thread",
    budget: TextBudget | None = None,
) -> str:
    """Up to ``LIST_LIMIT`` lines within one section (and what is left of the message's
    ``budget``); the rest summed up in a last line."""
    room = SECTION_BUDGET if budget is None else min(SECTION_BUDGET, budget.left - MORE_LINE)
    lines: list[str] = []
    used = 0
    for item in items[:LIST_LIMIT]:
        line = "• " + render(item)
        if used + len(line) + 1 > room:
            break
        lines.append(line)
        used += len(line) + 1
    rest = len(items) - len(lines)
    if rest:
        lines.append(f"…and {rest:,} more {more}")
    text = "\n".join(lines)
    if budget is not None:
        budget.left -= len(text)
    return text


def section(
    title: str,
    items: Sequence[T],
    render: Callable[[T], str],
    block_id: str,
    budget: TextBudget | None = None,
) -> SectionBlock:
    if budget is not None:
        budget.left -= len(title) + 3
    return mrkdwn_section(
        f"*{title}*\n" + bullet_list(items, render, budget=budget), block_id=block_id
    )


def fallback(digest: Digest) -> str:
    if digest.total == 0:
        return "Root key digest: no accounts were audited."
    if digest.all_clear:
        return (
            f"Root key digest: all clear, {plural(digest.total, 'account')} audited, "
            "none has a root access key."
        )
    parts = [
        f"{digest.noncompliant:,} of {plural(digest.total, 'account')} with a root access key"
        + (f" ({len(digest.new_noncompliant):,} new)" if digest.new_noncompliant else "")
    ]
    if digest.fixed:
        parts.append(f"{len(digest.fixed):,} fixed")
    if digest.counts.error:
        parts.append(f"{digest.counts.error:,} could not be audited")
    if digest.counts.accepted:
        parts.append(f"{digest.counts.accepted:,} accepted risk")
    return "Root key digest: " + ", ".join(parts) + f"; {digest.percent_compliant:.1f}% compliant."


def headline(digest: Digest) -> str:
    if digest.total == 0:
        return "Root key digest: no accounts were audited"
    if digest.noncompliant:
        return f"Root key digest: {plural(digest.noncompliant, 'account')} with a root key"
    if digest.counts.error:
        return f"Root key digest: {plural(digest.counts.error, 'account')} not audited"
    return f"Root key digest: {plural(digest.counts.accepted, 'accepted risk')} open"


def counted_from(digest: Digest) -> str:
    """What the digest's changes are counted from, the one phrase its lists and its summary
    use: the last digest; for a first digest, the audit they are counted against (a first
    digest never speaks of a last one), else the 24 hours before its audit."""
    if not digest.first_digest:
        return "since the last digest"
    if digest.baseline_audit_id is not None:
        return f"since the audit of {when(digest, digest.baseline)}"
    return f"since {when(digest, digest.baseline)}"


def counted_from_note(digest: Digest) -> str:
    """``counted_from`` with its date or why it is not the last digest, for the summary."""
    if not digest.first_digest:
        return f"since the last digest ({when(digest, digest.baseline)})"
    if digest.baseline_audit_id is not None:
        return f"{counted_from(digest)} (no earlier digest)"
    return f"{counted_from(digest)} (no earlier digest: the last 24 hours)"


def digest_message(digest: Digest) -> Message:
    run = f"Audit of {when(digest, digest.run.finished_at)}"
    if digest.slot_time is not None:
        run = f"Scheduled digest of {when(digest, digest.slot_time)} · {run[0].lower()}{run[1:]}"
    if digest.all_clear:
        fixed = (
            f" {plural(len(digest.fixed), 'account')} fixed {counted_from_note(digest)}."
            if digest.fixed
            else ""
        )
        blocks = [
            mrkdwn_section(
                f":white_check_mark: *Root key digest: all clear.* All "
                f"{plural(digest.total, 'account')} audited have no root access key.{fixed}",
                block_id="rootkey_digest_summary",
            ),
            context(f"{run} · 30-day trend in the thread", block_id="rootkey_digest_context"),
            *anchor_blocks(digest),
        ]
        return check_limits(Message(blocks=blocks, text=fallback(digest)))

    since = counted_from_note(digest)
    counts = [
        f":red_circle: {digest.noncompliant:,} with a root access key",
        f":white_check_mark: {digest.compliant:,} compliant",
        f":warning: {digest.counts.error:,} could not be audited",
    ]
    if digest.counts.accepted:
        counts.append(f":large_yellow_circle: {digest.counts.accepted:,} accepted risk")
    changes = (
        f"{plural(len(digest.new_noncompliant), 'account')} newly noncompliant, "
        f"{len(digest.fixed):,} fixed {since}."
    )
    summary = (
        f"*{plural(digest.total, 'account')} audited · "
        f"{digest.percent_compliant:.1f}% compliant*\n" + " · ".join(counts) + "\n" + changes
    )
    blocks = [
        header(headline(digest), block_id="rootkey_digest_header"),
        mrkdwn_section(summary, block_id="rootkey_digest_summary"),
    ]

    new_ids = {s.account_id for s in digest.new_noncompliant}

    def open_line(s: AccountState) -> str:
        """The key's own age (from the credential report) and since when rootkey has seen the
        account open: two different things, both named."""
        days = digest.days_open(s)
        new = " · *new*" if s.account_id in new_ids else ""
        return (
            f"{account(s)}{new} — {keys_text(s)}{key_age(s)}; seen open since "
            f"{day(digest, s.open_since)} ({plural(days or 0, 'day')})"
        )

    def fixed_line(s: AccountState) -> str:
        return f"{account(s)} — no root key since {day(digest, s.last_change)}"

    def error_line(s: AccountState) -> str:
        new = " (new)" if s in digest.new_errors else ""
        known = (
            f" Last seen with a root key, open since {day(digest, s.open_since)}."
            if s.open_since is not None
            else ""
        )
        return f"{account(s)}{new} — {one_line(s.reason, MAX_REASON)}{known}"

    def error_group_line(group: tuple[str, list[AccountState]]) -> str:
        reason, states = group
        if len(states) == 1:
            return error_line(states[0])
        named = ", ".join(f"`{escape(s.account_id)}`" for s in states[:LIST_LIMIT])
        rest = f" and {len(states) - LIST_LIMIT:,} more" if len(states) > LIST_LIMIT else ""
        return f"{plural(len(states), 'account')}: {one_line(reason, MAX_REASON)} — {named}{rest}"

    def excepted_line(e: Excepted) -> str:
        return (
            f"{account(e.state)} — owner {user(e.owner)}, until "
            f"{day(digest, e.expires_at)}: “{one_line(e.reason, 300)}”"
        )

    def request_line(r: OpenRequestView) -> str:
        who = f", assigned to {user(r.assignee)}" if r.assignee else ""
        name = f" {escape(r.account_name)}" if r.account_name else ""
        age = max(0, (digest.generated_at - r.created_at).days)
        return (
            f"#{r.id} `{escape(r.account_id)}`{name} — {escape(str(r.kind))}, "
            f"{escape(str(r.state))}{who}, requested by {user(r.requester)} "
            f"{plural(age, 'day')} ago"
        )

    budget = TextBudget(LISTS_TEXT)
    if digest.fixed:
        blocks.append(
            section(
                f"Fixed {counted_from(digest)} ({len(digest.fixed):,})",
                digest.fixed,
                fixed_line,
                "rootkey_digest_fixed",
                budget,
            )
        )
    if digest.still_open:
        # Each account once: the new ones first (marked), then the rest oldest first.
        listed = [s for s in digest.still_open if s.account_id in new_ids]
        listed += [s for s in digest.still_open if s.account_id not in new_ids]
        new_count = f", {len(new_ids):,} new" if new_ids else ""
        blocks.append(
            section(
                f"Open ({digest.counts.noncompliant:,}{new_count}; new first, then oldest first)",
                listed,
                open_line,
                "rootkey_digest_open",
                budget,
            )
        )
    if digest.errors:
        blocks.append(
            section(
                f"Could not be audited ({digest.counts.error:,}), not counted as compliant",
                error_groups(digest.errors, lambda s: s.reason),
                error_group_line,
                "rootkey_digest_errors",
                budget,
            )
        )
    if digest.excepted:
        blocks.append(
            section(
                f"Accepted risks ({digest.counts.accepted:,})",
                digest.excepted,
                excepted_line,
                "rootkey_digest_excepted",
                budget,
            )
        )
    if digest.open_requests:
        blocks.append(
            section(
                f"Open remediation requests ({len(digest.open_requests):,})",
                digest.open_requests,
                request_line,
                "rootkey_digest_requests",
                budget,
            )
        )
    blocks.append(
        context(
            f"{run} · 30-day trend chart and the full CSV in the thread",
            block_id="rootkey_digest_context",
        )
    )
    blocks.extend(anchor_blocks(digest))
    return check_limits(Message(blocks=blocks, text=fallback(digest)))


def anchor_blocks(digest: Digest) -> list[SectionBlock]:
    """The remediation log's head, kept in Slack, outside the database: later,
    ``python -m bot log --verify --anchor ID:HASH`` fails if that line was removed or the
    chain rewritten up to it. A SQLite database is named in the command
    (``DATABASE_URL=sqlite:////path …``), so it works as printed from any directory.

    The head is shown whole, in a section (text that wraps, where a context's small print ran
    off the thread's edge); a database path too long for ``ANCHOR_TEXT`` is left out of the
    command and said in words, never cut."""
    if digest.log_head is None:
        return []
    head = str(digest.log_head)
    command = f"python -m bot log --verify --anchor {head}"
    tail = " shows lines removed or rewritten since this digest."
    text = f"*Remediation log head* `{head}`\n"
    where = escape(shlex.quote(digest.log_database)) if digest.log_database else ""
    named = f"{text}`DATABASE_URL={where} {command}`{tail}"
    if where and "`" not in where and len(named) <= ANCHOR_TEXT:
        text = named
    elif where:
        text += f"`{command}`, with `DATABASE_URL` set to this bot's database,{tail}"
    else:
        text += f"`{command}`{tail}"
    return [mrkdwn_section(text, block_id="rootkey_digest_log_head")]


def attachment_failed(name: str, error: str) -> Message:
    text = f"Could not attach the {name} to this digest: {escape(error)}."
    if error in ("not_in_channel", "channel_not_found"):
        text += f" Invite @rootkey to get the {name} here (`/invite @rootkey`)."
    return check_limits(Message(blocks=[mrkdwn_section(f":warning: {text}")], text=text))


def audit_failed(error: str) -> Message:
    text = (
        f"Root key digest: the audit could not run, so nothing is known about the accounts "
        f"today: {error}"
    )
    return check_limits(
        Message(
            blocks=[
                header("Root key digest: audit failed"),
                mrkdwn_section(f":x: {escape(text)}", block_id="rootkey_digest_summary"),
            ],
            text=text,
        )
    )


def digest_started(channel: str) -> Message:
    text = "Auditing and building the digest; it will be posted in this channel."
    return check_limits(Message(blocks=[mrkdwn_section(text)], text=text))


__all__ = [
    "attachment_failed",
    "audit_failed",
    "digest_message",
    "digest_started",
    "fallback",
]
