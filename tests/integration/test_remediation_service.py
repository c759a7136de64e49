"""The remediation service with a clock we move: exceptions that run out, overdue requests,
reminders. Real store (SQLite), real Slack client against the stand-in, real audit on moto."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.aws.auditor import AwsAuditor
from bot.config import load_config
from bot.process import ProcessIdentity
from bot.remediation.errors import InvalidInput
from bot.remediation.events import FormContext
from bot.remediation.rights import ApproverSpec
from bot.remediation.states import Kind, State
from bot.runtime import Runtime
from bot.services.audit import AuditService
from bot.services.remediation import RemediationService
from bot.slack.blocks.status import status_message
from bot.slack.directory import SlackDirectory
from bot.slack.notifier import SlackRemediationNotifier
from bot.slack.payloads import request_form
from bot.slack.poster import Poster
from bot.store import Store
from bot.store.remediation import RemediationStore
from simulator.aws import RootKeySpec, SimulatedAws
from simulator.slack import SlackStandin
from tests.support.signing import FINDING_MESSAGE

CHANNEL = "C0ROOTKEY1"
THREAD = "1700000000.000100"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token="xoxb-test", earlier=[FINDING_MESSAGE]) as standin:
        yield standin


@pytest.fixture(scope="module")
def account(moto_server: SimulatedAws) -> Iterator[str]:
    """One Organization for the module (no test here changes AWS): a member with a root key."""
    moto_server.reset()
    org = moto_server.create_organization(members=["prod"])
    member = org.members[0].account_id
    moto_server.set_root_keys(member, [RootKeySpec(slot=1, active=True)])
    yield member
    moto_server.clear_faults()


@pytest.fixture
def service(
    slack: SlackStandin, moto_server: SimulatedAws, account: str, tmp_path: Path
) -> Iterator[tuple[RemediationService, Clock, str]]:
    aws = moto_server
    config = load_config(
        {"ROOTKEY_APPROVERS": "U0APPROVE1", "ROOTKEY_REMINDER_AFTER": "1d", **aws.env()}
    )
    store = Store.open(f"sqlite:///{tmp_path / 'rootkey.db'}")
    client = WebClient(token="xoxb-test", base_url=slack.base_url)
    auditor = AwsAuditor(config, session_factory=aws.session)
    clock = Clock()
    runtime = Runtime()  # the bot's job pool: the work after a click runs in its lane
    remediation = RemediationService(
        config,
        RemediationStore(store.engine),
        SlackRemediationNotifier(
            Poster(client, sleep=lambda _s: None),
            approvers=ApproverSpec.parse(config.approvers),
            required_approvals=config.required_approvals,
            zone=config.zone,
        ),
        SlackDirectory(client),
        AuditService(auditor, store),
        identity=ProcessIdentity(),
        latest=store.latest_state,
        jobs=runtime.lane("remediation", workers=2),
        now=clock,
    )
    remediation.audit_one(account, "button")  # the audit the request form shows
    yield remediation, clock, account
    runtime.stop(wait=False)
    auditor.close()
    store.close()


def form(kind: Kind, account: str, **values: dict[str, str]) -> dict[str, Any]:
    """private_metadata and a submitted view in Slack's shape: block id -> action id -> state."""
    meta = FormContext(kind, account, CHANNEL, THREAD).encode()
    state = {"values": {k: {"value": v} for k, v in values.items()}}
    return {"private_metadata": meta, "state": state}


def thread(slack: SlackStandin) -> str:
    return "\n".join(m.args.get("text") or "" for m in slack.messages(CHANNEL))


def test_an_exception_counts_again_when_it_runs_out(
    service: tuple[RemediationService, Clock, str], slack: SlackStandin
) -> None:
    remediation, clock, account = service
    until = (clock.now + timedelta(days=10)).date().isoformat()
    view = form(
        Kind.EXCEPTION, account,
        until={"type": "datepicker", "selected_date": until},
        owner={"type": "users_select", "selected_user": "U0OWNER001"},
        reason={"type": "plain_text_input", "value": "appliance needs it"},
    )  # fmt: skip
    req = remediation.create(remediation.prepare(request_form(Kind.EXCEPTION, view), "U0ALICE001"))
    remediation.approve(req.id, "U0APPROVE1")
    [active] = remediation.active_exceptions()
    assert (active.account_id, active.owner) == (account, "U0OWNER001")

    clock.advance(days=9)
    remediation.sweep()
    assert remediation.store.get(req.id).state is State.APPROVED

    clock.advance(days=2)
    remediation.sweep()
    assert remediation.store.get(req.id).state is State.EXPIRED
    assert remediation.active_exceptions() == []
    assert "*expired*. The exception ran out; the account counts again." in thread(slack)
    status = status_message(remediation.open_requests(), remediation.active_exceptions(), UTC)
    assert status.text.endswith("0 accepted risks")


