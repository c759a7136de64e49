"""The check result with accepted risks: shown apart with a real owner mention and the reason
escaped, counted apart in the header, and back among the findings once the exception ends."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.remediation.keys import KeyPrint
from bot.remediation.models import RiskException
from bot.runtime import JobPool
from bot.services.audit import AuditService
from bot.services.check import CheckRequest, CheckRunner
from bot.slack.action_ids import ActionId
from bot.slack.blocks.audit import audit_result, needs_report
from bot.slack.blocks.common import MAX_BLOCKS, MAX_SECTION_TEXT, Message
from bot.slack.notifier import SlackCheckNotifier
from bot.slack.poster import Poster
from bot.store.records import StoreError
from simulator.slack import SlackStandin
from tests.support.signing import FINDING_MESSAGE

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
UNTIL = datetime(2026, 12, 30, tzinfo=UTC)
MADE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
OWNER = "U0OWNER001"
HOSTILE = "vendor box <!channel> <@U0MALLORY1> <https://evil.example|login> & more"


def key_in(n: int) -> Verdict:
    return Verdict(
        f"{n:012d}",
        Status.NONCOMPLIANT,
        "root access key present",
        "aws",
        account_name=f"acct-{n}",
        keys=(KeySlot(slot=1, active=True, last_rotated=MADE, age_days=100 + n),),
    )


def clean(n: int) -> Verdict:
    return Verdict(f"{n:012d}", Status.COMPLIANT, "no root access key", "aws")


def unreadable(n: int) -> Verdict:
    return Verdict(f"{n:012d}", Status.ERROR, "AssumeRole: AccessDenied", "aws")


def accepted(n: int, until: datetime = UNTIL, owner: str = OWNER, reason: str = HOSTILE) -> Any:
    return RiskException(
        n, f"{n:012d}", owner, reason, NOW - timedelta(days=1), until,
        key_prints=(KeyPrint(created=MADE, active=True, slot=1),),
    )  # fmt: skip


def result(*verdicts: Verdict) -> AuditResult:
    return AuditResult(verdicts=verdicts, scope="org", started_at=NOW, finished_at=NOW)


def blocks(message: Message) -> list[dict[str, Any]]:
    return [b.to_dict() for b in message.blocks]


def block(message: Message, block_id: str) -> dict[str, Any] | None:
    return next((b for b in blocks(message) if b.get("block_id") == block_id), None)


def finding_ids(message: Message) -> set[str]:
    return {
        str(b["block_id"]).split(":")[1]
        for b in blocks(message)
        if str(b.get("block_id", "")).startswith("rootkey_finding:")
    }


def test_an_accepted_risk_is_shown_apart_with_owner_mention_and_escaped_reason() -> None:
    message = audit_result(
        result(key_in(1), key_in(2), clean(3)), Scope("org"), run_id="5", exceptions=[accepted(2)]
    )

    assert finding_ids(message) == {f"{1:012d}"}  # only the account that needs action
    buttons = block(message, f"rootkey_finding_actions:{2:012d}")
    assert buttons is None  # no remediation or accept-risk button for the accepted one
    section = block(message, "rootkey_accepted")
    assert section is not None
    text = section["text"]["text"]
    assert "*Accepted risk (1)*: a root access key is present, not counted" in text
    assert f"*{2:012d}* · acct-2: Accepted risk until 2026-12-30, owner <@{OWNER}>" in text
    assert "(request #2)" in text
    # The reason is the requester's text: inert.
    assert "&lt;!channel&gt;" in text and "&lt;@U0MALLORY1&gt;" in text and "&amp; more" in text
    assert "<!channel>" not in json.dumps(blocks(message)) and "<@U0MALLORY1>" not in message.text
    header = blocks(message)[0]["text"]["text"]
    assert header == "Root access keys in 1 of 3 accounts (and 1 accepted risk)"
    counts = block(message, "rootkey_summary")
    assert counts is not None
    assert counts["text"]["text"].startswith(":red_circle: *1* noncompliant")
    assert ":large_yellow_circle: *1* accepted risk" in counts["text"]["text"]
    assert f"Accepted risk: {2:012d} (acct-2)." in message.text
    assert f"Noncompliant: {1:012d} (acct-1)." in message.text


def test_the_finding_keeps_both_buttons_until_an_exception_covers_it() -> None:
    message = audit_result(result(key_in(1)), Scope("accounts", (f"{1:012d}",)), run_id="5")
    buttons = block(message, f"rootkey_finding_actions:{1:012d}")
    assert buttons is not None
    assert [e["action_id"] for e in buttons["elements"]] == [
        ActionId.REQUEST_REMEDIATION,
        ActionId.ACCEPT_RISK,
    ]
    assert block(message, "rootkey_accepted") is None


def test_once_the_exception_has_ended_the_account_counts_again() -> None:
    ended = accepted(1, until=NOW)  # ran out exactly when the audit finished
    message = audit_result(result(key_in(1), clean(2)), Scope("org"), exceptions=[ended])

    assert finding_ids(message) == {f"{1:012d}"}
    assert block(message, "rootkey_accepted") is None
    assert blocks(message)[0]["text"]["text"] == "Root access keys in 1 of 2 accounts"


def test_an_account_that_could_not_be_read_stays_an_error_whatever_the_exception() -> None:
    message = audit_result(
        result(unreadable(1), clean(2)), Scope("org"), exceptions=[accepted(1), accepted(2)]
    )
    assert finding_ids(message) == {f"{1:012d}"}  # never hidden: we could not look
    assert block(message, "rootkey_accepted") is None
    assert "1 of 2 accounts not checked" in blocks(message)[0]["text"]["text"]


def test_a_single_excepted_account_is_named_with_its_end_date() -> None:
    message = audit_result(
        result(key_in(4)), Scope("accounts", (f"{4:012d}",)), exceptions=[accepted(4)]
    )
    header = blocks(message)[0]["text"]["text"]
    assert header == f"Root access key in {4:012d} (acct-4): risk accepted until 2026-12-30"
    assert finding_ids(message) == set()


def test_an_owner_that_is_not_a_user_id_is_shown_as_text() -> None:
    message = audit_result(
        result(key_in(1), clean(2)), Scope("org"), exceptions=[accepted(1, owner="<!here>")]
    )
    section = block(message, "rootkey_accepted")
    assert section is not None
    assert "owner &lt;!here&gt;" in section["text"]["text"]


def test_many_accepted_risks_stay_within_slack_limits_and_need_the_report() -> None:
    verdicts = [key_in(n) for n in range(1, 501)] + [clean(n) for n in range(501, 601)]
    exceptions = [accepted(n, reason="x" * 400) for n in range(1, 301)]
    res = result(*verdicts)

    message = audit_result(res, Scope("org"), run_id="9", exceptions=exceptions)

    assert len(message.blocks) <= MAX_BLOCKS
    section = block(message, "rootkey_accepted")
    assert section is not None and len(section["text"]["text"]) <= MAX_SECTION_TEXT
    assert "more, each listed in the full report (CSV) in the thread" in section["text"]["text"]
    assert "*Accepted risk (300)*" in section["text"]["text"]
    header = blocks(message)[0]["text"]["text"]
    assert header == "Root access keys in 200 of 600 accounts (and 300 accepted risks)"
    assert needs_report(res, exceptions)
    assert not finding_ids(message) & {f"{n:012d}" for n in range(1, 301)}


class TwoKeys:
    """An auditor that has already looked: two accounts with an active root key."""

    def audit(self, scope: Scope) -> AuditResult:
        return AuditResult(verdicts=(key_in(1), key_in(2)), scope=scope.kind)


def run_check(exceptions: Callable[[], Sequence[RiskException]]) -> dict[str, Any]:
    """The check use case against the Slack stand-in; the posted message's arguments."""
    with SlackStandin(bot_token="xoxb-test", earlier=[FINDING_MESSAGE]) as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url, retry_handlers=[])
        jobs = JobPool().lane("audits", workers=1)
        runner = CheckRunner(
            AuditService(TwoKeys()), SlackCheckNotifier(Poster(client)), jobs, exceptions=exceptions
        )
        runner.execute(CheckRequest(Scope("org"), "C1", "U0ALICE001", slack.response_url()))
        jobs.pool.stop()
        [message] = slack.messages("C1")
        return message.args


def test_the_check_reads_the_accepted_risks_after_the_audit() -> None:
    posted = run_check(lambda: [accepted(2, until=datetime.now(UTC) + timedelta(days=3))])
    ids = {b.get("block_id") for b in posted["blocks"]}
    assert f"rootkey_finding:{1:012d}" in ids and f"rootkey_finding:{2:012d}" not in ids
    assert "rootkey_accepted" in ids
    assert f"<@{OWNER}>" in json.dumps(posted["blocks"])


def test_when_the_accepted_risks_cannot_be_read_every_key_is_a_finding_and_it_says_so() -> None:
    def down() -> Sequence[RiskException]:
        raise StoreError("database error: connection refused")

    posted = run_check(down)
    ids = {b.get("block_id") for b in posted["blocks"]}
    assert {f"rootkey_finding:{1:012d}", f"rootkey_finding:{2:012d}"} <= ids
    assert "rootkey_accepted" not in ids
    assert "Accepted risks could not be read" in json.dumps(posted["blocks"])
