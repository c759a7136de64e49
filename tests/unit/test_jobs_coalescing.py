"""Identical checks share one audit; a request another replica took on starts nothing.

The check use case against the Slack stand-in (a real WebClient over HTTP); the auditor is held
until the test lets it finish, so which requests join which audit is decided by the test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.jobs import MemoryGuard
from bot.runtime import JobPool, Lane
from bot.services.audit import AuditService
from bot.services.check import CheckRequest, CheckRunner
from bot.slack.notifier import SlackCheckNotifier
from bot.slack.poster import Poster
from simulator.slack import Posted, SlackStandin

TOKEN = "xoxb-test-token"


class Held:
    """An auditor that records each audit's scope and waits until the test releases it."""

    def __init__(self) -> None:
        self.release = threading.Semaphore(0)
        self.started = threading.Semaphore(0)
        self.scopes: list[Scope] = []

    def audit(self, scope: Scope) -> AuditResult:
        self.scopes.append(scope)
        self.started.release()
        assert self.release.acquire(timeout=20)
        verdict = Verdict(
            "111111111111",
            Status.NONCOMPLIANT,
            "root access key present",
            "aws",
            keys=(KeySlot(slot=1, active=True, age_days=12),),
        )
        return AuditResult(verdicts=(verdict,), scope=scope.kind)


class OtherReplicaGuard(MemoryGuard):
    """This process's guard, where the database says another replica claimed ``taken``."""

    def __init__(self, taken: set[str]) -> None:
        super().__init__()
        self.taken = taken
        self.claimed: list[str] = []

    def claim(self, key: str) -> bool:
        self.claimed.append(key)
        return key not in self.taken


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=TOKEN) as standin:
        yield standin


def runner_for(
    slack: SlackStandin, auditor: Held, guard: MemoryGuard | None = None, max_pending: int = 8
) -> tuple[CheckRunner, Lane]:
    client = WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[])
    jobs = JobPool().lane("audits", workers=2, max_pending=max_pending)
    return CheckRunner(
        AuditService(auditor), SlackCheckNotifier(Poster(client)), jobs, guard=guard
    ), jobs


def results(slack: SlackStandin, channel: str) -> list[Posted]:
    return [
        m
        for m in slack.messages(channel)
        if any(b.get("block_id") == "rootkey_header" for b in m.args.get("blocks") or [])
    ]


def ask(
    slack: SlackStandin, scope: Scope, channel: str, user: str, key: str | None = None
) -> CheckRequest:
    return CheckRequest(scope, channel, user, slack.response_url(), key=key)


def test_checks_of_one_scope_waiting_together_share_one_audit_posted_to_everyone(
    slack: SlackStandin,
) -> None:
    auditor = Held()
    runner, jobs = runner_for(slack, auditor)
    org = Scope("org")
    assert runner.start(ask(slack, org, "C1", "U0ALICE001"))
    assert auditor.started.acquire(timeout=10)  # the first audit is running: never joined

    # While it runs, four more checks of the Organization arrive: they wait for one audit.
    assert runner.start(ask(slack, org, "C1", "U0BOB00001"))
    assert runner.start(ask(slack, org, "C2", "U0CAROL001"))
    assert runner.start(ask(slack, org, "C1", "U0BOB00001"))  # Bob asks again
    assert runner.start(ask(slack, org, "C2", "U0DAVE0001"))
    assert jobs.pending == 2  # one running, one waiting: not five
    auditor.release.release()
    assert auditor.started.acquire(timeout=10)  # the second audit, for the four
    auditor.release.release()
    assert jobs.wait_idle(20)
    jobs.pool.stop()

    assert auditor.scopes == [org, org]  # two audits in all
    c1, c2 = results(slack, "C1"), results(slack, "C2")
    # Alice's own result, then one for Bob (who asked twice), and one each in C2.
    assert len(c1) == 2 and len(c2) == 2
    assert all("111111111111" in str(m.args["blocks"]) for m in c1 + c2)
    everyone = " ".join(str(m.args["blocks"]) for m in c1 + c2)
    for user in ("U0ALICE001", "U0BOB00001", "U0CAROL001", "U0DAVE0001"):
        assert f"<@{user}>" in everyone


def test_different_scopes_are_audited_apart_and_named_accounts_in_any_order_together(
    slack: SlackStandin,
) -> None:
    auditor = Held()
    runner, jobs = runner_for(slack, auditor, max_pending=3)
    assert runner.start(ask(slack, Scope("org"), "C1", "U0ALICE001"))
    assert auditor.started.acquire(timeout=10)
    two = Scope("accounts", ("111111111111", "222222222222"))
    assert runner.start(ask(slack, two, "C1", "U0ALICE001"))
    assert auditor.started.acquire(timeout=10)  # a second worker: another scope starts
    # Both workers busy: the same two accounts, named the other way round, wait together.
    again = Scope("accounts", ("222222222222", "111111111111"))
    assert runner.start(ask(slack, again, "C1", "U0BOB00001"))
    assert runner.start(ask(slack, two, "C2", "U0CAROL001"))
    # A different scope past the limit is refused at once (three audits pending).
    assert not runner.start(ask(slack, Scope("account"), "C1", "U0DAVE0001"))
    for _ in range(3):
        auditor.release.release()
    assert jobs.wait_idle(20)
    jobs.pool.stop()

    assert auditor.scopes == [Scope("org"), two, again]
    assert len(results(slack, "C1")) == 3 and len(results(slack, "C2")) == 1


def test_a_request_another_replica_claimed_starts_no_audit_and_posts_nothing(
    slack: SlackStandin,
) -> None:
    auditor = Held()
    guard = OtherReplicaGuard(taken={"trigger_id:retried"})
    runner, jobs = runner_for(slack, auditor, guard)
    assert runner.start(ask(slack, Scope("org"), "C1", "U0ALICE001", key="trigger_id:retried"))
    assert jobs.wait_idle(10)
    assert auditor.scopes == [] and slack.messages("C1") == []

    # Joined with a request of its own, only the latter's requester gets the result.
    assert runner.start(ask(slack, Scope("org"), "C2", "U0BOB00001", key="trigger_id:fresh"))
    assert auditor.started.acquire(timeout=10)
    assert runner.start(ask(slack, Scope("org"), "C1", "U0ALICE001", key="trigger_id:retried"))
    assert runner.start(ask(slack, Scope("org"), "C3", "U0CAROL001", key="trigger_id:new"))
    auditor.release.release()
    assert auditor.started.acquire(timeout=10)
    auditor.release.release()
    assert jobs.wait_idle(20)
    jobs.pool.stop()

    assert len(auditor.scopes) == 2
    assert results(slack, "C1") == []
    assert len(results(slack, "C2")) == 1 and len(results(slack, "C3")) == 1
    assert sorted(guard.claimed) == sorted(
        ["trigger_id:retried", "trigger_id:fresh", "trigger_id:retried", "trigger_id:new"]
    )