def test_reminders_come_once_each_assignee_then_approvers(
    service: tuple[RemediationService, Clock, str], slack: SlackStandin
) -> None:
    remediation, clock, account = service
    view = form(Kind.REMEDIATION, account, reason={"type": "plain_text_input", "value": "unused"})
    req = remediation.create(
        remediation.prepare(request_form(Kind.REMEDIATION, view), "U0ALICE001")
    )
    remediation.approve(req.id, "U0APPROVE1")
    slack.wait_for(lambda: remediation.store.get(req.id).state is State.TRACKING)
    slack.wait_for(lambda: "steps to remove" in thread(slack))

    def reminders() -> list[str]:
        return [e.detail for e in remediation.store.log(req.id) if e.event == "reminder"]

    clock.advance(hours=23)
    remediation.sweep()
    assert reminders() == []
    clock.advance(hours=2)
    remediation.sweep()
    remediation.sweep()
    assert reminders() == ["reminded the assignee"]
    assert slack.messages("U0ALICE001")  # the requester is the assignee: no owner file
    clock.advance(days=1)
    remediation.sweep()
    remediation.sweep()
    assert reminders() == ["reminded the assignee", "reminded the approvers"]
    assert "<@U0APPROVE1>: request" in thread(slack)
    assert "2 days after approval" in thread(slack)


def test_an_overdue_request_expires_on_the_next_click(
    service: tuple[RemediationService, Clock, str], slack: SlackStandin
) -> None:
    remediation, clock, account = service
    view = form(Kind.REMEDIATION, account, reason={"type": "plain_text_input", "value": "unused"})
    req = remediation.create(
        remediation.prepare(request_form(Kind.REMEDIATION, view), "U0ALICE001")
    )
    clock.advance(hours=73)  # past ROOTKEY_APPROVAL_TTL, before any sweep
    with pytest.raises(Exception, match="already expired"):
        remediation.approve(req.id, "U0APPROVE1")
    assert remediation.store.get(req.id).state is State.EXPIRED
    assert [a.user for a in remediation.store.get(req.id).approvals] == []


def test_two_forms_submitted_together_open_one_request(
    service: tuple[RemediationService, Clock, str], slack: SlackStandin
) -> None:
    remediation, _clock, account = service
    view = form(Kind.REMEDIATION, account, reason={"type": "plain_text_input", "value": "unused"})
    first = remediation.prepare(request_form(Kind.REMEDIATION, view), "U0ALICE001")
    second = remediation.prepare(request_form(Kind.REMEDIATION, view), "U0BOB00001")  # both pass
    req = remediation.create(first)
    with pytest.raises(InvalidInput, match=rf"Request #{req.id} for {account} is already req"):
        remediation.create(second)
    assert [r.id for r in remediation.open_requests()] == [req.id]


@pytest.mark.parametrize("owner", ["<!channel>", "U0OWNER001> <!here", "C0ROOTKEY1", "u0lower"])
def test_the_risk_owner_must_be_a_slack_user(
    service: tuple[RemediationService, Clock, str], owner: str
) -> None:
    remediation, clock, account = service
    until = (clock.now + timedelta(days=10)).date().isoformat()
    view = form(
        Kind.EXCEPTION, account,
        until={"type": "datepicker", "selected_date": until},
        owner={"type": "users_select", "selected_user": owner},
        reason={"type": "plain_text_input", "value": "appliance needs it"},
    )  # fmt: skip
    with pytest.raises(InvalidInput, match="a Slack user") as refused:
        remediation.prepare(request_form(Kind.EXCEPTION, view), "U0ALICE001")
    assert refused.value.field == "owner"
    assert remediation.open_requests() == []


def test_an_enterprise_grid_risk_owner_is_accepted(
    service: tuple[RemediationService, Clock, str],
) -> None:
    remediation, clock, account = service
    until = (clock.now + timedelta(days=10)).date().isoformat()
    view = form(
        Kind.EXCEPTION, account,
        until={"type": "datepicker", "selected_date": until},
        owner={"type": "users_select", "selected_user": "W0GRIDUSER1"},
        reason={"type": "plain_text_input", "value": "appliance needs it"},
    )  # fmt: skip
    assert (
        remediation.prepare(request_form(Kind.EXCEPTION, view), "U0ALICE001").owner == "W0GRIDUSER1"
    )
