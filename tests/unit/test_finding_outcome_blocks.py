"""How a finding shows the request that ended it: the account's entry in the result message is
replaced, its buttons removed, every other block kept as it was (pure: no Slack)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.remediation.models import Approval, Conversation, Request
from bot.remediation.states import Kind, Mode, State
from bot.slack.blocks.audit import audit_result
from bot.slack.blocks.outcome import outcome_line, outcome_text, settle, shown_label

NOW = datetime(2026, 11, 30, 9, 14, 30, tzinfo=UTC)
A, B = "111111111111", "222222222222"


def finding(account: str, name: str) -> Verdict:
    key = KeySlot(slot=1, active=True, age_days=400)
    return Verdict(account, Status.NONCOMPLIANT, "root access key present", "aws", name, (key,))


def blocks() -> list[dict[str, Any]]:
    result = AuditResult(
        verdicts=(finding(A, "billing"), finding(B, "sandbox")),
        scope="org", started_at=NOW, finished_at=NOW,
    )  # fmt: skip
    return [b.to_dict() for b in audit_result(result, Scope("org"), run_id="7").blocks]


def request(**fields: Any) -> Request:
    base = Request(
        id=3, kind=Kind.REMEDIATION, account_id=A, state=State.VERIFIED, requester="U0ALICE001",
        reason="unused", where=Conversation("C0SEC00001", "1700000000.000100"),
        created_at=NOW - timedelta(hours=1),
        expires_at=NOW + timedelta(days=1), state_since=NOW, account_name="billing",
        mode=Mode.ASSUME_ROOT,
    )  # fmt: skip
    return replace(base, **fields)


def test_verified_says_how_and_when_tracked_says_by_hand() -> None:
    assert outcome_line(request()) == "Fixed: key deleted, verified 09:14 UTC by re-audit"
    assert outcome_line(request(mode=Mode.TRACKED)) == (
        "Fixed: key removed (manual fix), verified 09:14 UTC by re-audit"
    )
    for state in (State.REQUESTED, State.APPROVED, State.FAILED, State.TRACKING):
        assert outcome_line(request(state=state)) is None


def test_an_accepted_risk_says_until_when_and_who_accepted_it() -> None:
    exc = request(
        kind=Kind.EXCEPTION, state=State.APPROVED, mode=None, owner="U0OWNER001",
        exception_until=NOW + timedelta(days=30),
        approvals=(Approval("U0APPROVE1", NOW), Approval("U0APPROVE2", NOW)),
    )  # fmt: skip
    line = outcome_line(exc)
    assert line == (
        "Accepted risk until 2026-12-30 by <@U0APPROVE1> and <@U0APPROVE2> "
        "(risk owner <@U0OWNER001>)"
    )
    assert outcome_text(exc, line).startswith(":large_yellow_circle: *111111111111* · billing:")


def test_an_accepted_risk_that_ended_says_the_account_counts_again() -> None:
    accepted = request(
        kind=Kind.EXCEPTION, state=State.EXPIRED, mode=None, owner="U0OWNER001",
        exception_until=NOW + timedelta(days=30), approvals=(Approval("U0APPROVE1", NOW),),
    )  # fmt: skip
    line = outcome_line(accepted)
    assert line == (
        "Accepted risk ended 2026-11-30 09:14 UTC (revoked before its end): the account counts "
        "again; run the check to act on it"
    )
    assert outcome_text(accepted, line).startswith(":red_circle: *111111111111* · billing:")
    ran_out = replace(accepted, exception_until=NOW - timedelta(minutes=1))
    assert "(ran out)" in str(outcome_line(ran_out))
    # A request for an exception that was never decided ended nothing on the finding.
    assert outcome_line(replace(accepted, approvals=())) is None


def test_only_the_accounts_entry_changes_and_its_buttons_go() -> None:
    before = blocks()
    req = request(account_name="<!channel> & co")
    text = outcome_text(req, outcome_line(req) or "")
    after = settle(before, A, text)

    assert after is not None
    ids = [b.get("block_id") for b in after]
    assert f"rootkey_finding_actions:{A}" not in ids
    assert f"rootkey_finding_actions:{B}" in ids and "rootkey_actions" in ids  # Re-run kept
    [entry] = [b for b in after if b.get("block_id") == f"rootkey_finding:{A}"]
    assert entry["text"]["text"].startswith(":white_check_mark: *111111111111* · &lt;!channel&gt;")
    assert "<!channel>" not in json.dumps(after)
    untouched = [b for b in before if not str(b.get("block_id", "")).endswith(A)]
    assert [b for b in after if not str(b.get("block_id", "")).endswith(A)] == untouched
    # Settled again (another account later): the first outcome stays.
    again = settle(after, B, "done")
    assert again is not None and entry in again


def test_a_message_without_the_accounts_entry_is_left_alone() -> None:
    assert settle(blocks(), "333333333333", "done") is None
    assert settle([], A, "done") is None
    assert (
        settle([{"type": "section", "text": {"type": "mrkdwn", "text": "alert"}}], A, "x") is None
    )


def test_the_account_keeps_the_name_its_finding_showed() -> None:
    shown = blocks()
    label = shown_label(shown, A)
    assert label == "*111111111111* · billing"
    req = request(account_name=None)  # the request did not learn the name
    after = settle(shown, A, outcome_text(req, "Fixed", label))
    assert after is not None
    assert shown_label(after, A) is None  # settled: no finding head any more
    assert outcome_text(req, "Fixed").startswith(":white_check_mark: *111111111111*: Fixed")
