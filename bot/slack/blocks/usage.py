"""What used a root key (CloudTrail, 90 days), for the request form and the request's thread.

Action names, source IPs and user agents come from CloudTrail records that whoever held the key
shaped: escaped like any other text. Key ids are masked. "No recorded use" is only said when
everything was read: a region that could not be read is named, a region read in part says how
far back it was read ("the 1,000 most recent events, back to …; older events not read"), and a
use the credential report shows that the lookup did not find is said, not contradicted.
"""

from __future__ import annotations

import copy
from datetime import datetime, tzinfo

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.events.usage import DAYS, Cut, KeyUsage, ReportedUse, UsageReport
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


def when(at: datetime, zone: tzinfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def key_lines(usage: KeyUsage, zone: tzinfo, complete: bool) -> list[str]:
    """One key's calls; with none, "no recorded use" only when everything was read."""
    if usage.total == 0:
        none = f"no recorded use in {DAYS} days" if complete else "no call among the events read"
        return [f"• {mask(usage.key_id)}: {none}"]
    assert usage.first_seen is not None and usage.last_seen is not None
    first = usage.first_seen.astimezone(zone).strftime("%Y-%m-%d")
    last = when(usage.last_seen, zone)
    more = "+" if usage.truncated else ""
    calls = "call" if usage.total == 1 and not more else "calls"
    lines = [
        f"• {mask(usage.key_id)}: {usage.total}{more} {calls}, first {first}, last {last}",
        f"   {counted(usage.actions)}",
        f"   from {counted(usage.sources)}" if usage.sources else "",
        f"   user agents: {counted(usage.agents, 3, MAX_AGENT)}" if usage.agents else "",
    ]
    return [line for line in lines if line]


def cut_line(cut: Cut, zone: tzinfo) -> str:
    """How far back a region read in part was read."""
    if cut.back_to is None:
        read = "no event read before the lookup stopped"
    elif cut.events == 1:
        read = f"the most recent event only, at {when(cut.back_to, zone)}"
    else:
        read = f"the {cut.events:,} most recent events, back to {when(cut.back_to, zone)}"
    return f":warning: Read in part, {escape(cut.region)}: {read}; older events not read."


def unseen_line(use: ReportedUse, report: UsageReport, zone: tzinfo) -> str:
    """A use the credential report shows and the lookup did not find, and why it may not."""
    where = ", ".join(escape(w) for w in (use.service, use.region) if w and w != "N/A")
    older = any(c.back_to is not None and use.at < c.back_to for c in report.cuts)
    why = (
        "it is older than the events read"
        if older
        else "a data event such as an S3 object read, or a call in a region not read"
    )
    return (
        f":warning: The credential report shows key {use.slot} last used "
        f"{when(use.at, zone)}{f' ({where})' if where else ''}: not found in CloudTrail's "
        f"event history ({why}). The key was used; the lookup did not see it."
    )


def usage_text(report: UsageReport, zone: tzinfo) -> str:
    regions = ", ".join(escape(r) for r in report.regions)
    span = f"last {DAYS} days" if not report.cuts else f"last {DAYS} days, as far as read"
    lines = [f"*What used the root keys* (CloudTrail, {span}, {regions})"]
    if report.unused:
        lines.append(f"No recorded use of a root access key in {DAYS} days.")
    for usage in report.keys:
        lines.extend(key_lines(usage, zone, report.complete))
    lines.extend(unseen_line(use, report, zone) for use in report.unseen)
    if report.problems:
        lines.append(
            ":warning: Not read: "
            + "; ".join(escape(p) for p in report.problems)
            + ". Something may still use a key."
        )
    lines.extend(cut_line(cut, zone) for cut in report.cuts)
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
