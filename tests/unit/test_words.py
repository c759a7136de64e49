"""What people read says each thing once, in sentences, without the operator's jargon."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.audit.models import Evidence, KeySlot, Status, Verdict
from bot.remediation.models import Conversation, Kind, Request
from bot.remediation.states import State
from bot.services.remediation.decisions import approvals_word
from bot.services.remediation.execution import keys_word
from bot.slack.blocks.audit import finding_text
from bot.slack.blocks.command import help_message
from bot.slack.blocks.common import sentence
from bot.slack.blocks.remediation import transition_note

AT = datetime(2026, 12, 1, 9, 14, tzinfo=UTC)


def test_help_for_slack_users_names_no_setting() -> None:
    text = help_message().text + str([b.to_dict() for b in help_message().blocks])
    assert "ROOTKEY_" not in text


def test_counts_are_plural_words_not_parentheses() -> None:
    assert [approvals_word(n) for n in (1, 2)] == ["1 approval", "2 approvals"]
    assert [keys_word(n) for n in (0, 1, 2)] == [
        "a root access key",
        "a root access key",
        "2 root access keys",
    ]


def test_a_step_in_the_thread_is_a_sentence() -> None:
    assert sentence("deleting through centralized root access") == (
        "Deleting through centralized root access."
    )
    assert sentence("") == "" and sentence("Done.") == "Done."


def test_a_transition_note_starts_its_detail_with_a_capital() -> None:
    req = Request(
        id=1, kind=Kind.REMEDIATION, account_id="111111111111", state=State.EXECUTING,
        requester="U0ALICE001", reason="unused", where=Conversation("C1"),
        created_at=AT, expires_at=AT,
        state_since=AT,
    )  # fmt: skip
    text = transition_note(req, State.APPROVED, "deleting through centralized root access", None)
    assert "*executing*. Deleting through centralized root access." in text.text


def test_a_finding_states_each_fact_once() -> None:
    verdict = Verdict(
        account_id="111111111111",
        status=Status.NONCOMPLIANT,
        reason="root access key active: key 1 is 400 days old, never used (credential report)",
        source="aws",
        keys=(KeySlot(slot=1, active=True, age_days=400),),
        evidence=Evidence(report_generated_at=AT),
        checked_at=AT,
    )
    text = finding_text(verdict)
    assert text.count("400 days old") == 1, text
    assert "From the credential report of 2026-12-01 09:14 UTC." in text
