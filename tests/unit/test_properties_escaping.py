"""Hostile text in everything the bot posts, and formula cells in every CSV it writes.

Text that reaches a message comes from people (command arguments, reasons, ticket links) and
from AWS (account names, regions, services, error messages). None of it may ping a channel or
a person, post a disguised link, or break Slack's limits; non-Latin text survives. CSV cells
that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) are neutralised.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.audit.render import to_csv
from bot.cli.log import write_csv as log_csv
from bot.remediation.models import Conversation, Request, RiskException
from bot.remediation.states import Kind, Mode, State
from bot.services.digest import DigestService, digest_csv
from bot.slack.blocks.audit import audit_failed, audit_result
from bot.slack.blocks.command import error_message, help_message, usage_error
from bot.slack.blocks.common import Message
from bot.slack.blocks.digest import digest_message
from bot.slack.blocks.history import history_message
from bot.slack.blocks.remediation import (
    decided_message,
    decision_line,
    request_message,
    root_keys_note,
    transition_note,
)
from bot.slack.blocks.status import status_message
from bot.slack.commands import UsageError, parse_command
from bot.store import Store

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ZONE = ZoneInfo("UTC")
NON_LATIN = "账户 аккаунт حساب कुंजी 🔑"
HOSTILE = [
    "<!channel> wake up",
    "<!here|here>",
    "<!everyone>",
    "<@U0EVIL0001> please approve",
    "<#C0EVIL0001>",
    "<!subteam^S0EVIL0001|@admins>",
    "<https://evil.example/login|Click to verify your account>",
    "<mailto:evil@evil.example|support>",
    "@channel @here @everyone",
    "*bold* _italic_ ~strike~ `code` ```block``` > quote",
    "<script>alert(1)</script> <b>markup</b> [link](https://evil.example)",
    "&lt;!channel&gt; pre-escaped",
    "line one\nline two\n\n• fake bullet",
    "\u202eright-to-left override",
    NON_LATIN,
    "x" * 10_000,
    ("<!channel> " + NON_LATIN + " ") * 300,
]
# What must never appear in posted mrkdwn: the hostile fragments in live form.
LIVE_MARKUP = re.compile(
    r"<!(channel|here|everyone)|<@U0EVIL|<#C0EVIL|<!subteam\^S0EVIL|<https://evil|<mailto:",
    re.IGNORECASE,
)
MASS_MENTION = re.compile(r"(?<![\w\u200b])@(channel|here|everyone)\b", re.IGNORECASE)
FORMULA = ("=", "+", "-", "@", "\t", "\r")

hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=300),
    st.lists(st.sampled_from([*HOSTILE[:14], "a", " ", "<", ">", "&", "|"]), max_size=8).map(
        "".join
    ),
)


def mrkdwn_texts(message: Message) -> list[str]:
    """Every string Slack reads as mrkdwn: mrkdwn text objects and the fallback ``text``."""
    found = [message.text]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk([b.to_dict() for b in message.blocks])
    return found


def assert_inert(message: Message) -> None:
    for text in mrkdwn_texts(message):
        live = LIVE_MARKUP.search(text)
        assert live is None, f"live markup {live.group(0)!r} in {text[:200]!r}"
        mass = MASS_MENTION.search(text)
        assert mass is None, f"mass mention {mass.group(0)!r} in {text[:200]!r}"


def all_text(message: Message) -> str:
    return "\n".join(mrkdwn_texts(message))


def verdict(
    account_id: str, status: Status, name: str | None, reason: str, at: datetime = NOW
) -> Verdict:
    keys = (
        (
            KeySlot(
                slot=1,
                active=True,
                last_rotated=NOW - timedelta(days=400),
                last_used_date=NOW - timedelta(days=3),
                last_used_region=reason[:40],
                last_used_service=(name or "")[:40],
                age_days=400,
            ),
        )
        if status is Status.NONCOMPLIANT
        else ()
    )
    return Verdict(
        account_id=account_id,
        status=status,
        reason=reason,
        source="aws",
        account_name=name,
        keys=keys,
        root_mfa_active=False,
        checked_at=at,
    )


def result_of(name: str, reason: str) -> AuditResult:
    return AuditResult(
        verdicts=(
            verdict("111111111111", Status.NONCOMPLIANT, name, reason),
            verdict("222222222222", Status.ERROR, name, reason),
            verdict("333333333333", Status.COMPLIANT, name, reason),
        ),
        scope="org",
        started_at=NOW,
        finished_at=NOW,
    )


def request(reason: str, name: str | None, state: State = State.REQUESTED) -> Request:
    return Request(
        id=7,
        kind=Kind.REMEDIATION,
        account_id="111111111111",
        state=state,
        requester="U0ALICE001",
        reason=reason,
        where=Conversation("C0ROOTKEY1", "1700000000.000100"),
        created_at=NOW,
        expires_at=NOW + timedelta(hours=72),
        state_since=NOW,
        account_name=name,
        mode=Mode.TRACKED,
        ticket_url="https://tickets.example/SEC-1",
        assignee="U0BOB00001",
    )


# -- messages --------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=hostile_text, reason=hostile_text)
def test_audit_result_escapes_account_names_and_reasons(name: str, reason: str) -> None:
    message = audit_result(
        result_of(name, reason), Scope("org"), run_id="12", requested_by="U0ALICE001"
    )
    assert_inert(message)
    assert "<@U0ALICE001>" in all_text(message), "the bot's own mention still works"


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_non_latin_survives_and_limits_hold(text: str) -> None:
    message = audit_result(result_of(text, text), Scope("org"), run_id="1")
    assert_inert(message)
    if text == NON_LATIN:
        assert NON_LATIN in all_text(message)
    failed = audit_failed(Scope("accounts", ("111111111111",)), text)
    assert_inert(failed)


@settings(max_examples=200, deadline=None)
@given(args=hostile_text)
def test_command_arguments_are_escaped_in_usage_errors(args: str) -> None:
    """`/rootkey check <anything>` and `/rootkey <anything>`: the private answer is inert."""
    for text in (f"check {args}", f"history {args}", args):
        try:
            parse_command(text)
        except UsageError as exc:
            assert_inert(usage_error(str(exc)))
    assert_inert(usage_error(f"unknown command '{args[:40]}'"))
    assert_inert(help_message(args))
    if args:  # errors always say something
        assert_inert(error_message(args))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reason=hostile_text, name=st.none() | hostile_text, detail=hostile_text)
def test_remediation_messages_escape_reasons_and_names(
    reason: str, name: str | None, detail: str
) -> None:
    req = request(reason, name)
    assert_inert(request_message(req, "<@U0APPROVER>", 1, ZONE))
    done = request(reason, name, State.APPROVED)
    line = decision_line(State.APPROVED, "U0BOB00001", NOW, ZONE)
    assert_inert(decided_message(done, line, ZONE))
    assert_inert(transition_note(done, State.REQUESTED, detail, "U0BOB00001"))
    assert_inert(root_keys_note(done, [detail, reason]))
    exc = RiskException(7, "111111111111", "U0BOB00001", reason, NOW, NOW, name)
    assert_inert(status_message([req, done], [exc], ZONE))


def test_remediation_reason_keeps_non_latin_text() -> None:
    message = request_message(request(NON_LATIN, NON_LATIN), "<@U0APPROVER>", 1, ZONE)
    assert NON_LATIN in all_text(message)


@pytest.fixture
def store(sqlite_url: str) -> Store:
    store = Store.open(sqlite_url)
    yield store
    store.close()


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_digest_and_history_escape_stored_text(store: Store, text: str) -> None:
    """Account names and reasons saved by one audit come back escaped in the digest (and its
    CSV) and in `/rootkey history`."""
    before = AuditResult(
        verdicts=(
            verdict("111111111111", Status.COMPLIANT, text, "fine", NOW - timedelta(days=2)),
        ),
        started_at=NOW - timedelta(days=2),
        finished_at=NOW - timedelta(days=2),
    )
    store.save_run(before, "schedule")
    run_id = store.save_run(result_of(text, text), "schedule", "U0ALICE001", "C0ROOTKEY1")
    digest = DigestService(store, clock=lambda: NOW).build(run_id, channel="C0ROOTKEY1")
    assert digest.new_noncompliant, "the account that got a key shows as new"
    assert_inert(digest_message(digest))
    assert_csv_safe(digest_csv(digest))
    history = store.history("111111111111")
    assert_inert(
        history_message("111111111111", history, store.latest_state("111111111111"), now=NOW)
    )


# -- CSV exports -----------------------------------------------------------------------------

formula_text = st.one_of(
    st.sampled_from(
        [
            '=HYPERLINK("https://evil.example","click")',
            "=1+1",
            "+1",
            "-1+1",
            "@SUM(A1:A2)",
            "\t=1",
            "\r=1",
            "=cmd|' /C calc'!A0",
        ]
    ),
    st.tuples(st.sampled_from(list(FORMULA)), st.text(max_size=40)).map("".join),
    hostile_text,
)


def assert_csv_safe(text: str, originals: list[str] | None = None) -> None:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows, "a header row at least"
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA), f"formula cell {cell[:60]!r}"
    if originals:
        cells = {c for row in rows for c in row}
        for value in originals:
            assert value in cells or "'" + value in cells, f"{value[:60]!r} lost"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=formula_text, reason=formula_text)
def test_audit_csv_neutralises_formulas(name: str, reason: str) -> None:
    result = result_of(name, reason)
    assert_csv_safe(to_csv(result), [name, reason])


@settings(max_examples=200, deadline=None)
@given(
    actor=formula_text,
    detail=formula_text,
    event=formula_text,
    reason=formula_text,
    ticket=formula_text,
)
def test_audit_log_csv_neutralises_formulas(
    actor: str, detail: str, event: str, reason: str, ticket: str
) -> None:
    row = {
        "id": 1,
        "at": "2026-11-30T09:00:00Z",
        "request_id": 7,
        "account_id": "111111111111",
        "kind": "remediation",
        "actor": actor,
        "event": event,
        "from_state": "requested",
        "to_state": "approved",
        "detail": detail,
        "reason": reason,  # a request's, as typed in its form
        "ticket": ticket,
    }
    out = io.StringIO()
    log_csv(out, [row])
    assert_csv_safe(out.getvalue(), [actor, detail, event, reason, ticket])
