"""assume-root execution when something fails half way: the audit, the database, a lease.

Real store (SQLite), real Slack client against the stand-in, real audit and AssumeRoot on moto.
Failures are injected at the service's own seams (the audit path, the store), never by patching
import paths."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import text

from bot.audit.models import AuditResult, Scope
from bot.aws.auditor import AwsAuditor
from bot.aws.root import RootAccess
from bot.config import load_config
from bot.process import ProcessIdentity
from bot.remediation import keys
from bot.remediation.events import FormContext
from bot.remediation.keys import KeyPrint, prints_of
from bot.remediation.models import Conversation, LogEntry
from bot.remediation.rights import ApproverSpec
from bot.remediation.states import Kind, Mode, State
from bot.runtime import Runtime
from bot.services.audit import AuditFailed, AuditService
from bot.services.remediation import RemediationService
from bot.services.remediation.core import verdict_of
from bot.slack.blocks.remediation import INPUT_ACTION
from bot.slack.directory import SlackDirectory
from bot.slack.notifier import SlackRemediationNotifier
from bot.slack.payloads import request_form
from bot.slack.poster import Poster
from bot.store import Store
from bot.store.records import StoreError
from bot.store.remediation import NewRequest, RemediationStore
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.aws_root import RootAccessStandIn
from simulator.slack import SlackStandin
from tests.support.signing import FINDING_MESSAGE

CHANNEL = "C0ROOTKEY1"
APPROVER = "U0APPROVE1"
GONE = "another-host:4242:0badc0de"  # a process elsewhere, its lease run out


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


class FlakyAudit:
    """The real audit path, failing the next ``failures`` re-audits like a dead worker."""

    def __init__(self, real: AuditService) -> None:
        self.real = real
        self.failures = 0

    def run(
        self,
        scope: Scope,
        trigger: str,
        requested_by: str | None = None,
        channel: str | None = None,
    ) -> AuditResult:
        if trigger == "recheck" and self.failures:
            self.failures -= 1
            raise AuditFailed("the audit worker stopped")
        return self.real.run(scope, trigger, requested_by, channel)


class FlakyStore(RemediationStore):
    """The real store, whose log write fails once when its detail contains ``fail_on``."""

    fail_on: str | None = None
    steal_on: str | None = None  # another process takes the lease over at this log line

    def note(self, request_id: int, actor: str, event: str, detail: str, now: datetime) -> LogEntry:
        if self.steal_on and self.steal_on in detail:
            self.steal_on = None
            assert self.take_over(self.get(request_id), GONE, now + timedelta(minutes=16))
        if self.fail_on and self.fail_on in detail:
            self.fail_on = None
            raise StoreError("database error: server closed the connection unexpectedly")
        return super().note(request_id, actor, event, detail, now)


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token="xoxb-test", earlier=[FINDING_MESSAGE]) as standin:
        yield standin


@pytest.fixture
def rig(
    slack: SlackStandin, aws: SimulatedAws, tmp_path: Path
) -> Iterator[tuple[RemediationService, FlakyAudit, FlakyStore, list[str]]]:
    stand_in = RootAccessStandIn.install(aws)
    stand_in.reset()
    org = aws.create_organization(members=2)
    accounts = [m.account_id for m in org.members]
    for account in accounts:
        aws.set_root_keys(account, [RootKeySpec(slot=1, active=True)])
    config = load_config(
        {"ROOTKEY_APPROVERS": APPROVER, "ROOTKEY_REMEDIATION": "assume-root", **aws.env()}
    )
    store = Store.open(f"sqlite:///{tmp_path / 'rootkey.db'}")
    client = WebClient(token="xoxb-test", base_url=slack.base_url)
    auditor = AwsAuditor(config, session_factory=aws.session)
    audit = FlakyAudit(AuditService(auditor, store))
    rem_store = FlakyStore(store.engine)
    runtime = Runtime()  # the bot's job pool: the work after a click runs in its lane
    remediation = RemediationService(
        config,
        rem_store,
        SlackRemediationNotifier(
            Poster(client, sleep=lambda _s: None),
            approvers=ApproverSpec.parse(config.approvers),
            required_approvals=config.required_approvals,
            zone=config.zone,
        ),
        SlackDirectory(client),
        audit,
        identity=ProcessIdentity(),
        root_access=RootAccess(config.aws_region, session_factory=aws.session),
        latest=store.latest_state,
        jobs=runtime.lane("remediation", workers=2),
        now=Clock(),
    )
    yield remediation, audit, rem_store, accounts
    runtime.stop(wait=False)
    auditor.close()
    store.close()
    stand_in.reset()


def thread(slack: SlackStandin) -> str:
    return "\n".join(m.args.get("text") or "" for m in slack.messages(CHANNEL))


def approved(remediation: RemediationService, account: str) -> int:
    """A request for ``account`` approved in the store (no click: the test starts the work)."""
    store = remediation.store
    now = remediation.now()
    keys = verdict_of(remediation.audit_one(account, "button"), account)
    req = store.create(
        NewRequest(
            kind=Kind.REMEDIATION,
            account_id=account,
            requester="U0ALICE001",
            reason="unused key",
            where=Conversation(CHANNEL, "1700000000.000100"),
            expires_at=now + timedelta(hours=72),
            mode=Mode.ASSUME_ROOT,
            key_prints=prints_of(keys.keys),
        ),
        now,
    )
    assert store.approve(req.id, APPROVER, 1, now).approved
    return req.id


def left_executing_by_gone_process(remediation: RemediationService, account: str) -> int:
    request_id = approved(remediation, account)
    past = remediation.now() - timedelta(minutes=1)
    moved = remediation.store.transition(
        request_id, State.APPROVED, State.EXECUTING, "rootkey", "deleting", past,
        lease_owner=GONE, lease_until=past,
    )  # fmt: skip
    assert moved is not None
    return request_id


def test_a_failed_re_audit_ends_the_execution_as_failed_with_the_reason(
    rig: tuple[RemediationService, FlakyAudit, FlakyStore, list[str]], slack: SlackStandin
) -> None:
    remediation, audit, _store, accounts = rig
    request_id = approved(remediation, accounts[0])
    audit.failures = 1
    remediation.proceed(request_id)
    req = remediation.store.get(request_id)
    assert req.state is State.FAILED
    text = thread(slack)
    assert "*failed*. The re-audit could not run: the audit worker stopped" in text
    assert "already deleted: AKIA" in text  # the thread says the key is gone anyway


def test_a_database_failure_mid_execution_is_resumed_by_the_same_process(
    rig: tuple[RemediationService, FlakyAudit, FlakyStore, list[str]], slack: SlackStandin
) -> None:
    remediation, _audit, store, accounts = rig
    request_id = approved(remediation, accounts[0])
    store.fail_on = "Re-auditing the account"  # after the key was deleted
    remediation.proceed(request_id)
    req = remediation.store.get(request_id)
    assert req.state is State.EXECUTING
    assert req.lease_until is not None and req.lease_until <= remediation.now()  # handed back
    assert "stopped: database not available" in thread(slack)
    assert "server closed the connection" not in thread(slack)  # the driver's text is logged

    remediation.sweep()  # the lease is this process's own, but nothing runs it any more
    assert remediation.store.get(request_id).state is State.VERIFIED
    assert "the execution of this request stopped before it ended" in thread(slack)


def test_a_process_that_lost_its_lease_stops_before_deleting(
    rig: tuple[RemediationService, FlakyAudit, FlakyStore, list[str]],
    slack: SlackStandin,
    aws: SimulatedAws,
) -> None:
    remediation, _audit, store, accounts = rig
    request_id = approved(remediation, accounts[0])
    store.steal_on = "keys: "  # taken over after the keys were listed, before any deletion
    remediation.proceed(request_id)
    req = remediation.store.get(request_id)
    assert (req.state, req.lease_owner) == (State.EXECUTING, GONE)  # left to the new holder
    assert len(aws.state.root(accounts[0]).keys) == 1  # nothing deleted
    assert "was taken over by another rootkey process; this one stops" in thread(slack)
    # and a move out of executing by a process that does not hold the lease changes nothing
    assert remediation.move(req, State.VERIFIED, "rootkey", "not mine") is None
    assert remediation.store.get(request_id).state is State.EXECUTING


def test_a_failure_after_a_take_over_leaves_the_request_to_the_new_holder(
    rig: tuple[RemediationService, FlakyAudit, FlakyStore, list[str]], slack: SlackStandin
) -> None:
    remediation, audit, store, accounts = rig
    request_id = approved(remediation, accounts[0])
    store.steal_on = "Re-auditing the account"  # after the deletion and its lease renewal
    audit.failures = 1
    remediation.proceed(request_id)
    req = remediation.store.get(request_id)
    assert (req.state, req.lease_owner) == (State.EXECUTING, GONE)
    text = thread(slack)
    assert "was taken over by another rootkey process; this one stops" in text
    assert "(the re-audit could not run: the audit worker stopped; already deleted: AKIA" in text


def test_one_resume_failing_does_not_stop_the_others(
    rig: tuple[RemediationService, FlakyAudit, FlakyStore, list[str]], slack: SlackStandin
) -> None:
    remediation, audit, _store, accounts = rig
    first = left_executing_by_gone_process(remediation, accounts[0])
    second = left_executing_by_gone_process(remediation, accounts[1])
    audit.failures = 1  # the first resume's re-audit
    remediation.sweep()
    assert remediation.store.get(first).state is State.EXECUTING
    assert remediation.store.get(second).state is State.VERIFIED
    assert f"Could not resume request #{first} (the audit worker stopped)" in thread(slack)

    remediation.sweep()  # the next sweep re-audits the first one again and finishes it
    assert remediation.store.get(first).state is State.VERIFIED


def test_a_request_this_process_runs_now_is_not_resumed_under_it(
    rig: tuple[RemediationService, FlakyAudit, FlakyStore, list[str]],
) -> None:
    remediation, _audit, _store, accounts = rig
    request_id = left_executing_by_gone_process(remediation, accounts[0])
    seen: list[Any] = []
    with remediation.running(request_id):
        remediation.resume_interrupted(False)
        seen.append(remediation.store.get(request_id).lease_owner)
    assert seen == [GONE]  # untouched while marked as running here


def test_dry_run_is_the_one_saved_on_the_request_not_the_setting_at_execution(
    rig: tuple[RemediationService, FlakyAudit, FlakyStore, list[str]],
    slack: SlackStandin,
    aws: SimulatedAws,
) -> None:
    remediation, _audit, _store, accounts = rig
    configured = remediation.config
    remediation.config = replace(configured, dry_run=True)
    meta = FormContext(Kind.REMEDIATION, accounts[0], CHANNEL, "1700000000.000100").encode()
    view = {
        "private_metadata": meta,
        "state": {"values": {"reason": {INPUT_ACTION: {"value": "unused"}}}},
    }
    remediation.audit_one(accounts[0], "button")  # the audit the request form shows
    req = remediation.create(
        remediation.prepare(request_form(Kind.REMEDIATION, view), "U0ALICE001")
    )
    assert req.dry_run
    assert "*dry run*: nothing will be deleted" in str(slack.messages(CHANNEL)[-1].args)

    remediation.config = replace(configured, dry_run=False)  # changed before it runs
    remediation.approve(req.id, APPROVER)
    slack.wait_for(lambda: remediation.store.get(req.id).state is State.FAILED)
    assert len(aws.state.root(accounts[0]).keys) == 1  # nothing deleted
    assert "would delete AKIA" in thread(slack)


def test_a_key_added_to_an_approved_request_in_its_table_is_not_deleted(
    rig: tuple[RemediationService, FlakyAudit, FlakyStore, list[str]],
    slack: SlackStandin,
    aws: SimulatedAws,
) -> None:
    """Attack: with the bot's own database role, add a key nobody approved (created after the
    approval) to an approved request's keys in ``remediation_requests``. The execution reads
    the keys the approval's log line names: it stops at the other key and deletes nothing."""
    remediation, _audit, store, accounts = rig
    account = accounts[0]
    old = RootKeySpec(slot=1, active=True, created=days_ago(400))
    aws.set_root_keys(account, [old])
    request_id = approved(remediation, account)
    new = RootKeySpec(slot=2, active=True, created=days_ago(1))
    aws.set_root_keys(account, [old, new])
    approved_keys = store.get(request_id).key_prints or ()
    more = [*approved_keys, KeyPrint(created=new.created, active=True, slot=2)]
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE remediation_requests SET key_prints = :prints WHERE id = :id"),
            {"id": request_id, "prints": keys.encode(more)},
        )

    remediation.proceed(request_id)
    assert len(aws.state.root(account).keys) == 2  # nothing deleted
    assert remediation.store.get(request_id).state is State.FAILED
    assert "A key that is not part of this request appeared: AKIA" in thread(slack)
    assert "no key was deleted" in thread(slack)
