"""``/rootkey status``: open requests (each linked to its message, with a Cancel button) and
accepted risks (each with a Revoke button, and why it no longer covers its account where the
last audit shows other keys)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ConfirmObject

from bot.remediation.models import Request, RiskException
from bot.remediation.states import State
from bot.services.org_state import Counts
from bot.slack.action_ids import ActionId
from bot.slack.blocks.common import (
    MAX_MESSAGE_TEXT,
    Message,
    TextBudget,
    block_text,
    check_limits,
    escape,
    mrkdwn_section,
    one_line,
    truncate,
)
from bot.slack.blocks.remediation import (
    STATE_ICON,
    account_text,
    cancel_button,
    kind_word,
    when,
)

MAX_STATUS_ROWS = 40
HALF_BUDGET = (MAX_MESSAGE_TEXT - 400) // 2  # block text of each of the two lists
MAX_REVOKE_BUTTONS = 8  # accepted risks shown with their own Revoke button
MAX_CANCEL_BUTTONS = 8  # open requests shown with their own Cancel button
TEAM_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


# -- /rootkey status ---------------------------------------------------------------------------


def status_message(
    requests: Sequence[Request],
    exceptions: Sequence[RiskException],
    zone: ZoneInfo,
    not_covering: Mapping[int, str] | None = None,
    team_domain: str | None = None,
    counts: Counts | None = None,
) -> Message:
    """Open requests, then accepted risks, each with a "Revoke" button (approvers and the risk
    owner may end it early) and, where its account's last audit shows keys it was not accepted
    for, why it no longer covers the account (``not_covering``: request id -> why). Each list
    takes at most half of the message's text budget; "…and N more" says what did not fit.
    ``counts``: the Organization now (``bot.services.org_state``), shown first."""
    blocks: list[Any] = []
    if counts is not None:
        blocks.append(mrkdwn_section(organization_line(counts)))
    blocks.append(mrkdwn_section("*Open remediation requests*"))
    lines: list[str] = []
    budget = TextBudget(HALF_BUDGET)
    shown = 0
    for n, req in enumerate(list(requests)[:MAX_STATUS_ROWS]):
        who = f", assigned to <@{req.assignee}>" if req.assignee else ""
        line = (
            f"{STATE_ICON[req.state]} {request_link(req, team_domain)} "
            f"{kind_word(req.kind).lower()} · "
            f"{account_text(req.account_id, req.account_name)} · *{req.state.value}*{who} · "
            f"since {when(req.state_since, zone)}"
        )
        buttons = (
            [ActionsBlock(
                block_id=f"rootkey_cancel:{n}:{req.id}", elements=[cancel_button(req, "Cancel")]
            )]
            if n < MAX_CANCEL_BUTTONS and req.state is not State.EXECUTING
            else []
        )  # fmt: skip
        if not budget.take(len(line) + 1 + block_text(buttons)):
            break
        if buttons:
            blocks += [mrkdwn_section(line), *buttons]
        else:
            lines.append(line)
        shown += 1
    if not requests:
        lines.append("None.")
    elif len(requests) > shown:
        lines.append(f"…and {len(requests) - shown} more.")
    lines.append("")
    lines.append("*Accepted risks (shown apart until they expire)*")
    if not exceptions:
        lines.append("None.")
    blocks += sections(lines)
    lapsed = not_covering or {}
    rows: list[str] = []
    budget = TextBudget(HALF_BUDGET)
    shown = 0
    for n, exc in enumerate(list(exceptions)[:MAX_STATUS_ROWS]):
        line = (
            f":shield: #{exc.request_id} {account_text(exc.account_id, exc.account_name)} · "
            f"owner <@{exc.owner}> · until {when(exc.expires_at, zone)} · "
            f"“{one_line(exc.reason, 120)}”"
        )
        if exc.request_id in lapsed:
            why = escape(truncate(lapsed[exc.request_id], 300))
            line += f"\n:warning: It no longer covers the account: {why}"
        button = [revoke_button(exc, n)] if n < MAX_REVOKE_BUTTONS else []
        if not budget.take(len(line) + 1 + block_text(button)):
            break
        if button:
            blocks += [mrkdwn_section(line), *button]
        else:
            rows.append(line)
        shown += 1
    if len(exceptions) > shown:
        rows.append(f"…and {len(exceptions) - shown} more.")
    if rows:
        blocks += sections(rows)
    text = f"{len(requests)} open remediation requests, {len(exceptions)} accepted risks"
    return check_limits(Message(blocks=blocks, text=text))


def organization_line(c: Counts) -> str:
    """The Organization's counts, as the Home tab and the digest show them."""
    return (
        f"*The Organization now*: {c.total} account{'s' if c.total != 1 else ''} · "
        f"{c.noncompliant} noncompliant · {c.accepted} accepted risk · "
        f"{c.error} could not be checked · {c.compliant} compliant · "
        f"{int(c.share)}% compliant (each account by its latest audit)"
    )


def request_link(req: Request, team_domain: str | None) -> str:
    """``#12`` linking to the request message (Slack's permalink form, built from the
    workspace's domain the command came with), plain ``#12`` when either is unknown."""
    channel, thread, message = req.where.place, req.where.thread, req.where.message
    if not (team_domain and TEAM_DOMAIN.fullmatch(team_domain) and message):
        return f"#{req.id}"
    path = f"https://{team_domain}.slack.com/archives/{channel}/p{message.replace('.', '')}"
    if thread and thread != message:
        path += f"?thread_ts={thread}&cid={channel}"
    return f"<{path}|#{req.id}>"


def revoke_button(exc: RiskException, n: int) -> ActionsBlock:
    return ActionsBlock(
        block_id=f"rootkey_revoke:{n}:{exc.request_id}",
        elements=[
            ButtonElement(
                text="Revoke",
                action_id=ActionId.REVOKE_EXCEPTION.value,
                value=str(exc.request_id),
                confirm=ConfirmObject(
                    title="Revoke this accepted risk?",
                    text=f"{exc.account_id} counts as noncompliant again at once.",
                    confirm="Revoke",
                    deny="Cancel",
                ),
            )
        ],
    )


def sections(lines: Sequence[str], limit: int = 2900) -> list[Any]:
    """Lines packed into as few sections as Slack's 3,000-character limit allows."""
    blocks: list[Any] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > limit:
            blocks.append(mrkdwn_section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        blocks.append(mrkdwn_section("\n".join(chunk)))
    return blocks
