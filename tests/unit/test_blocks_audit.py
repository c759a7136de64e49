"""The audit result message: what it shows, and Slack's limits at any size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.slack.action_ids import ActionId
from bot.slack.blocks.audit import MAX_FINDINGS, audit_failed, audit_result, needs_report
from bot.slack.blocks.command import help_message, not_in_channel_note, usage_error
from bot.slack.blocks.common import (
    MAX_BLOCKS,
    MAX_MESSAGE_TEXT,
    MAX_SECTION_TEXT,
    BlockLimitError,
    Message,
    block_text,
    check_limits,
    escape,
    mrkdwn_section,
)
from bot.slack.values import BadValue, FindingRef, decode_scope, encode_scope

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ORG = Scope("org")


def account(n: int) -> str:
    return f"{n:012d}"


def noncompliant(
    n: int, *, active: bool = True, age: int = 400, name: str | None = None
) -> Verdict:
    return Verdict(
        account_id=account(n),
        account_name=name if name is not None else f"acct-{n}",
        status=Status.NONCOMPLIANT,
        reason="root access key present",
        source="aws",
        keys=(
            KeySlot(
                slot=1,
                active=active,
                age_days=age,
                last_used_date=NOW - timedelta(days=3),
                last_used_region="eu-west-1",
                last_used_service="s3",
            ),
        ),
        root_mfa_active=False,
    )


def compliant(n: int, name: str | None = None) -> Verdict:
    return Verdict(
        account(n), Status.COMPLIANT, "no root access key", "aws", account_name=name or f"c-{n}"
    )


def error(n: int) -> Verdict:
    return Verdict(account(n), Status.ERROR, "AssumeRole: AccessDenied", "aws")


def result(*verdicts: Verdict, scope: str = "org") -> AuditResult:
    return AuditResult(verdicts=verdicts, scope=scope, started_at=NOW, finished_at=NOW)


def as_dicts(message: Message) -> list[dict[str, Any]]:
    return [b.to_dict() for b in message.blocks]


def sections(message: Message) -> list[dict[str, Any]]:
    return [b for b in as_dicts(message) if b["type"] == "section"]


def texts(message: Message) -> str:
    return "\n".join(str(b) for b in as_dicts(message))


def test_a_finding_shows_key_details_and_a_remediation_button_with_ids_only() -> None:
    message = audit_result(
        result(noncompliant(1, name="prod"), compliant(2)), ORG, run_id="42", requested_by="U0AB"
    )

    blocks = as_dicts(message)
    at = next(
        i for i, b in enumerate(blocks) if b.get("block_id") == "rootkey_finding:000000000001"
    )
    finding, buttons = blocks[at], blocks[at + 1]  # the finding, then its buttons
    text = finding["text"]["text"]
    assert "*000000000001* · prod" in text
    assert "Key 1: *active* · 400 days old · last used 2026-11-27 in eu-west-1 (s3)" in text
    assert "Root MFA: *off*" in text
    button, accept = buttons["elements"]
    assert button["action_id"] == ActionId.REQUEST_REMEDIATION
    assert FindingRef.decode(button["value"]) == FindingRef("000000000001", "42")
    assert accept["action_id"] == ActionId.ACCEPT_RISK and accept["value"] == button["value"]
    assert message.blocks[0].to_dict()["text"]["text"] == "Root access keys in 1 of 2 accounts"
    assert "000000000001" in message.text  # notification fallback
    assert "<@U0AB>" in texts(message)


def test_a_deactivated_key_says_to_delete_it_and_errors_get_no_remediation_button() -> None:
    message = audit_result(result(noncompliant(1, active=False), error(2)), ORG)

    finding, failed = [s for s in sections(message) if "block_id" in s][1:3]
    assert "deactivated (delete it to finish)" in finding["text"]["text"]
    assert "could not be checked" in failed["text"]["text"]
    assert "AssumeRole: AccessDenied" in failed["text"]["text"]
    assert "accessory" not in failed
    assert "rootkey_finding_actions:000000000002" not in texts(message)  # no buttons for errors


def test_active_keys_come_before_deactivated_ones_and_errors() -> None:
    message = audit_result(
        result(error(1), noncompliant(2, active=False, age=900), noncompliant(3, age=10)), ORG
    )
    order = [s["block_id"].split(":")[1] for s in sections(message) if ":" in s["block_id"]]
    assert order == [account(3), account(2), account(1)]


def test_a_single_account_check_always_names_the_account() -> None:
    message = audit_result(result(compliant(7, name="only"), scope="account"), Scope("account"))

    assert (
        message.blocks[0].to_dict()["text"]["text"] == "No root access key in 000000000007 (only)"
    )
    assert "000000000007" in texts(message)
    assert not needs_report(result(compliant(7)))


def test_few_compliant_accounts_are_named_many_are_counted() -> None:
    few = audit_result(result(noncompliant(1), *[compliant(n) for n in range(2, 6)]), ORG)
    many = result(noncompliant(1), *[compliant(n) for n in range(2, 40)])

    assert "000000000005 (c-5)" in texts(few)
    assert "38 accounts compliant" in texts(audit_result(many, ORG))
    assert "000000000005" not in texts(audit_result(many, ORG))
    assert needs_report(many)


def test_no_accounts_is_never_reported_as_compliant() -> None:
    message = audit_result(result(), ORG)
    assert message.blocks[0].to_dict()["text"]["text"] == "No accounts were audited"


def test_ten_thousand_accounts_stay_within_slack_limits() -> None:
    verdicts = [noncompliant(n, age=n % 500) for n in range(1, 3001)]
    verdicts += [error(n) for n in range(3001, 3501)]
    verdicts += [compliant(n) for n in range(3501, 10001)]
    big = result(*verdicts)

    message = audit_result(big, ORG, run_id="9", note=not_in_channel_note("not_in_channel"))

    assert len(message.blocks) <= MAX_BLOCKS
    assert all(len(s["text"]["text"]) <= MAX_SECTION_TEXT for s in sections(message))
    assert (
        message.blocks[0].to_dict()["text"]["text"] == "Root access keys in 3000 of 10000 accounts"
    )
    [group] = [s for s in sections(message) if s["block_id"].startswith("rootkey_errors:")]
    head, names, more = group["text"]["text"].split("\n")
    assert head == ":warning: *500 accounts could not be checked*: AssumeRole: AccessDenied"
    named = len(names.split(", "))
    assert more.startswith(f"…and {500 - named} more, each in the full report")
    findings = [b for b in as_dicts(message) if b["type"] == "actions"][:-1]  # not Re-run
    assert len(findings) == MAX_FINDINGS
    assert f"Showing the {MAX_FINDINGS + named} worst of 3500 accounts" in texts(message)
    assert block_text(message.blocks) <= MAX_MESSAGE_TEXT
    assert "/invite @rootkey" in texts(message)
    assert needs_report(big)
    assert len(message.text) <= 3000


def test_user_and_aws_text_cannot_mention_link_or_break_out() -> None:
    nasty = "<!channel> <@U999> <https://evil.example|click> & @here"
    message = audit_result(result(noncompliant(1, name=nasty), compliant(2, name=nasty)), ORG)

    rendered = texts(message) + message.text
    for raw in ("<!channel>", "<@U999>", "<https://evil", " @here"):
        assert raw not in rendered
    assert "&lt;!channel&gt;" in rendered and "&amp;" in rendered


def test_escape_is_complete_for_slack_control_characters() -> None:
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    assert "@here" not in escape("@here and @channel and @everyone")


def test_check_limits_refuses_what_slack_would() -> None:
    too_many = Message(blocks=[mrkdwn_section("x") for _ in range(51)], text="x")
    with pytest.raises(BlockLimitError):
        check_limits(too_many)
    with pytest.raises(BlockLimitError):
        check_limits(Message(blocks=[mrkdwn_section("x")], text=""))


def test_help_and_usage_error_are_single_section_messages() -> None:
    message = usage_error("'<!here>' is not an AWS account id")
    assert "&lt;!here&gt;" in texts(message)
    assert "/rootkey check all" in texts(help_message())


def test_audit_failed_says_nothing_was_marked_compliant() -> None:
    message = audit_failed(ORG, "ListAccounts: AccessDenied", "ab12cd34")
    assert "Nothing was marked compliant" in message.text and "ab12cd34" in message.text


def test_rerun_value_round_trips_and_refuses_tampering() -> None:
    for scope in (Scope("account"), ORG, Scope("accounts", ("111111111111", "222222222222"))):
        assert decode_scope(encode_scope(scope)) == scope
    for bad in (
        "accounts:",
        "accounts:1",
        "org,account",
        "accounts:111111111111,<!here>",
        "x" * 5000,
    ):
        with pytest.raises(BadValue):
            decode_scope(bad)
    for bad in ("", "111111111111", "1:2", "111111111111:<script>"):
        with pytest.raises(BadValue):
            FindingRef.decode(bad)


names = st.one_of(st.none(), st.text(max_size=300))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(list(Status)), names, st.text(max_size=2000)),
        max_size=120,
    )
)
def test_any_result_builds_a_message_slack_accepts(
    rows: list[tuple[Status, str | None, str]],
) -> None:
    verdicts = [
        Verdict(account(i), status, reason, "aws", account_name=name)
        for i, (status, name, reason) in enumerate(rows, start=1)
    ]
    message = audit_result(result(*verdicts), ORG)  # check_limits runs inside
    assert len(message.blocks) <= MAX_BLOCKS
    rendered = texts(message)
    assert "<!" not in rendered.replace("<@", "")  # no special mention can come from data


def test_a_result_that_came_without_the_bot_in_the_channel_does_not_promise_a_thread() -> None:
    big = result(*[noncompliant(n) for n in range(1, 60)])

    here = texts(audit_result(big, ORG))
    elsewhere = texts(audit_result(big, ORG, report_in_thread=False))

    assert "in the thread" in here
    assert "in the thread" not in elsewhere
    assert "python -m bot check --format csv" in elsewhere


@given(st.text(max_size=500))
def test_escaped_text_has_no_markup_left(value: str) -> None:
    escaped = escape(value)
    assert "<" not in escaped and ">" not in escaped
    assert escaped.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0
    for word in ("@here", "@channel", "@everyone"):
        assert word not in escaped.lower()
