"""The check use case in-process, against the Slack stand-in: a failing store, a full queue."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_bolt import BoltRequest
from slack_sdk import WebClient

from bot.app import build_app
from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.config import load_config
from bot.runtime import JobPool
from bot.services.audit import AuditService
from bot.services.check import CheckRequest, CheckRunner
from bot.slack.notifier import SlackCheckNotifier
from bot.slack.poster import Poster
from bot.store.records import StoreError
from simulator.slack import SlackStandin
from tests.support.botproc import bot_env
from tests.support.signing import FINDING_MESSAGE, command_body, signed_headers

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
    with SlackStandin(bot_token=TOKEN, earlier=[FINDING_MESSAGE]) as standin:
        yield standin


def test_a_result_the_store_could_not_save_is_still_shown_and_says_so(
    slack: SlackStandin,
) -> None:
    store = DownStore()
    client = WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])
    jobs = JobPool().lane("audits", workers=1)
    runner = CheckRunner(
        AuditService(OneFinding(), store), SlackCheckNotifier(Poster(client)), jobs
    )

    runner.execute(CheckRequest(Scope("account"), "C1", "U0ALICE001", slack.response_url()))
    jobs.pool.stop()

    [message] = slack.messages("C1")
    text = str(message.args["blocks"])
    assert store.tried == 1
    assert "111111111111" in text and "Request remediation" in text
    assert "This result was not saved (database not available)" in text
    assert "connection refused" not in text  # the driver's text goes to the log only


class Held:
    """An auditor that waits until the test lets it finish."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def audit(self, scope: Scope) -> AuditResult:
        self.started.release()
        self.release.wait(20)
        return OneFinding().audit(scope)


def test_when_the_audit_queue_is_full_the_command_is_told_at_once(
    slack: SlackStandin, tmp_path: Path
) -> None:
    config = load_config(bot_env(slack, f"sqlite:///{tmp_path / 'rootkey.db'}", {}))
    auditor = Held()
    app, services = build_app(config, auditor=auditor, audit_workers=1)
    services.jobs.max_pending = 2

    def send(text: str = "check") -> dict[str, object]:
        body = command_body(text, response_url=slack.response_url())
        response = app.dispatch(
            BoltRequest(
                body=body, headers={k.lower(): [v] for k, v in signed_headers(body).items()}
            )
        )
        assert response.status == 200
        return json.loads(response.body)

    try:
        first = send()
        assert auditor.started.acquire(timeout=10)  # running
        second = send()  # queued
        third = send("check 111111111111")  # another scope: refused (the same would join)
        assert "Auditing" in str(first["text"]) and "Auditing" in str(second["text"])
        assert "already running 2 audits" in str(third["text"])
        assert third["response_type"] == "ephemeral"
    finally:
        auditor.release.set()
    slack.wait_for(lambda: len(slack.messages()) >= 2)
    services.shutdown()
    assert len(slack.messages()) == 2


class ManyFindings:
    def audit(self, scope: Scope) -> AuditResult:
        return AuditResult(
            verdicts=tuple(
                Verdict(f"{n:012d}", Status.NONCOMPLIANT, "root access key present", "aws")
                for n in range(1, 61)
            ),
            scope="org",
        )


def test_a_report_that_cannot_be_attached_is_said_in_the_thread(slack: SlackStandin) -> None:
    from bot.audit.render import to_csv

    client = WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])
    jobs = JobPool().lane("audits", workers=1)
    runner = CheckRunner(
        AuditService(ManyFindings()), SlackCheckNotifier(Poster(client), csv=to_csv), jobs
    )
    slack.fail("files.completeUploadExternal", "invalid_arguments")

    runner.execute(CheckRequest(Scope("org"), "C1", "U0ALICE001", slack.response_url()))
    jobs.pool.stop()

    result, reply = slack.messages("C1")
    assert reply.thread_ts == result.ts
    assert "could not be attached (invalid_arguments)" in reply.args["text"]
    assert not slack.uploads()
