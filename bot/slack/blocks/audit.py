"""The result of an audit as a Slack message.

One section per account with a finding (worst first), each noncompliant one followed by its
"Request remediation" and "Accept risk" buttons; accounts whose risk was accepted (an approved,
unexpired exception) in a short section of their own, counted apart in the header; the
compliant accounts in one line; a "Re-run" button. However large the Organization, the message
stays within Slack's limits: it shows the worst accounts and says that the full report is in
the thread (``needs_report`` tells the caller to upload it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    DividerBlock,
)

from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.remediation.keys import coverage
from bot.remediation.models import RiskException
from bot.rules import is_user_id
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

# header, counts, context, divider, compliant line, accepted risks, truncation note, extra
# note, actions
FIXED_BLOCKS = 9
FINDING_BUDGET = MAX_BLOCKS - FIXED_BLOCKS
# A noncompliant finding takes two blocks (its section, then its buttons); an error one.
MAX_FINDINGS = FINDING_BUDGET // 2  # shown at least, when every finding has buttons
MAX_NAMED_COMPLIANT = 10
MAX_ACCEPTED_REASON = 200


@dataclass(frozen=True)
class Layout:
    findings: list[Verdict]  # shown, worst first
    hidden_findings: int
    compliant: list[Verdict]  # named in one line; empty when only counted
    compliant_count: int
    # Noncompliant accounts with an accepted risk, soonest end first: shown apart, not as
    # findings, and not counted as noncompliant.
    accepted: list[tuple[Verdict, RiskException]]
    accepted_lines: list[str]  # the lines that fit in the accepted-risk section
    open_count: int  # noncompliant accounts that need action (accepted ones excluded)
    # Findings whose accepted risk does not cover their keys: account id -> the line saying why.
    not_covered: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every account is named in the message (no CSV needed)."""
        return (
            self.hidden_findings == 0
            and len(self.compliant) == self.compliant_count
            and len(self.accepted_lines) == len(self.accepted)
        )


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


def exception_cover(
    result: AuditResult, exceptions: Sequence[RiskException]
) -> tuple[dict[str, RiskException], dict[str, tuple[RiskException, str]]]:
    """(account id -> the exception covering its finding when the audit finished, account id
    -> (the exception that does not cover it, why)).

    The rule is ``bot.remediation.keys.coverage``: only a noncompliant account whose keys are
    all keys the risk was accepted for is excepted. An account that could not be read stays an
    error, one without a key is simply compliant, and an exception that had ended by then
    covers nothing.
    """
    current: dict[str, RiskException] = {}
    for exc in exceptions:
        if exc.expires_at <= result.finished_at:
            continue
        held = current.get(exc.account_id)
        if held is None or exc.expires_at > held.expires_at:
            current[exc.account_id] = exc
    covered: dict[str, RiskException] = {}
    lapsed: dict[str, tuple[RiskException, str]] = {}
    for v in result.verdicts:
        found = current.get(v.account_id)
        if found is None or v.status is not Status.NONCOMPLIANT:
            continue
        cover = coverage(v.status, v.keys, found.key_prints)
        if cover.covered:
            covered[v.account_id] = found
        else:
            lapsed[v.account_id] = (found, cover.why)
    return covered, lapsed


def accepted_risks(
    result: AuditResult, exceptions: Sequence[RiskException]
) -> dict[str, RiskException]:
    """Account id -> the exception that covers its finding when the audit finished."""
    return exception_cover(result, exceptions)[0]


def not_covered_line(exc: RiskException, why: str) -> str:
    return (
        f":warning: The accepted risk (request #{exc.request_id}) no longer covers it: "
        f"{escape(why)}. It is a finding again."
    )


def mention(user: str) -> str:
    """A Slack mention for a user id; anything else is shown as text, escaped."""
    return f"<@{user}>" if is_user_id(user) else escape(user)


def accepted_line(verdict: Verdict, exc: RiskException) -> str:
    until = fmt_date(exc.expires_at.astimezone(UTC))
    reason = escape(" ".join(truncate(exc.reason, MAX_ACCEPTED_REASON).split()))
    return (
        f"• {account_label(verdict)}: Accepted risk until {until}, owner {mention(exc.owner)}, "
        f"reason: {reason} (request #{exc.request_id})"
    )


def accepted_title(count: int) -> str:
    return (
        f":large_yellow_circle: *Accepted risk ({count})*: a root access key is present, "
        "not counted as noncompliant until the exception ends"
    )


def plan(result: AuditResult, exceptions: Sequence[RiskException] = ()) -> Layout:
    covered, lapsed = exception_cover(result, exceptions)
    ordered = sorted(result.verdicts, key=severity)
    findings = [
        v for v in ordered if v.status is not Status.COMPLIANT and v.account_id not in covered
    ]
    shown: list[Verdict] = []
    used = 0
    for verdict in findings:
        cost = 2 if verdict.status is Status.NONCOMPLIANT else 1
        if used + cost > FINDING_BUDGET:
            break
        shown.append(verdict)
        used += cost
    compliant = sorted(
        (v for v in result.verdicts if v.status is Status.COMPLIANT), key=lambda v: v.account_id
    )
    named = compliant if len(compliant) <= MAX_NAMED_COMPLIANT else []
    if named and len(compliant_line(named)) > MAX_SECTION_TEXT:
        named = []
    accepted = sorted(
        ((v, covered[v.account_id]) for v in result.verdicts if v.account_id in covered),
        key=lambda pair: (pair[1].expires_at, pair[0].account_id),
    )
    lines: list[str] = []
    room = MAX_SECTION_TEXT - len(accepted_title(len(accepted))) - 200  # for "and N more"
    for verdict, exc in accepted:
        line = accepted_line(verdict, exc)
        if len(line) + 1 > room:
            break
        lines.append(line)
        room -= len(line) + 1
    return Layout(
        findings=shown,
        hidden_findings=len(findings) - len(shown),
        compliant=named,
        compliant_count=len(compliant),
        accepted=accepted,
        accepted_lines=lines,
        open_count=result.summary.noncompliant - len(accepted),
        not_covered={a: not_covered_line(exc, why) for a, (exc, why) in lapsed.items()},
    )


