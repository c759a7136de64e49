"""The result of an audit as a Slack message.

One section per noncompliant account (worst first), each followed by its "Request
remediation" and "Accept risk" buttons; accounts that could not be checked grouped by their
error ("37 accounts could not be checked: AssumeRole RootkeyAudit: AccessDenied", then their
ids), largest group first; accounts whose risk was accepted (an approved, unexpired exception)
in a short section of their own, counted apart in the header; the compliant accounts in one
line; a "Re-run" button. However large the Organization and however long AWS's error text, the
message stays within Slack's limits, its block text within ``MAX_MESSAGE_TEXT``: it shows the
worst accounts that fit, says how many more there are, and that the full report is in the
thread (``needs_report`` tells the caller to upload it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    DividerBlock,
)

from bot.audit.models import AuditResult, Scope, Status, Verdict
from bot.remediation.keys import NO_CHANGES, KeyChanges
from bot.remediation.models import RiskException
from bot.rules import is_user_id
from bot.services.org_state import Counts, Standing, counts, verdict_standing
from bot.slack.action_ids import ActionId, BlockId
from bot.slack.blocks.audit_layout import (
    MAX_FINDINGS,
    MAX_NOTE_TEXT,
    MAX_SCOPE_TEXT,
    Layout,
    accepted_title,
    compliant_line,
    error_head,
    error_label,
    error_tail,
    finding_text,
    needs_report,
    plan,
    severity,
    where_report,
)
from bot.slack.blocks.common import (
    MAX_FALLBACK_TEXT,
    Message,
    check_limits,
    context,
    escape,
    fmt_date,
    header,
    mrkdwn_section,
    truncate,
)
from bot.slack.values import FindingRef, encode_scope

__all__ = ["MAX_FINDINGS", "audit_failed", "audit_result", "needs_report"]


def finding_buttons(verdict: Verdict, run_id: str | None) -> ActionsBlock:
    """A noncompliant finding's two ways forward: fix it, or accept the risk for a while.
    Both open the request form of the remediation flow (values carry ids only)."""
    value = FindingRef(verdict.account_id, run_id).encode()
    return ActionsBlock(
        block_id=f"{BlockId.FINDING_ACTIONS.value}:{verdict.account_id}",
        elements=[
            ButtonElement(
                text="Request remediation",
                action_id=ActionId.REQUEST_REMEDIATION.value,
                value=value,
                style="danger",
            ),
            ButtonElement(text="Accept risk", action_id=ActionId.ACCEPT_RISK.value, value=value),
        ],
    )


def accepted_words(count: int) -> str:
    return f"{count} accepted risk{'s' if count != 1 else ''}"


def check_counts(result: AuditResult, layout: Layout) -> Counts:
    """The audit's accounts counted by the one counting function (accepted risks apart)."""
    accepted = {v.account_id for v, _ in layout.accepted}
    return counts(verdict_standing(v.status, v.account_id in accepted) for v in result.verdicts)


@dataclass(frozen=True)
class Only:
    """The one account of a one-account check, as its headline names it."""

    label: str
    standing: Standing
    accepted_until: datetime | None = None


def headline_for(c: Counts, only: Only | None = None) -> str:
    """The result's header from its counts (when written and after entries are updated)."""
    also = f" (and {accepted_words(c.accepted)})" if c.accepted else ""
    if c.total == 0:
        return "No accounts were audited"
    if c.total == 1 and only is not None:
        if only.standing is Standing.ACCEPTED and only.accepted_until is not None:
            until = fmt_date(only.accepted_until.astimezone(UTC))
            return f"Root access key in {only.label}: risk accepted until {until}"
        return {
            Standing.NONCOMPLIANT: f"Root access key found in {only.label}",
            Standing.ACCEPTED: f"Root access key in {only.label}: risk accepted",
            Standing.ERROR: f"Could not check {only.label}",
            Standing.COMPLIANT: f"No root access key in {only.label}",
        }[only.standing]
    if c.noncompliant:
        return f"Root access keys in {c.noncompliant} of {c.total} accounts{also}"
    if c.error:
        return (
            f"No root access keys needing action{also}, but {c.error} of {c.total} accounts "
            "not checked"
        )
    if c.accepted:
        return f"No root access keys needing action: {accepted_words(c.accepted)} of {c.total}"
    return f"No root access keys: all {c.total} accounts compliant"


def headline(result: AuditResult, layout: Layout) -> str:
    c = check_counts(result, layout)
    only = None
    if c.total == 1:
        verdict = result.verdicts[0]
        until = layout.accepted[0][1].expires_at if layout.accepted else None
        only = Only(verdict.label, verdict_standing(verdict.status, bool(until)), until)
    return headline_for(c, only)


def counts_line(c: Counts) -> str:
    parts = [f":red_circle: *{c.noncompliant}* noncompliant"]
    if c.accepted:
        parts.append(f":large_yellow_circle: *{c.accepted}* accepted risk")
    if c.error:
        parts.append(f":warning: *{c.error}* could not be checked")
    parts.append(f":white_check_mark: *{c.compliant}* compliant")
    return "   ".join(parts)


def who(requested_by: str | None) -> str:
    if not requested_by:
        return ""
    return f" · asked by <@{requested_by}>" if is_user_id(requested_by) else ""


