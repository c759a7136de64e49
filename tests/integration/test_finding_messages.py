"""Outcomes written into one check result from several threads at once (the Slack adapter
against the Slack stand-in): each account's entry ends settled, none overwritten by another's
read-modify-write, and the accounts without an outcome keep their buttons."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.remediation.models import Conversation, Request
from bot.remediation.states import Kind, Mode, State
from bot.slack.blocks.audit import audit_result
from bot.slack.notifier.finding import FindingMessages
from bot.slack.poster import Poster
from simulator.slack import SlackStandin

TOKEN = "xoxb-test-token"
CHANNEL = "C0ROOTKEY1"
NOW = datetime(2026, 11, 30, 9, 14, tzinfo=UTC)
ACCOUNTS = [f"{n:012d}" for n in range(100000000001, 100000000011)]  # ten findings


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=TOKEN) as standin:
        yield standin


def request(rid: int, account: str, thread_ts: str) -> Request:
    return Request(
        id=rid, kind=Kind.REMEDIATION, account_id=account, state=State.VERIFIED,
        requester="U0ALICE001", reason="unused",
        where=Conversation(CHANNEL, thread_ts, f"{1800000000 + rid}.000100"),
        created_at=NOW - timedelta(hours=1), expires_at=NOW + timedelta(days=1),
        state_since=NOW, mode=Mode.ASSUME_ROOT,
    )  # fmt: skip


def test_outcomes_settled_at_once_never_overwrite_each_other(slack: SlackStandin) -> None:
    client = WebClient(token=TOKEN, base_url=slack.base_url)
    verdicts = tuple(
        Verdict(a, Status.NONCOMPLIANT, "root access key present", "aws", f"acct-{i}",
                (KeySlot(slot=1, active=True, age_days=400),))
        for i, a in enumerate(ACCOUNTS)
    )  # fmt: skip
    result = AuditResult(verdicts=verdicts, scope="org", started_at=NOW, finished_at=NOW)
    message = audit_result(result, Scope("org"), run_id="1")
    ts = client.chat_postMessage(channel=CHANNEL, blocks=message.blocks, text=message.text)["ts"]
    findings = FindingMessages(Poster(client, sleep=lambda _s: None))
    settled = ACCOUNTS[:6]

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(findings.settle, [request(i, a, ts) for i, a in enumerate(settled, 1)]))

    [now] = [m for m in slack.messages(CHANNEL) if m.ts == ts]
    by_id = {b.get("block_id"): b for b in now.args["blocks"]}
    for account in settled:
        assert "Fixed: key deleted" in by_id[f"rootkey_finding:{account}"]["text"]["text"]
        assert f"rootkey_finding_actions:{account}" not in by_id
    for account in ACCOUNTS[6:]:
        assert ":red_circle:" in by_id[f"rootkey_finding:{account}"]["text"]["text"]
        assert f"rootkey_finding_actions:{account}" in by_id
    assert len(slack.calls("chat.update")) == len(settled)


def test_a_request_outside_its_findings_thread_or_not_ended_updates_nothing(
    slack: SlackStandin,
) -> None:
    client = WebClient(token=TOKEN, base_url=slack.base_url)
    ts = client.chat_postMessage(channel=CHANNEL, text="finding")["ts"]
    findings = FindingMessages(Poster(client, sleep=lambda _s: None))
    req = request(1, ACCOUNTS[0], ts)

    own_thread = replace(req.where, message=ts)  # ROOTKEY_REQUEST_CHANNEL: its own thread
    findings.settle(replace(req, where=own_thread))
    findings.settle(replace(req, state=State.FAILED))
    findings.settle(req)  # a message without the account's entry (e.g. an alert)

    assert slack.calls("chat.update") == []
