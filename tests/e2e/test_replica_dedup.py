"""Slack retries and replays across bot replicas: one claim per request key in the shared store.

Two real bot processes on one throw-away PostgreSQL database, moto's server behind them, the
Slack stand-in recording what they post. A `/rootkey check` reaches process A; Slack's retry of
the very same request (``X-Slack-Retry-Num: 1``) reaches process B, as a load balancer may
send it. Exactly one audit result is posted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from slack_bolt import App, BoltRequest, BoltResponse

from bot.app import build_app
from bot.audit.models import AuditResult, KeySlot, Scope, Status, Verdict
from bot.config import load_config
from bot.jobs import SharedGuard
from bot.slack.action_ids import ActionId
from bot.store import Store
from bot.store.claims import RequestClaims
from bot.store.records import StoreError
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import Posted, SlackStandin
from tests.support.botproc import BotProcess, bot_env
from tests.support.database import BACKENDS, database, postgres_database
from tests.support.signing import (
    FINDING_MESSAGE,
    TEST_SIGNING_SECRET,
    actions_body,
    command_body,
    post_signed,
    signed_headers,
)

BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C0ROOTKEY1"


# -- the claim itself, on both databases ---------------------------------------------------------


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_key_is_claimed_once_across_processes_and_old_claims_are_pruned(
    kind: str, tmp_path: Path
) -> None:
    with database(kind, tmp_path) as url:
        one, two = Store.open(url), Store.open(url)  # two processes' stores, one database
        try:
            clock = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
            a = RequestClaims(one.engine, now=lambda: clock)
            b = RequestClaims(two.engine, now=lambda: clock)
            assert (one.schema_revision() or "") >= "0003"  # request_claims came in 0003

            assert a.claim("trigger_id:111.222.abc") is True
            assert b.claim("trigger_id:111.222.abc") is False  # the other replica's retry
            assert a.claim("trigger_id:111.222.abc") is False  # and a replay to the first
            assert b.claim("trigger_id:333.444.def") is True
            assert a.count() == 2

            # A day later the claims are pruned; a fresh key is still claimed normally.
            later = clock + timedelta(days=1, seconds=1)
            assert b.prune(later) == 2
            assert a.count() == 0
            assert a.claim("event_id:Ev0NEW") is True
        finally:
            one.close()
            two.close()


def test_claims_store_no_slack_data(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'rootkey.db'}")
    try:
        RequestClaims(store.engine).claim("trigger_id:123.456.secretish")
        with store.engine.connect() as conn:
            [key] = conn.exec_driver_sql("SELECT key FROM request_claims").scalars()
        assert "secretish" not in key and len(key) == 64
    finally:
        store.close()


# -- two bot processes on one PostgreSQL ---------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=BOT_TOKEN, earlier=[FINDING_MESSAGE]) as standin:
        yield standin


def results(slack: SlackStandin) -> list[Posted]:
    return [
        m
        for m in slack.messages(CHANNEL)
        if m.thread_ts is None
        and any(b.get("block_id") == "rootkey_header" for b in m.args.get("blocks") or [])
    ]


@pytest.mark.slow
@pytest.mark.postgres
def test_a_retry_reaching_the_other_replica_starts_no_second_audit(
    slack: SlackStandin, aws: SimulatedAws
) -> None:
    org = aws.create_organization(members=["prod"])
    aws.set_root_keys(
        org.members[0].account_id, [RootKeySpec(slot=1, active=True, created=days_ago(30))]
    )
    with postgres_database("rootkey_replicas") as url:
        env = bot_env(slack, url, aws.env())
        with BotProcess(env) as a, BotProcess(env) as b:
            body = command_body("check all", response_url=slack.response_url(), channel=CHANNEL)
            headers = signed_headers(body)

            first = requests.post(a.events_url, data=body.encode(), headers=headers, timeout=10)
            assert first.status_code == 200 and "Auditing" in first.json()["text"]
            [result] = slack.wait_for(lambda: results(slack))
            assert org.members[0].account_id in json.dumps(result.args["blocks"])

            retry_headers = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"}
            retry = requests.post(
                b.events_url, data=body.encode(), headers=retry_headers, timeout=10
            )
            # Acknowledged as a command (B's memory has not seen it), but nothing is started.
            assert retry.status_code == 200 and "Auditing" in retry.json()["text"]
            slack.wait_for(lambda: "claimed by another process" in b.logs)
            # A repeat reaching the process that has seen it gets an empty ack at once.
            again = requests.post(
                a.events_url, data=body.encode(), headers=retry_headers, timeout=10
            )
            assert again.status_code == 200 and again.text == ""

            # B works: a new command there is audited and posted. Had it queued the retry, the
            # retry's audit would have been ahead of this one.
            fresh = post_signed(
                b.events_url, command_body("check all", response_url=slack.response_url())
            )
            assert "Auditing" in fresh.json()["text"]
            slack.wait_for(lambda: len(results(slack)) >= 2)
            assert b.wait_healthy(5)
        logs_b = b.logs
    assert len(results(slack)) == 2  # the first command's and the fresh one's, nothing more
    assert "ignored a repeated request (retry 1)" in a.logs
    assert "claimed by another process: nothing started" in logs_b
    assert TEST_SIGNING_SECRET not in a.logs + logs_b


class CountingClaims:
    """Claims that count the database calls; ``down`` makes the database fail."""

    def __init__(self, store: Store) -> None:
        self.inner = RequestClaims(store.engine)
        self.calls = 0
        self.down = False

    def claim(self, key: str) -> bool:
        self.calls += 1
        if self.down:
            raise StoreError("database error: connection refused")
        return self.inner.claim(key)


def test_the_guard_answers_before_the_ack_from_memory_and_claims_after_it(
    tmp_path: Path,
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'rootkey.db'}")
    try:
        claims = CountingClaims(store)
        here, other = SharedGuard(claims), SharedGuard(claims)  # two processes' guards
        # Before the ack: memory only, never the database.
        assert here.first_time("trigger_id:1") is True
        assert here.first_time("trigger_id:1") is False
        assert other.first_time("trigger_id:1") is True  # the other process has not seen it
        assert claims.calls == 0
        # After the ack: exactly one of the two processes does the work.
        assert here.claim("trigger_id:1") is True
        assert other.claim("trigger_id:1") is False
        assert claims.calls == 2

        claims.down = True
        # The database cannot answer: the work goes ahead (never silently dropped) and a
        # repeat to the same process is still caught in memory.
        assert here.first_time("trigger_id:2") is True
        assert here.claim("trigger_id:2") is True
        assert here.first_time("trigger_id:2") is False
    finally:
        store.close()


# -- two replicas in one test process, on one SQLite file ----------------------------------------


class OneFinding:
    """An auditor that has already looked: one account with an active root key."""

    def __init__(self) -> None:
        self.audits = 0

    def audit(self, scope: Scope) -> AuditResult:
        self.audits += 1
        verdict = Verdict(
            "111111111111",
            Status.NONCOMPLIANT,
            "root access key present",
            "aws",
            keys=(KeySlot(slot=1, active=True, age_days=12),),
        )
        return AuditResult(verdicts=(verdict,), scope=scope.kind)


def test_a_retried_command_and_a_retried_click_on_the_other_replica_do_nothing_twice(
    slack: SlackStandin, tmp_path: Path
) -> None:
    config = load_config(bot_env(slack, f"sqlite:///{tmp_path / 'rootkey.db'}", {}))
    auditor = OneFinding()
    app_a, services_a = build_app(config, auditor=auditor)
    app_b, services_b = build_app(config, auditor=auditor)  # its own store: another replica

    def deliver(app: App, body: str, retry: bool = False) -> BoltResponse:
        headers = {k.lower(): [v] for k, v in signed_headers(body).items()}
        if retry:
            headers["x-slack-retry-num"] = ["1"]
        return app.dispatch(BoltRequest(body=body, headers=headers))

    try:
        command = command_body("check all", response_url=slack.response_url(), channel=CHANNEL)
        assert "Auditing" in json.loads(deliver(app_a, command).body)["text"]
        assert services_a.jobs.wait_idle(10)
        retried = deliver(app_b, command, retry=True)
        assert retried.status == 200  # acknowledged like any command...
        assert services_b.jobs.wait_idle(10)
        assert auditor.audits == 1 and len(results(slack)) == 1  # ...but nothing started
        assert deliver(app_a, command, retry=True).body == ""  # the same replica: empty ack

        click = actions_body(
            ActionId.RERUN.value, "org", response_url=slack.response_url(), channel=CHANNEL
        )
        assert deliver(app_b, click).status == 200
        slack.wait_for(lambda: len(results(slack)) == 2)
        assert deliver(app_a, click, retry=True).status == 200
        assert services_a.jobs.wait_idle(10) and services_b.jobs.wait_idle(10)
        assert auditor.audits == 2 and len(results(slack)) == 2
        # The click's "Auditing ..." note went to its response_url once, from B only.
        notes = [r for r in slack.responses() if "Auditing" in str(r.get("text"))]
        assert len(notes) == 1
    finally:
        services_a.shutdown()
        services_b.shutdown()