def fallback(result: AuditResult, layout: Layout) -> str:
    c = check_counts(result, layout)
    excepted = {v.account_id for v, _ in layout.accepted}
    worst = [
        v.label
        for v in sorted(result.verdicts, key=severity)
        if v.status is Status.NONCOMPLIANT and v.account_id not in excepted
    ]
    text = f"rootkey: {headline(result, layout)}."
    if worst:
        text += " Noncompliant: " + ", ".join(worst[:10]) + (" …" if len(worst) > 10 else "") + "."
    if layout.accepted and c.total > 1:
        names = [v.label for v, _ in layout.accepted]
        text += " Accepted risk: " + ", ".join(names[:10]) + (" …" if len(names) > 10 else "")
        text += "."
    if c.error and c.total > 1:
        text += f" {c.error} could not be checked."
    return truncate(escape(text), MAX_FALLBACK_TEXT)


def accepted_section(layout: Layout, report_in_thread: bool) -> str:
    lines = [accepted_title(len(layout.accepted)), *layout.accepted_lines]
    more = len(layout.accepted) - len(layout.accepted_lines)
    if more:
        lines.append(f"…and {more} more, each listed in {where_report(report_in_thread)}")
    return "\n".join(lines)


def audit_result(
    result: AuditResult,
    scope: Scope,
    *,
    run_id: str | None = None,
    requested_by: str | None = None,
    note: str | None = None,
    report_in_thread: bool = True,
    exceptions: Sequence[RiskException] = (),
    key_changes: KeyChanges = NO_CHANGES,
) -> Message:
    """The channel message for one audit. ``note`` is already-escaped mrkdwn shown above the
    buttons (e.g. why the message came through the command's reply link). ``exceptions`` are
    the active accepted risks (``RemediationService.active_exceptions()``): their accounts are
    shown apart and not counted as noncompliant, unless ``key_changes`` (the accounts' latest
    root key created or reactivated, from the check's result) says the audit may miss a key."""
    layout = plan(result, exceptions, key_changes)
    c = check_counts(result, layout)
    took = (result.finished_at - result.started_at).total_seconds()
    blocks = [
        header(headline(result, layout), block_id=BlockId.HEADER.value),
        mrkdwn_section(counts_line(check_counts(result, layout)), block_id=BlockId.SUMMARY.value),
        context(
            f"Scope: {escape(truncate(scope.describe(), MAX_SCOPE_TEXT - 200))}"
            f"{who(requested_by)} · {result.finished_at:%Y-%m-%d %H:%M} UTC · {took:.1f} s",
        ),
    ]
    blocks.append(DividerBlock())
    for verdict in layout.findings:
        blocks.append(
            mrkdwn_section(
                finding_text(verdict, layout.not_covered.get(verdict.account_id)),
                block_id=f"{BlockId.FINDING.value}:{verdict.account_id}",
            )
        )
        if verdict.status is Status.NONCOMPLIANT:
            blocks.append(finding_buttons(verdict, run_id))
    for number, group in enumerate(layout.errors, 1):
        if len(group.verdicts) == 1:
            only = group.verdicts[0]
            blocks.append(
                mrkdwn_section(
                    finding_text(only), block_id=f"{BlockId.FINDING.value}:{only.account_id}"
                )
            )
            continue
        names = ", ".join(error_label(v) for v in group.verdicts[: group.named])
        blocks.append(
            mrkdwn_section(
                error_head(group.reason, len(group.verdicts))
                + names
                + error_tail(group.hidden, report_in_thread),
                block_id=f"{BlockId.ERRORS.value}:{number}",
            )
        )
    if layout.accepted:
        blocks.append(
            mrkdwn_section(
                accepted_section(layout, report_in_thread), block_id=BlockId.ACCEPTED.value
            )
        )
    if c.total == 1 and layout.compliant:
        # A check of one account always names it, in a section of its own.
        blocks.append(
            mrkdwn_section(finding_text(layout.compliant[0]), block_id=BlockId.COMPLIANT.value)
        )
    elif layout.compliant:
        blocks.append(mrkdwn_section(compliant_line(layout.compliant), block_id=BlockId.COMPLIANT))
    elif layout.compliant_count:
        blocks.append(
            mrkdwn_section(
                f":white_check_mark: {layout.compliant_count} accounts compliant"
                f" (each one is listed in {where_report(report_in_thread)})",
                block_id=BlockId.COMPLIANT.value,
            )
        )
    if layout.hidden_findings:
        shown = len(layout.findings) + sum(g.named for g in layout.errors)
        blocks.append(
            context(
                f":page_facing_up: Showing the {shown} worst of {shown + layout.hidden_findings}"
                f" accounts with findings; every account is in {where_report(report_in_thread)}.",
                block_id=BlockId.NOTE.value,
            )
        )
    if note:
        blocks.append(context(truncate(note, MAX_NOTE_TEXT)))
    blocks.append(
        ActionsBlock(
            block_id=BlockId.ACTIONS.value,
            elements=[
                ButtonElement(
                    text="Re-run",
                    action_id=ActionId.RERUN.value,
                    value=encode_scope(scope),
                )
            ],
        )
    )
    return check_limits(Message(blocks=blocks, text=fallback(result, layout)))


def audit_failed(scope: Scope, reason: str, error_id: str | None = None) -> Message:
    """The audit as a whole could not run (e.g. the Organization could not be listed)."""
    ref = f" (error id `{error_id}`)" if error_id else ""
    text = (
        f":warning: The audit of {escape(scope.describe())} could not run: "
        f"{escape(truncate(reason, 1000))}{ref}. Nothing was marked compliant."
    )
    blocks = [
        mrkdwn_section(text),
        ActionsBlock(
            block_id=BlockId.ACTIONS.value,
            elements=[
                ButtonElement(
                    text="Re-run", action_id=ActionId.RERUN.value, value=encode_scope(scope)
                )
            ],
        ),
    ]
    return check_limits(Message(blocks=blocks, text=truncate(text, MAX_FALLBACK_TEXT)))
