"""What an audit result message shows, within Slack's limits and the text budget.

``plan`` decides which accounts the message names: the noncompliant ones worst first (each
with its buttons), then those that could not be checked, grouped by their error, largest group
first (room is kept for the first groups, so many findings never hide why accounts could not be
checked); accepted risks and compliant accounts with what is left. Whatever is not named is in
the CSV (``Layout.complete`` is False: ``needs_report``). The texts whose length ``plan`` counts
are built here too, so the count and the message agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC

from bot.audit.models import AuditResult, KeySlot, Status, Verdict
from bot.remediation.keys import NO_CHANGES, KeyChanges, risk_coverage
from bot.remediation.models import RiskException
from bot.rules import is_user_id
from bot.services.org_state import in_force
from bot.slack.blocks.common import (
    MAX_BLOCKS,
    MAX_MESSAGE_TEXT,
    MAX_SECTION_TEXT,
    TextBudget,
    error_groups,
    escape,
    fmt_date,
    truncate,
)

# header, counts, context, divider, compliant line, accepted risks, truncation note, extra
# note, actions
FIXED_BLOCKS = 9
FINDING_BUDGET = MAX_BLOCKS - FIXED_BLOCKS
# A noncompliant finding takes two blocks (its section, then its buttons); an error one.
MAX_FINDINGS = FINDING_BUDGET // 2  # shown at least, when every finding has buttons
MAX_NAMED_COMPLIANT = 10
MAX_ACCEPTED_REASON = 200
MAX_SCOPE_TEXT = 600  # the scope line under the header
MAX_NOTE_TEXT = 1200  # the notes above the buttons (why it came by reply link, not saved...)
MAX_ERROR_REASON = 500
# Block text around the lists, at most: header, counts, scope line, the "showing the worst"
# note, the notes, the compliant count, the "Re-run" button.
RESERVED_TEXT = 150 + 300 + MAX_SCOPE_TEXT + 100 + 300 + MAX_NOTE_TEXT + 300 + 10
LIST_TEXT = MAX_MESSAGE_TEXT - RESERVED_TEXT
BUTTONS_TEXT = len("Request remediation") + len("Accept risk")
MAX_RESERVED_GROUPS = 3
# A noncompliant finding's first line: the icon, the account's label, then this.
FINDING_ICON = ":red_circle:"
FINDING_HEAD = ": root access key present"


@dataclass(frozen=True)
class ErrorGroup:
    """Accounts that could not be checked for the same reason."""

    reason: str
    verdicts: list[Verdict]  # all of them, by account id
    named: int  # how many of them the message names

    @property
    def hidden(self) -> int:
        return len(self.verdicts) - self.named


@dataclass(frozen=True)
class Layout:
    findings: list[Verdict]  # noncompliant, shown, worst first
    errors: list[ErrorGroup]  # shown, largest first (a group of one: shown as a finding)
    hidden_findings: int  # accounts with a finding or an error the message does not name
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
    result: AuditResult, exceptions: Sequence[RiskException], key_changes: KeyChanges = NO_CHANGES
) -> tuple[dict[str, RiskException], dict[str, tuple[RiskException, str]]]:
    """(account id -> the exception covering its finding when the audit finished, account id
    -> (the exception that does not cover it, why)).

    The rule is ``bot.remediation.keys.coverage``: only a noncompliant account whose keys are
    all keys the risk was accepted for is excepted. An account that could not be read stays an
    error, one without a key is simply compliant, and an exception that had ended by then
    covers nothing; nor does one over a verdict whose credential report predates a root key
    created or reactivated in the account (``key_changes``, from the root-activity alerts).
    """
    current = in_force(exceptions, result.finished_at)  # the one ending last, per account
    covered: dict[str, RiskException] = {}
    lapsed: dict[str, tuple[RiskException, str]] = {}
    for v in result.verdicts:
        found = current.get(v.account_id)
        if found is None or v.status is not Status.NONCOMPLIANT:
            continue
        cover = risk_coverage(
            found, v.status, v.keys, v.evidence.report_generated_at, key_changes.get(v.account_id)
        )
        if cover.covered:
            covered[v.account_id] = found
        else:
            lapsed[v.account_id] = (found, cover.why)
    return covered, lapsed


def accepted_risks(
    result: AuditResult, exceptions: Sequence[RiskException], key_changes: KeyChanges = NO_CHANGES
) -> dict[str, RiskException]:
    """Account id -> the exception that covers its finding when the audit finished."""
    return exception_cover(result, exceptions, key_changes)[0]


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


def error_head(reason: str, count: int) -> str:
    return (
        f":warning: *{count} accounts could not be checked*: "
        f"{escape(truncate(reason, MAX_ERROR_REASON))}\n"
    )


def error_tail(hidden: int, in_thread: bool) -> str:
    return f"\n…and {hidden} more, each in {where_report(in_thread)}" if hidden else ""


def error_label(verdict: Verdict) -> str:
    return (
        f"{verdict.account_id} ({escape(verdict.account_name)})"
        if verdict.account_name
        else (verdict.account_id)
    )


def group_errors(errors: list[Verdict], budget: TextBudget, blocks_left: int) -> list[ErrorGroup]:
    """The error groups that fit: each names as many of its accounts as the budget allows."""
    groups: list[ErrorGroup] = []
    tail = len(error_tail(999_999, False))
    for reason, verdicts in error_groups(errors, lambda v: v.reason):
        if len(groups) >= blocks_left:
            break
        verdicts = sorted(verdicts, key=lambda v: v.account_id)
        if len(verdicts) == 1:  # one account: its own section, as any finding
            if not budget.take(len(finding_text(verdicts[0]))):
                break
            groups.append(ErrorGroup(reason, verdicts, 1))
            continue
        head = len(error_head(reason, len(verdicts)))
        if not budget.take(head + tail):
            break
        room = min(budget.left, MAX_SECTION_TEXT - head - tail)
        named = 0
        for verdict in verdicts:
            size = len(error_label(verdict)) + 2
            if size > room:
                break
            room -= size
            budget.take(size)
            named += 1
        groups.append(ErrorGroup(reason, verdicts, named))
    return groups


def plan(
    result: AuditResult,
    exceptions: Sequence[RiskException] = (),
    key_changes: KeyChanges = NO_CHANGES,
) -> Layout:
    covered, lapsed = exception_cover(result, exceptions, key_changes)
    ordered = sorted(result.verdicts, key=severity)
    noncompliant = [
        v for v in ordered if v.status is Status.NONCOMPLIANT and v.account_id not in covered
    ]
    errors = [v for v in ordered if v.status is Status.ERROR]
    budget = TextBudget(LIST_TEXT)
    # Room kept for the first error groups, so that many findings never hide why accounts
    # could not be checked.
    first_groups = error_groups(errors, lambda v: v.reason)[:MAX_RESERVED_GROUPS]
    reserve = sum(
        len(finding_text(vs[0])) if len(vs) == 1 else len(error_head(r, len(vs))) + 300
        for r, vs in first_groups
    )
    budget.take(reserve)
    shown: list[Verdict] = []
    used = len(first_groups)
    for verdict in noncompliant:
        if used + 2 > FINDING_BUDGET or not budget.take(len(finding_text(verdict)) + BUTTONS_TEXT):
            break
        shown.append(verdict)
        used += 2
    budget.left += reserve
    groups = group_errors(errors, budget, FINDING_BUDGET - len(shown) * 2)
    compliant = sorted(
        (v for v in result.verdicts if v.status is Status.COMPLIANT), key=lambda v: v.account_id
    )
    named = compliant if len(compliant) <= MAX_NAMED_COMPLIANT else []
    if named and not budget.take(min(len(compliant_line(named)), MAX_SECTION_TEXT)):
        named = []
    accepted = sorted(
        ((v, covered[v.account_id]) for v in result.verdicts if v.account_id in covered),
        key=lambda pair: (pair[1].expires_at, pair[0].account_id),
    )
    lines: list[str] = []
    room = min(MAX_SECTION_TEXT, budget.left) - len(accepted_title(len(accepted))) - 200
    for verdict, exc in accepted:
        line = accepted_line(verdict, exc)
        if len(line) + 1 > room:
            break
        lines.append(line)
        room -= len(line) + 1
    named_errors = sum(g.named for g in groups)
    return Layout(
        findings=shown,
        errors=groups,
        hidden_findings=len(noncompliant) - len(shown) + len(errors) - named_errors,
        compliant=named,
        compliant_count=len(compliant),
        accepted=accepted,
        accepted_lines=lines,
        open_count=result.summary.noncompliant - len(accepted),
        not_covered={a: not_covered_line(exc, why) for a, (exc, why) in lapsed.items()},
    )


def needs_report(
    result: AuditResult,
    exceptions: Sequence[RiskException] = (),
    key_changes: KeyChanges = NO_CHANGES,
) -> bool:
    """True when the message cannot name every account: attach the CSV in the thread."""
    return not plan(result, exceptions, key_changes).complete


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
    lines = [f"{FINDING_ICON} {account_label(verdict)}{FINDING_HEAD}"]
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


def where_report(in_thread: bool) -> str:
    if in_thread:
        return "the full report (CSV) in the thread"
    return (
        "the full report (CSV), which needs rootkey in this channel: invite @rootkey to get the"
        " CSV here (or `python -m bot check --format csv`)"
    )
