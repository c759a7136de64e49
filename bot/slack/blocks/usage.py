"""What used a root key (CloudTrail, 90 days), for the request form and the request's thread.

Action names, source IPs and user agents come from CloudTrail records that whoever held the key
shaped: escaped like any other text. Key ids are masked. A region that could not be read is
said, and "no recorded use" is only said when every region was read.
"""

from __future__ import annotations

import copy
from datetime import tzinfo

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.events.usage import DAYS, KeyUsage, UsageReport
from bot.slack.blocks.common import (
    MAX_SECTION_TEXT,
    Message,
    check_limits,
    escape,
    mask,
    mrkdwn_section,
    truncate,
)

USAGE_BLOCK = "rootkey_key_usage"
MAX_ITEMS = 5
MAX_AGENT = 120


def counted(items: tuple[tuple[str, int], ...], limit: int = MAX_ITEMS, width: int = 80) -> str:
    shown = [f"{escape(truncate(name, width))} ×{n}" for name, n in items[:limit]]
    rest = len(items) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest > 0 else "")


def key_lines(usage: KeyUsage, zone: tzinfo) -> list[str]:
    if usage.total == 0:
        return [f"• {mask(usage.key_id)}: no recorded use in {DAYS} days"]
    assert usage.first_seen is not None and usage.last_seen is not None
    first = usage.first_seen.astimezone(zone).strftime("%Y-%m-%d")
    last = usage.last_seen.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    more = "+" if usage.truncated else ""
    lines = [
        f"• {mask(usage.key_id)}: {usage.total}{more} calls, first {first}, last {last}",
        f"   {counted(usage.actions)}",
        f"   from {counted(usage.sources)}" if usage.sources else "",
        f"   user agents: {counted(usage.agents, 3, MAX_AGENT)}" if usage.agents else "",
    ]
    return [line for line in lines if line]


def usage_text(report: UsageReport, zone: tzinfo) -> str:
    regions = ", ".join(escape(r) for r in report.regions)
    title = f"*What used the root keys* (CloudTrail, last {DAYS} days, {regions})"
    lines = [title]
    if report.unused:
        lines.append(f"No recorded use of a root access key in {DAYS} days.")
    for usage in report.keys:
        lines.extend(key_lines(usage, zone))
    if report.problems:
        lines.append(
            ":warning: Not read: "
            + "; ".join(escape(p) for p in report.problems)
            + ". Something may still use a key."
        )
    if report.truncated:
        lines.append("Only the most recent events were read.")
    return truncate("\n".join(lines), MAX_SECTION_TEXT)


def usage_blocks(report: UsageReport, zone: tzinfo) -> list[Block]:
    return [mrkdwn_section(usage_text(report, zone), block_id=USAGE_BLOCK)]


def usage_note(report: UsageReport, zone: tzinfo) -> Message:
    """The request's thread: what used the keys, for the approvers."""
    text = usage_text(report, zone)
    return check_limits(Message(blocks=usage_blocks(report, zone), text=truncate(text, 3000)))


LOOKING = ":hourglass_flowing_sand: Looking up what used the root keys (CloudTrail, 90 days)…"
MAX_MODAL_BLOCKS = 100


def with_usage(view: View, report: UsageReport | None, zone: tzinfo) -> View:
    """The request form with what used the keys above its fields (``None``: still looking)."""
    section = (
        usage_blocks(report, zone)
        if report is not None
        else [mrkdwn_section(LOOKING, block_id=USAGE_BLOCK)]
    )
    blocks = [b for b in view.blocks or [] if b.block_id != USAGE_BLOCK]
    at = next((i for i, b in enumerate(blocks) if b.type == "input"), len(blocks))
    if len(blocks) + len(section) > MAX_MODAL_BLOCKS:
        return view
    updated = copy.copy(view)
    updated.blocks = [*blocks[:at], *section, *blocks[at:]]
    return updated
