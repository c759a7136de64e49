"""Short replies to ``/rootkey``: help, usage errors, the ack line, notes."""

from __future__ import annotations

from bot.audit.models import Scope
from bot.slack.action_ids import SLASH_COMMAND
from bot.slack.blocks.common import Message, check_limits, context, escape, mrkdwn_section

# (usage, what it does); later features append their lines here.
HELP_LINES: list[tuple[str, str]] = [
    ("check", "audit what this bot watches (its own AWS account, or the whole Organization)"),
    ("check all", "audit every active account of the Organization"),
    ("check 123456789012 [...]", "audit the accounts named (12-digit ids or account names)"),
    ("digest", "post the compliance digest in this channel now"),
    (
        "history 123456789012",
        "that account's timeline (by id or name): its root key, requests, approvals, deletions",
    ),
    ("status", "open remediation requests and accepted risks"),
    ("help", "this help"),
]

INVITE_HINT = f"type `/invite @rootkey` in this channel, then run `{SLASH_COMMAND} check` again"
# Where the bot is not a member and cannot join (a private channel, a DM): files need an invite.
INVITE_FOR_FILES = "invite @rootkey to get the CSV here (`/invite @rootkey`)"
CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found"})


def help_message(problem: str | None = None) -> Message:
    lines = [f"• `{SLASH_COMMAND} {usage}`: {what}" for usage, what in HELP_LINES]
    intro = f":grey_question: {escape(problem)}\n\n" if problem else ""
    text = f"{intro}*rootkey* keeps AWS root-user access keys at zero.\n" + "\n".join(lines)
    return check_limits(
        Message(
            blocks=[mrkdwn_section(text)],
            text=f"{escape(problem) + ' ' if problem else ''}rootkey commands: "
            + ", ".join(u for u, _ in HELP_LINES),
        )
    )


def usage_error(problem: str) -> Message:
    """One private line saying what was wrong, then the help."""
    return help_message(problem)


def ack_text(scope: Scope) -> str:
    if scope.kind == "accounts":
        n = len(scope.account_ids)
        what = f"{n} account{'s' if n != 1 else ''}"
    elif scope.kind == "org":
        what = "every active account of the Organization"
    else:
        what = "the account of the bot's AWS credentials"
    return f":mag: Auditing {what}… the result will be posted in this channel."


def busy_text(pending: int) -> str:
    return f":hourglass: rootkey is already running {pending} audits; try again in a minute."


def not_in_channel_note(error: str) -> str:
    """Appended to a result that came through the command's reply link."""
    return (
        f":information_source: rootkey could not post in this channel ({escape(error)}), "
        f"so this came through the command's reply link: {INVITE_FOR_FILES}. To get threads, "
        f"buttons and reports here, {INVITE_HINT}."
    )


def not_saved_note(error: str | None) -> str | None:
    """Shown under a result that the store could not record (the error itself is logged: it
    may name the database's host, port and role)."""
    if not error:
        return None
    return (
        ":warning: This result was not saved (database not available): history, digests "
        "and remediation requests will not see it until a later check is saved."
    )


def exceptions_unread_note() -> str:
    """Shown under a result when the accepted risks could not be read."""
    return (
        ":warning: Accepted risks could not be read from the database, so every account with a "
        "root access key is listed as a finding."
    )


def report_failed(error: str) -> Message:
    invite = f"{INVITE_FOR_FILES}, or " if error in CHANNEL_ERRORS else ""
    text = (
        f":warning: The full report could not be attached ({escape(error)}); "
        f"{invite}`python -m bot check --format csv` writes the same report."
    )
    return check_limits(Message(blocks=[mrkdwn_section(text)], text=text))


def error_message(text: str, error_id: str | None = None, *, mrkdwn: str | None = None) -> Message:
    """One private error line. ``text`` is plain (escaped here); ``mrkdwn``, when given, is the
    same line built by the bot from trusted parts only and is shown as is (mentions stay
    mentions)."""
    ref = f" (error id `{error_id}`)" if error_id else ""
    line = (mrkdwn if mrkdwn else escape(text)) + ref
    return check_limits(Message(blocks=[mrkdwn_section(f":warning: {line}")], text=line))


def delivery_failed(error: str) -> Message:
    text = f":warning: rootkey finished the audit but could not post the result ({escape(error)})."
    return check_limits(Message(blocks=[mrkdwn_section(text), context(INVITE_HINT)], text=text))


def note(text: str) -> Message:
    """A one-line private note of text the bot wrote itself (already valid mrkdwn)."""
    return check_limits(Message(blocks=[mrkdwn_section(text)], text=text))
