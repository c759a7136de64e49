"""The App Home tab: one ``home`` view per user, drawn from a ``HomeSnapshot`` (pure).

Slack allows at most 100 blocks in a view; long lists are cut to their first entries with a
line saying how many more there are, and the whole view is checked before it is returned.
Findings keep the buttons they have in a channel (Request remediation, Accept risk), with the
same action ids and values, so a click from Home opens the same form.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock

from bot.remediation.models import Request, RiskException
from bot.remediation.states import Kind
from bot.services.home import HomeSnapshot
from bot.slack.action_ids import ActionId
from bot.slack.blocks.common import (
    BlockLimitError,
    Message,
    check_limits,
    context,
    escape,
    header,
    mrkdwn_section,
    truncate,
)
from bot.slack.values import FindingRef

MAX_VIEW_BLOCKS = 100
MAX_FINDINGS = 15  # two blocks each
MAX_LINES = 15  # lines of one list section
HOME_BLOCK = "rootkey_home"  # block_id prefix of the Home tab's blocks


def when(value: datetime, zone: str) -> str:
    local = value.astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or zone)


def day(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def summary_text(snap: HomeSnapshot) -> str:
    """The Organization now (``snap.counts``: each account by its latest verdict), and when
    the last audit of any scope ran."""
    run = snap.last_run
    if run is None:
        return "*No audit yet.* Type `/rootkey check` in a channel to run the first one."
    c = snap.counts
    # Rounded down: 99.6% is never shown as 100%.
    compliance = f"{int(c.share)}% compliant" if c.total else "no accounts"
    accepted = f", {c.accepted} accepted risk" if c.accepted else ""
    return (
        f"*The Organization now*: *{plural(c.total, 'account')}*, "
        f"{c.noncompliant} noncompliant{accepted}, {c.error} error, {c.compliant} compliant: "
        f"*{compliance}* (each account by its latest audit; last audit "
        f"{when(run.finished_at, snap.zone)}, {escape(run.scope)}, {escape(run.trigger)})"
    )


def finding_blocks(snap: HomeSnapshot) -> list[Block]:
    blocks: list[Block] = [
        mrkdwn_section(
            f"*Open findings* ({snap.counts.noncompliant})",
            block_id=f"{HOME_BLOCK}_findings",
        )
    ]
    if not snap.open_findings:
        blocks.append(context("No root access key is open. :white_check_mark:"))
    for state in snap.open_findings[:MAX_FINDINGS]:
        days = state.days_open(snap.now)
        age = f"open {plural(days, 'day')}" if days is not None else "open"
        blocks.append(
            mrkdwn_section(
                f"*{escape(state.label)}*: {age}\n_{escape(truncate(state.reason, 300))}_",
                block_id=f"{HOME_BLOCK}_finding:{state.account_id}",
            )
        )
        value = FindingRef(state.account_id, str(state.run_id)).encode()
        blocks.append(
            ActionsBlock(
                block_id=f"{HOME_BLOCK}_finding_actions:{state.account_id}",
                elements=[
                    ButtonElement(
                        text="Request remediation",
                        action_id=ActionId.REQUEST_REMEDIATION.value,
                        value=value,
                        style="danger",
                    ),
                    ButtonElement(
                        text="Accept risk", action_id=ActionId.ACCEPT_RISK.value, value=value
                    ),
                ],
            )
        )
    more = snap.counts.noncompliant - MAX_FINDINGS
    if more > 0:
        blocks.append(context(f"and {more} more: `/rootkey check all` lists every one."))
    if snap.errors:
        ids = ", ".join(escape(s.label) for s in snap.errors[:10])
        errors = snap.counts.error
        extra = f" and {errors - 10} more" if errors > 10 else ""
        blocks.append(
            context(
                f":warning: {plural(errors, 'account')} could not be audited "
                f"last time: {ids}{extra}"
            )
        )
    return blocks


def request_line(req: Request, zone: str) -> str:
    what = "remediation" if req.kind is Kind.REMEDIATION else "risk exception"
    where = f" in <#{req.where.place}>" if req.where.place else ""
    return (
        f"• #{req.id} {what} of *{escape(req.label)}*: {req.state.value} since "
        f"{when(req.state_since, zone)}{where}"
    )


def list_section(title: str, lines: list[str], empty: str, block_id: str) -> list[Block]:
    if not lines:
        return [mrkdwn_section(f"*{title}*\n{empty}", block_id=block_id)]
    shown = lines[:MAX_LINES]
    if len(lines) > MAX_LINES:
        shown.append(f"_and {len(lines) - MAX_LINES} more_")
    return [mrkdwn_section(f"*{title}*\n" + "\n".join(shown), block_id=block_id)]


def request_blocks(snap: HomeSnapshot) -> list[Block]:
    blocks = list_section(
        "Your requests",
        [request_line(r, snap.zone) for r in snap.mine],
        "None open.",
        f"{HOME_BLOCK}_mine",
    )
    waiting = list_section(
        "Waiting for your approval",
        [request_line(r, snap.zone) + f" (asked by <@{r.requester}>)" for r in snap.to_approve],
        "Nothing waits for you.",
        f"{HOME_BLOCK}_to_approve",
    )
    blocks += waiting
    if not snap.approvers_known:
        blocks.append(
            context("An approver group could not be read from Slack: this list may be short.")
        )
    return blocks


def risk_label(e: RiskException) -> str:
    return f"{e.account_id} ({e.account_name})" if e.account_name else e.account_id


def accepted_blocks(snap: HomeSnapshot) -> list[Block]:
    lines = [
        f"• *{escape(risk_label(e))}*: owner <@{e.owner}>, until {day(e.expires_at)}"
        for e in snap.accepted
    ]
    return list_section("Accepted risks", lines, "None.", f"{HOME_BLOCK}_accepted")


def alert_blocks(snap: HomeSnapshot) -> list[Block]:
    if snap.alerts is None:
        return [
            context(
                "Root-activity alerts of the last 7 days show here once alerts are set up.",
                block_id=f"{HOME_BLOCK}_alerts",
            )
        ]
    lines = [
        f"• {when(a.at, snap.zone)}: root key {escape(a.activity)} in {escape(a.account_id)}"
        + (f" (<#{a.channel}>)" if a.channel else "")
        for a in snap.alerts
    ]
    return list_section("Root activity, last 7 days", lines, "None.", f"{HOME_BLOCK}_alerts")


def digest_block(snap: HomeSnapshot) -> Block:
    if snap.digest_channel and snap.next_digest:
        text = f"*Next digest* {when(snap.next_digest, snap.zone)} in <#{snap.digest_channel}>"
    else:
        text = "*No scheduled digest* (set `ROOTKEY_DIGEST_CHANNEL`)."
    return context(text, block_id=f"{HOME_BLOCK}_digest")


def home_message(snap: HomeSnapshot) -> Message:
    blocks: list[Block] = [
        header("rootkey: root access keys", block_id=f"{HOME_BLOCK}_header"),
        context(f"For <@{snap.user}>, as of {when(snap.now, snap.zone)}"),
        mrkdwn_section(summary_text(snap), block_id=f"{HOME_BLOCK}_summary"),
        DividerBlock(),
        *finding_blocks(snap),
        DividerBlock(),
        *request_blocks(snap),
        *accepted_blocks(snap),
        DividerBlock(),
        *alert_blocks(snap),
        digest_block(snap),
    ]
    text = summary_text(snap).replace("*", "")
    message = Message(blocks, text)
    if len(blocks) > MAX_VIEW_BLOCKS:
        raise BlockLimitError(f"{len(blocks)} blocks; a view allows {MAX_VIEW_BLOCKS}")
    seen: set[str] = set()
    for block in blocks:  # the per-block checks (check_limits caps messages at 50 blocks)
        check_limits(Message([block], text))
        if block.block_id in seen:
            raise BlockLimitError(f"duplicate block_id {block.block_id}")
        if block.block_id:
            seen.add(block.block_id)
    return message


def home_view(snap: HomeSnapshot) -> dict[str, Any]:
    """The ``view`` argument of ``views.publish``."""
    message = home_message(snap)
    return {"type": "home", "blocks": [b.to_dict() for b in message.blocks]}
