"""The check use case in-process, against the Slack stand-in: what a failing store does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.services.audit import AuditService
from bot.slack.checks import CheckRequest, CheckRunner
from bot.slack.jobs import Jobs
from bot.slack.poster import Poster
from bot.store.records import StoreError
from tests.support.slack_standin import SlackStandin

TOKEN = "xoxb-test-token"


class OneFinding:
    """An auditor that has already looked: one account with an active root key."""

    def audit(self, scope: Scope) -> AuditResult:
        verdict = Verdict(
            "111111111111",
            Status.NONCOMPLIANT,
            "root access key present",
            "aws",
            keys=(KeySlot(slot=1, active=True, age_days=12),),
        )
        return AuditResult(verdicts=(verdict,), scope=scope.kind)


class DownStore:
    def __init__(self) -> None:
        self.tried = 0

    def save_run(self, *args: object) -> int:
        self.tried += 1
        raise StoreError("database error: connection refused")


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=TOKEN) as standin:
        yield standin


def test_a_result_the_store_could_not_save_is_still_shown_and_says_so(
    slack: SlackStandin,
) -> None:
    store = DownStore()
    client = WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])
    jobs = Jobs(workers=1)
    runner = CheckRunner(AuditService(OneFinding(), store), Poster(client), jobs)

    runner.execute(CheckRequest(Scope("account"), "C1", "U0ALICE001", slack.response_url()))
    jobs.shutdown()

    [message] = slack.messages("C1")
    text = str(message.args["blocks"])
    assert store.tried == 1
    assert "111111111111" in text and "Request remediation" in text
    assert "This result was not saved (database error: connection refused)" in text