def needs_report(result: AuditResult, exceptions: Sequence[RiskException] = ()) -> bool:
    """True when the message cannot name every account: attach the CSV in the thread."""
    return not plan(result, exceptions).complete


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


def finding_text(verdict: Verdict, note: str | None = None) -> str:
    """One account's section; ``note`` is a line of the bot's own mrkdwn (e.g. why an accepted
    risk does not cover it)."""
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
    # Each fact once: the bullets above say what the reason says about the keys; only where
    # they came from is added (the reason itself when there are no key details).
    generated = verdict.evidence.report_generated_at
    if not verdict.keys:
        lines.append(f"_{escape(truncate(verdict.reason, 500))}_")
    elif generated is not None:
        lines.append(f"_From the credential report of {generated:%Y-%m-%d %H:%M} UTC._")
    if note:
        lines.append(note)
    return "\n".join(lines)


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


def headline(result: AuditResult, layout: Layout) -> str:
    s = result.summary
    accepted = len(layout.accepted)
    if s.total == 0:
        return "No accounts were audited"
    if s.total == 1:
        only = result.verdicts[0]
        label = only.label
        if layout.accepted:
            until = fmt_date(layout.accepted[0][1].expires_at.astimezone(UTC))
            return f"Root access key in {label}: risk accepted until {until}"
        return {
            Status.NONCOMPLIANT: f"Root access key found in {label}",
            Status.ERROR: f"Could not check {label}",
            Status.COMPLIANT: f"No root access key in {label}",
        }[only.status]
    also = f" (and {accepted_words(accepted)})" if accepted else ""
    if layout.open_count:
        return f"Root access keys in {layout.open_count} of {s.total} accounts{also}"
    if s.error:
        return (
            f"No root access keys needing action{also}, but {s.error} of {s.total} accounts "
            "not checked"
        )
    if accepted:
        return f"No root access keys needing action: {accepted_words(accepted)} of {s.total}"
    return f"No root access keys: all {s.total} accounts compliant"


def counts_line(result: AuditResult, layout: Layout) -> str:
    s = result.summary
    parts = [f":red_circle: *{layout.open_count}* noncompliant"]
    if layout.accepted:
        parts.append(f":large_yellow_circle: *{len(layout.accepted)}* accepted risk")
    if s.error:
        parts.append(f":warning: *{s.error}* could not be checked")
    parts.append(f":white_check_mark: *{s.compliant}* compliant")
    return "   ".join(parts)


def who(requested_by: str | None) -> str:
    if not requested_by:
        return ""
    return f" · asked by <@{requested_by}>" if is_user_id(requested_by) else ""


def fallback(result: AuditResult, layout: Layout) -> str:
    s = result.summary
    excepted = {v.account_id for v, _ in layout.accepted}
    worst = [
        v.label
        for v in sorted(result.verdicts, key=severity)
        if v.status is Status.NONCOMPLIANT and v.account_id not in excepted
    ]
    text = f"rootkey: {headline(result, layout)}."
    if worst:
        text += " Noncompliant: " + ", ".join(worst[:10]) + (" …" if len(worst) > 10 else "") + "."
    if layout.accepted and s.total > 1:
        names = [v.label for v, _ in layout.accepted]
        text += " Accepted risk: " + ", ".join(names[:10]) + (" …" if len(names) > 10 else "")
        text += "."
    if s.error and s.total > 1:
        text += f" {s.error} could not be checked."
    return truncate(escape(text), MAX_FALLBACK_TEXT)


def accepted_section(layout: Layout, report_in_thread: bool) -> str:
    lines = [accepted_title(len(layout.accepted)), *layout.accepted_lines]
    more = len(layout.accepted) - len(layout.accepted_lines)
    if more:
        lines.append(f"…and {more} more, each listed in {where_report(report_in_thread)}")
    return "\n".join(lines)


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
    exceptions: Sequence[RiskException] = (),
) -> Message:
    """The channel message for one audit. ``note`` is already-escaped mrkdwn shown above the
    buttons (e.g. why the message came through the command's reply link). ``exceptions`` are
    the active accepted risks (``RemediationService.active_exceptions()``): their accounts are
    shown apart and not counted as noncompliant."""
    layout = plan(result, exceptions)
    s = result.summary
    took = (result.finished_at - result.started_at).total_seconds()
    blocks = [
        header(headline(result, layout), block_id=BlockId.HEADER.value),
        mrkdwn_section(counts_line(result, layout), block_id=BlockId.SUMMARY.value),
        context(
            f"Scope: {escape(scope.describe())}{who(requested_by)}"
            f" · {result.finished_at:%Y-%m-%d %H:%M} UTC · {took:.1f} s",
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
    if layout.accepted:
        blocks.append(
            mrkdwn_section(
                accepted_section(layout, report_in_thread), block_id=BlockId.ACCEPTED.value
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
