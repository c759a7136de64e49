"""How a finding ended, shown on the check result message it came from.

A result message names several accounts, each with its section (``rootkey_finding:<id>``) and
buttons (``rootkey_finding_actions:<id>``). When a request from it ends verified, or the risk is
accepted, that account's section is replaced by the outcome and its buttons are removed (when
the accepted risk ends, the entry says so: the account counts again); every
other block is kept as Slack returned it (other accounts may have ended earlier, and their
buttons must keep working). ``settle`` works on the message as it stands, not on a rebuilt one.
``recount`` then writes the header and the counts line from the Organization's current state
(``bot.services.org_state``) over the check's scope (read from its "Re-run" button), so the
header never says "4 noncompliant" above two entries that are fixed.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from bot.remediation.models import Request
from bot.remediation.states import Kind, Mode, State
from bot.services.org_state import OrgState
from bot.slack.action_ids import ActionId, BlockId
from bot.slack.blocks.audit import Only, counts_line, headline_for
from bot.slack.blocks.audit_layout import FINDING_HEAD, FINDING_ICON, mention
from bot.slack.blocks.common import MAX_FALLBACK_TEXT, MAX_SECTION_TEXT, escape, fmt_date, truncate
from bot.slack.values import BadValue, decode_scope

Json = dict[str, Any]


def people(users: list[str]) -> str:
    names = [mention(u) for u in dict.fromkeys(users)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def outcome_line(req: Request) -> str | None:
    """The outcome of ``req`` as its finding shows it, or None when it did not end one."""
    if req.kind is Kind.REMEDIATION and req.state is State.VERIFIED:
        how = "key removed (manual fix)" if req.mode is Mode.TRACKED else "key deleted"
        at = req.state_since.astimezone(UTC)
        return f"Fixed: {how}, verified {at:%H:%M} UTC by re-audit"
    if req.kind is Kind.EXCEPTION and req.state is State.APPROVED and req.exception_until:
        until = fmt_date(req.exception_until.astimezone(UTC))
        deciders = [a.user for a in req.approvals]
        by = f" by {people(deciders)}" if deciders else ""
        owner = req.owner or req.requester
        return f"Accepted risk until {until}{by} (risk owner {mention(owner)})"
    end = req.exception_until
    # An accepted risk that ended (approved: not a request that expired undecided).
    if req.kind is Kind.EXCEPTION and req.state is State.EXPIRED and req.approvals and end:
        ended = req.state_since.astimezone(UTC)
        how = "revoked before its end" if ended < end else "ran out"
        return (
            f"Accepted risk ended {ended:%Y-%m-%d %H:%M} UTC ({how}): the account counts again; "
            "run the check to act on it"
        )
    return None


def outcome_text(req: Request, line: str, label: str | None = None) -> str:
    """The account's new entry; ``label`` is how the finding named the account (its name
    kept even where the request does not know it)."""
    icon = (
        ":white_check_mark:"
        if req.kind is Kind.REMEDIATION
        else ":red_circle:"
        if req.state is State.EXPIRED
        else ":large_yellow_circle:"
    )
    label = label or account_label_of(req)
    return truncate(f"{icon} {label}: {line}. Request #{req.id}.", MAX_SECTION_TEXT)


def account_label_of(req: Request) -> str:
    """As the finding named the account (``audit_layout.account_label``)."""
    name = f" · {escape(req.account_name)}" if req.account_name else ""
    return f"*{req.account_id}*{name}"


def shown_label(blocks: list[Json], account_id: str) -> str | None:
    """The account's label as its finding shows it (``*id* · name``), already escaped; None
    when the entry is not a finding's (already settled, or another kind of message)."""
    for block in blocks:
        if (
            isinstance(block, dict)
            and block.get("block_id") == f"{BlockId.FINDING.value}:{account_id}"
        ):
            text = (block.get("text") or {}).get("text")
            first = str(text or "").split("\n", 1)[0]
            head = f"{FINDING_ICON} *{account_id}*"
            if first.startswith(head) and first.endswith(FINDING_HEAD):
                return first[len(FINDING_ICON) + 1 : -len(FINDING_HEAD)]
    return None


def settle(blocks: list[Json], account_id: str, text: str) -> list[Json] | None:
    """``blocks`` with ``account_id``'s section saying ``text`` and its buttons removed; None
    when the message has no section for the account (another kind of message, or an account
    only the CSV lists)."""
    section_id = f"{BlockId.FINDING.value}:{account_id}"
    actions_id = f"{BlockId.FINDING_ACTIONS.value}:{account_id}"
    out: list[Json] = []
    found = False
    for block in blocks:
        if not isinstance(block, dict):
            return None
        if block.get("block_id") == actions_id:
            continue
        if block.get("block_id") == section_id and block.get("type") == "section":
            found = True
            block = {**block, "text": {"type": "mrkdwn", "text": text}}
            block.pop("accessory", None)
        out.append(block)
    return out if found else None


def check_scope_of(blocks: list[Json]) -> tuple[str, tuple[str, ...]] | None:
    """(scope kind, named account ids) from the result's "Re-run" button; None when the
    message has none (another kind of message) or its value is not one rootkey wrote."""
    for block in blocks:
        if not isinstance(block, dict) or block.get("block_id") != BlockId.ACTIONS.value:
            continue
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == ActionId.RERUN.value:
                try:
                    scope = decode_scope(str(element.get("value") or ""))
                except BadValue:
                    return None
                return scope.kind, scope.account_ids
    return None


def recount(blocks: list[Json], org: OrgState) -> tuple[list[Json], str] | None:
    """``blocks`` with the header and counts line of the check's accounts as they stand now
    (``org``, restricted to the named accounts of a named check), and the message's new
    fallback text; None when the message is not a check result."""
    scope = check_scope_of(blocks)
    if scope is None:
        return None
    kind, named = scope
    if kind == "accounts":
        org = org.among(named)
    c = org.counts
    only = None
    if c.total == 1:
        account = org.accounts[0]
        until = account.risk.expires_at if account.risk is not None else None
        only = Only(account.state.label, account.standing, until)
    title = headline_for(c, only)
    out: list[Json] = []
    for block in blocks:
        if block.get("block_id") == BlockId.HEADER.value and block.get("type") == "header":
            block = {**block, "text": {"type": "plain_text", "text": truncate(title, 150)}}
        elif block.get("block_id") == BlockId.SUMMARY.value and block.get("type") == "section":
            block = {**block, "text": {"type": "mrkdwn", "text": counts_line(c)}}
        out.append(block)
    return out, truncate(escape(f"rootkey: {title}."), MAX_FALLBACK_TEXT)
