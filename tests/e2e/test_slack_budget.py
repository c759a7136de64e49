"""Long results reach Slack: block text within the budget, counted as the stand-in counts it
(Slack refuses about 12,000 characters with msg_blocks_too_long), every account in the CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient

from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.audit.render import to_csv
from bot.slack.blocks.audit import audit_result, needs_report
from bot.slack.blocks.common import MAX_MESSAGE_TEXT, block_text
from bot.slack.poster import Poster
from simulator.slack import SlackStandin
from simulator.slack.webapi import MAX_BLOCKS_TEXT, blocks_text

TOKEN = "xoxb-test-token"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CHANNEL = "C0ROOTKEY1"


def assume_role_denied(account: str) -> str:
    """What AWS says when the audit role cannot be assumed (about 250 characters)."""
    return (
        "could not audit: AssumeRole RootkeyAudit: AccessDenied (User: arn:aws:sts::"
        "111111111111:assumed-role/rootkey-bot/i-0abc123def4567890 is not authorized to perform:"
        f" sts:AssumeRole on resource: arn:aws:iam::{account}:role/RootkeyAudit, after 2 retries)"
    )


def unreadable(n: int, reason: str | None = None) -> Verdict:
    account = f"{n:012d}"
    return Verdict(account, Status.ERROR, reason or assume_role_denied(account), "aws")


def with_key(n: int) -> Verdict:
    return Verdict(
        f"{n:012d}",
        Status.NONCOMPLIANT,
        "root access key active: key 1 (credential report of 2026-11-30 08:55 UTC)",
        "aws",
        account_name=f"workload-{n}",
        keys=(
            KeySlot(
                slot=1,
                active=True,
                age_days=n,
                last_used_date=NOW,
                last_used_region="eu-west-1",
                last_used_service="s3",
            ),
        ),
        root_mfa_active=False,
    )


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=TOKEN) as standin:
        yield standin


def post(slack: SlackStandin, result: AuditResult) -> dict[str, object]:
    client = WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])
    Poster(client, attempts=1).post(CHANNEL, audit_result(result, Scope("org"), run_id="7"))
    [posted] = slack.messages(CHANNEL)
    return posted.args


def test_sixty_unreadable_accounts_and_forty_findings_are_posted_with_every_account_in_the_csv(
    slack: SlackStandin,
) -> None:
    verdicts = [unreadable(n) for n in range(1, 61)] + [with_key(n) for n in range(101, 141)]
    result = AuditResult(verdicts=tuple(verdicts), scope="org", started_at=NOW, finished_at=NOW)
    assert sum(len(v.reason) for v in verdicts[:60]) > MAX_BLOCKS_TEXT  # one line each: refused

    args = post(slack, result)

    assert blocks_text(args["blocks"]) <= MAX_MESSAGE_TEXT
    text = str(args["blocks"])
    assert "*60 accounts could not be checked*: could not audit: AssumeRole RootkeyAudit" in text
    assert needs_report(result)
    rows = list(csv.reader(io.StringIO(to_csv(result))))
    assert {row[0] for row in rows[1:]} == {v.account_id for v in verdicts}


def test_sixty_different_errors_still_fit(slack: SlackStandin) -> None:
    """No two reasons alike (nothing to group): the message names what fits, and says so."""
    verdicts = [unreadable(n, f"could not audit: {n:04d} " + "x" * 240) for n in range(1, 61)]
    verdicts += [with_key(n) for n in range(101, 141)]
    result = AuditResult(verdicts=tuple(verdicts), scope="org", started_at=NOW, finished_at=NOW)
    message = audit_result(result, Scope("org"), run_id="7")
    assert block_text(message.blocks) <= MAX_MESSAGE_TEXT

    args = post(slack, result)

    assert "accounts with findings; every account is in the full report (CSV)" in str(
        args["blocks"]
    )


def test_sixty_unreadable_accounts_alone_are_posted_grouped(slack: SlackStandin) -> None:
    """One section each would be about 12,600 characters: refused by Slack."""
    verdicts = [unreadable(n) for n in range(1, 61)]
    result = AuditResult(verdicts=tuple(verdicts), scope="org", started_at=NOW, finished_at=NOW)

    args = post(slack, result)

    assert blocks_text(args["blocks"]) <= MAX_MESSAGE_TEXT
    [group] = [b for b in args["blocks"] if str(b.get("block_id")).startswith("rootkey_errors:")]
    assert group["text"]["text"].startswith(":warning: *60 accounts could not be checked*")
    assert all(v.account_id in group["text"]["text"] for v in verdicts)  # all named: fits
    assert not needs_report(result)
