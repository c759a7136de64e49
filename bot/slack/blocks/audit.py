"""The result of an audit as a Slack message.

One section per account with a finding (worst first) carrying a "Request remediation" button,
the compliant accounts in one line, a "Re-run" button. However large the Organization, the
message stays within Slack's limits: it shows the worst accounts and says that the full report
is in the thread (``needs_report`` tells the caller to upload it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    DividerBlock,
)

from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.slack.action_ids import ActionId, BlockId
from bot.slack.blocks.common import (
    MAX_BLOCKS,
    MAX_FALLBACK_TEXT,
    MAX_SECTION_TEXT,
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

# header, counts, context, divider, compliant line, truncation note, extra note, actions
FIXED_BLOCKS = 8
MAX_FINDINGS = MAX_BLOCKS - FIXED_BLOCKS
MAX_NAMED_COMPLIANT = 10
SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,20}")


@dataclass(frozen=True)
class Layout:
    findings: list[Verdict]  # shown, worst first
    hidden_findings: int
    compliant: list[Verdict]  # named in one line; empty when only counted
    compliant_count: int

    @property
    def complete(self) -> bool:
        """Every account is named in the message (no CSV needed)."""
        return self.hidden_findings == 0 and len(self.compliant) == self.compliant_count


def severity(verdict: Verdict) -> tuple[int, int, int, str]:
    """Sort key, worst first: active keys, then deactivated ones, then errors; oldest first."""
    rank = {Status.NONCOMPLIANT: 0, Status.ERROR: 2, Status.COMPLIANT: 3}[verdict.status]
    if verdict.status is Status.NONCOMPLIANT and not any(k.active for k in verdict.keys):
        rank = 1 if verdict.keys else 0  # no slot detail: treat as active, it may be
    oldest = max((k.age_days or 0 for k in verdict.keys), default=0)
    return (rank, -oldest, -len(verdict.keys), verdict.account_id)


def account_label(verdict: Verdict) -> str:
    name = f" · {escape(verdict.account_name)}" if verdict.account_name else ""
    return f"*{verdict.account_id}*{name}"


def compliant_line(verdicts: list[Verdict]) -> str:
    names = ", ".join(
        f"{v.account_id} ({escape(v.account_name)})" if v.account_name else v.account_id
        for v in verdicts
    )
    return f":white_check_mark: Compliant ({len(verdicts)}): {names}"


def plan(result: AuditResult) -> Layout:
    ordered = sorted(result.verdicts, key=severity)
    findings = [v for v in ordered if v.status is not Status.COMPLIANT]
    compliant = sorted(
        (v for v in result.verdicts if v.status is Status.COMPLIANT), key=lambda v: v.account_id
    )
    named = compliant if len(compliant) <= MAX_NAMED_COMPLIANT else []
    if named and len(compliant_line(named)) > MAX_SECTION_TEXT:
        named = []
    return Layout(
        findings=findings[:MAX_FINDINGS],
        hidden_findings=max(0, len(findings) - MAX_FINDINGS),
        compliant=named,
        compliant_count=len(compliant),
    )


def needs_report(result: AuditResult) -> bool:
    """True when the message cannot name every account: attach the CSV in the thread."""
    return not plan(result).complete


def describe_key(key: KeySlot) -> str:
    state = "*active*" if key.active else "deactivated (delete it to finish)"
    age = f"{key.age_days} days old" if key.age_days is not None else "age unknown"
    if key.last_used_date:
        where = " in ".join(
            part
            for part in (
                f"last used {fmt_date(key.last_used_date)}",
                escape(key.last_used_region) if key.last_used_region else "",
            )
            if part
        )
        used = where + (f" ({escape(key.last_used_service)})" if key.last_used_service else "")
    else:
        used = "never used"
    return f"• Key {key.slot}: {state} · {age} · {used}"


def mfa_word(flag: bool | None) -> str:
    return "unknown" if flag is None else ("on" if flag else "*off*")


def finding_text(verdict: Verdict) -> str:
    if verdict.status is Status.ERROR:
        return (
            f":warning: {account_label(verdict)}: could not be checked\n"
            f"{escape(truncate(verdict.reason, 500))}"
        )
    if verdict.status is Status.COMPLIANT:
        return f":white_check_mark: {account_label(verdict)}: {escape(verdict.reason)}"
    lines = [f":red_circle: {account_label(verdict)}: root access key present"]
    lines += [describe_key(k) for k in verdict.keys] or [
        "• Key details not available from the credential report"
    ]
    lines.append(f"• Root MFA: {mfa_word(verdict.root_mfa_active)}")
    lines.append(f"_{escape(truncate(verdict.reason, 500))}_")
    return "\n".join(lines)


def remediation_button(verdict: Verdict, run_id: str | None) -> ButtonElement:
    return ButtonElement(
        text="Request remediation",
        action_id=ActionId.REQUEST_REMEDIATION.value,
        value=FindingRef(verdict.account_id, run_id).encode(),
        style="danger",
    )


def headline(result: AuditResult) -> str:
    s = result.summary
    if s.total == 0:
        return "No accounts were audited"
    if s.total == 1:
        only = result.verdicts[0]
        label = only.label
        return {
            Status.NONCOMPLIANT: f"Root access key found in {label}",
            Status.ERROR: f"Could not check {label}",
            Status.COMPLIANT: f"No root access key in {label}",
        }[only.status]
    if s.noncompliant:
        return f"Root access keys in {s.noncompliant} of {s.total} accounts"
    if s.error:
        return f"No root access keys found, but {s.error} of {s.total} accounts not checked"
    return f"No root access keys: all {s.total} accounts compliant"


def counts_line(result: AuditResult) -> str:
    s = result.summary
    parts = [f":red_circle: *{s.noncompliant}* noncompliant"]
    if s.error:
        parts.append(f":warning: *{s.error}* could not be checked")
    parts.append(f":white_check_mark: *{s.compliant}* compliant")
    return "   ".join(parts)


def who(requested_by: str | None) -> str:
    if not requested_by:
        return ""
    return f" · asked by <@{requested_by}>" if SLACK_USER.fullmatch(requested_by) else ""


def fallback(result: AuditResult) -> str:
    s = result.summary
    worst = [
        v.label for v in sorted(result.verdicts, key=severity) if v.status is Status.NONCOMPLIANT
    ]
    text = f"rootkey: {headline(result)}."
    if worst:
        text += " Noncompliant: " + ", ".join(worst[:10]) + (" …" if len(worst) > 10 else "") + "."
    if s.error and s.total > 1:
        text += f" {s.error} could not be checked."
    return truncate(escape(text), MAX_FALLBACK_TEXT)


def where_report(in_thread: bool) -> str:
    if in_thread:
        return "the full report (CSV) in the thread"
    return (
        "the full report, which needs rootkey in this channel"
        " (or `python -m bot check --format csv`)"
    )


def audit_result(
    result: AuditResult,
    scope: Scope,
    *,
    run_id: str | None = None,
    requested_by: str | None = None,
    note: str | None = None,
    report_in_thread: bool = True,
) -> Message:
    """The channel message for one audit. ``note`` is already-escaped mrkdwn shown above the
    buttons (e.g. why the message came through the command's reply link)."""
    layout = plan(result)
    s = result.summary
    took = (result.finished_at - result.started_at).total_seconds()
    blocks = [
        header(headline(result), block_id=BlockId.HEADER.value),
        mrkdwn_section(counts_line(result), block_id=BlockId.SUMMARY.value),
        context(
            f"Scope: {escape(scope.describe())}{who(requested_by)}"
            f" · {result.finished_at:%Y-%m-%d %H:%M} UTC · {took:.1f} s",
        ),
    ]
    blocks.append(DividerBlock())
    for verdict in layout.findings:
        blocks.append(
            mrkdwn_section(
                finding_text(verdict),
                block_id=f"{BlockId.FINDING.value}:{verdict.account_id}",
                accessory=remediation_button(verdict, run_id)
                if verdict.status is Status.NONCOMPLIANT
                else None,
            )
        )
    if s.total == 1 and layout.compliant:
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
        shown = len(layout.findings)
        blocks.append(
            context(
                f":page_facing_up: Showing the {shown} worst of {shown + layout.hidden_findings}"
                f" accounts with findings; every account is in {where_report(report_in_thread)}.",
                block_id=BlockId.NOTE.value,
            )
        )
    if note:
        blocks.append(context(note))
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
    return check_limits(Message(blocks=blocks, text=fallback(result)))


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
