"""What a request is told: every notice has a Slack renderer, each renderer posts where the
request lives, and the use case tells the right notices in order (through the recording
notifier, no Slack, no AWS)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, get_args
from unittest.mock import Mock

import pytest
from slack_sdk import WebClient

from bot.audit.models import AuditResult, KeySlot, Status, Verdict
from bot.config import load_config
from bot.process import ProcessIdentity
from bot.remediation import notices
from bot.remediation.errors import InvalidInput
from bot.remediation.events import Deleted, FormContext, RequestForm
from bot.remediation.models import Conversation, Request
from bot.remediation.notices import (
    ApprovalCounted,
    Audience,
    Checked,
    DatabaseFailed,
    ExecutionTakenOver,
    FindingSettled,
    KeysDeactivated,
    Notice,
    Reminder,
    RequestChanged,
    RequestMoved,
    RequestNotPosted,
    RiskAccepted,
    StepDone,
    TrackingStarted,
    WorkFailed,
)
from bot.remediation.progress import KeyProgress
from bot.remediation.rights import ApproverSpec
from bot.remediation.states import Kind, State
from bot.runtime import JobPool
from bot.services.remediation import RemediationService
from bot.slack.notifier.remediation import SlackRemediationNotifier, tell
from bot.slack.poster import Poster
from bot.store import Store
from bot.store.remediation import RemediationStore
from simulator.fake_notifier import RecordingNotifier

ACCOUNT = "111111111111"
CHANNEL = "C0ROOTKEY1"
THREAD = "1700000000.000100"
T0 = datetime(2030, 1, 1, 12, tzinfo=UTC)

# -- every notice can be told in Slack -----------------------------------------------------------


def test_every_notice_class_is_in_the_notice_union() -> None:
    declared = {
        c
        for c in vars(notices).values()
        if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == notices.__name__
    }
    assert declared == set(get_args(Notice))


@pytest.mark.parametrize("kind", get_args(Notice), ids=lambda k: k.__name__)
def test_every_notice_has_a_slack_renderer(kind: type) -> None:
    assert tell.dispatch(kind) is not tell.dispatch(object)


def test_a_notice_without_a_renderer_is_refused_loudly() -> None:
    @dataclasses.dataclass(frozen=True)
    class Unheard:
        pass

    slack = SlackRemediationNotifier(
        Poster(Mock(WebClient)), approvers=ApproverSpec.parse("U0APPROVE1"),
        required_approvals=1, zone=UTC,
    )  # fmt: skip
    with pytest.raises(TypeError, match="no Slack renderer for Unheard"):
        slack.notify(request(), Unheard())  # type: ignore[arg-type]


# -- each renderer posts where the request lives --------------------------------------------------


def request(**changes: Any) -> Request:
    base = Request(
        id=7, kind=Kind.REMEDIATION, account_id=ACCOUNT, state=State.TRACKING,
        requester="U0ALICE001", reason="unused key",
        where=Conversation(CHANNEL, THREAD, "1700000000.000200"), created_at=T0,
        expires_at=T0 + timedelta(days=3), state_since=T0, assignee="U0OWNER001",
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


SAID_IN_THREAD = [
    (RequestMoved(State.APPROVED, "assigned to the owner", None), "tracking"),
    (ApprovalCounted("U0APPROVE1", 1), "<@U0APPROVE1> approved request #7; 1 more approval"),
    (StepDone(Deleted("AKIA****WXYZ")), "Deleted AKIA****WXYZ."),
    (Checked("U0BOB00001", KeyProgress.ACTIVE, "key"), "a root access key is still active"),
    (KeysDeactivated(), "deactivated"),
    (ExecutionTakenOver("no key was deleted"), "no key was deleted"),
    (DatabaseFailed("database is locked"), "Request #7 stopped: database is locked"),
    (WorkFailed("recheck", "AccessDenied"), "Could not recheck request #7 (AccessDenied)"),
    (Reminder(Audience.APPROVERS, 3 * 86400), "is still tracking, assigned to <@U0OWNER001>"),
]


@pytest.fixture
def client() -> Mock:
    web = Mock(WebClient)
    web.chat_postMessage.return_value = {"ok": True, "channel": CHANNEL, "ts": "1.1"}
    return web


def slack_notifier(client: Mock) -> SlackRemediationNotifier:
    return SlackRemediationNotifier(
        Poster(client, sleep=lambda _s: None), approvers=ApproverSpec.parse("U0APPROVE1"),
        required_approvals=1, zone=UTC,
    )  # fmt: skip


@pytest.mark.parametrize(("notice", "words"), SAID_IN_THREAD, ids=lambda v: type(v).__name__)
def test_a_notice_is_said_in_the_requests_thread(client: Mock, notice: Notice, words: str) -> None:
    slack_notifier(client).notify(request(), notice)
    [call] = client.chat_postMessage.call_args_list
    assert (call.kwargs["channel"], call.kwargs["thread_ts"]) == (CHANNEL, THREAD)
    assert words in call.kwargs["text"]


def test_the_assignee_is_told_privately_too(client: Mock) -> None:
    slack = slack_notifier(client)
    slack.notify(request(), TrackingStarted(None))
    slack.notify(request(), Reminder(Audience.ASSIGNEE, 86400))
    where = [
        (c.kwargs["channel"], c.kwargs.get("thread_ts"))
        for c in client.chat_postMessage.call_args_list
    ]
    assert where == [(CHANNEL, THREAD), ("U0OWNER001", None)] * 2


def test_a_request_not_posted_is_told_to_its_requester(client: Mock) -> None:
    slack_notifier(client).notify(request(), RequestNotPosted("not_in_channel"))
    [call] = client.chat_postMessage.call_args_list
    assert call.kwargs["channel"] == "U0ALICE001"
    assert "could not post request #7" in call.kwargs["text"]
    assert "not_in_channel" in call.kwargs["text"]


def test_a_changed_request_is_updated_in_place(client: Mock) -> None:
    slack_notifier(client).notify(request(state=State.REJECTED), RequestChanged("U0BOB00001", T0))
    [call] = client.chat_update.call_args_list
    assert (call.kwargs["channel"], call.kwargs["ts"]) == (CHANNEL, "1700000000.000200")
    assert not client.chat_postMessage.called


def test_a_risk_accepted_names_its_owner(client: Mock) -> None:
    req = request(kind=Kind.EXCEPTION, state=State.APPROVED, owner="U0OWNER001",
                  exception_until=T0 + timedelta(days=30))  # fmt: skip
    slack_notifier(client).notify(req, RiskAccepted())
    assert "owner <@U0OWNER001>" in client.chat_postMessage.call_args.kwargs["text"]


@pytest.mark.parametrize(
    ("place", "allowed"), [("C0ROOTKEY1", True), ("G0PRIVATE1", True), ("D0BOTDM001", False)]
)
def test_requests_live_in_channels_never_in_a_direct_message(
    client: Mock, place: str, allowed: bool
) -> None:
    assert slack_notifier(client).can_post_in(Conversation(place, THREAD)) is allowed


def test_a_request_posted_on_its_own_heads_its_thread(client: Mock) -> None:
    client.chat_postMessage.return_value = {"ok": True, "channel": CHANNEL, "ts": "1.5"}
    where = slack_notifier(client).open(request(where=Conversation(CHANNEL)))
    assert where == Conversation(CHANNEL, "1.5", "1.5")
    assert client.chat_postMessage.call_args.kwargs["thread_ts"] is None


def test_a_request_posted_in_the_findings_thread_stays_there(client: Mock) -> None:
    client.chat_postMessage.return_value = {"ok": True, "channel": CHANNEL, "ts": "1.5"}
    where = slack_notifier(client).open(request(where=Conversation(CHANNEL, THREAD)))
    assert where == Conversation(CHANNEL, THREAD, "1.5")
    assert client.chat_postMessage.call_args.kwargs["thread_ts"] == THREAD


def test_a_finding_settled_reads_the_finding_back(client: Mock) -> None:
    client.conversations_replies.return_value = {"ok": True, "messages": []}
    slack_notifier(client).notify(request(state=State.VERIFIED), FindingSettled())
    client.conversations_replies.assert_called_once_with(channel=CHANNEL, ts=THREAD, limit=1)
    assert not client.chat_update.called  # the finding is gone: nothing to write back


# -- the use case tells, in order ----------------------------------------------------------------


class Directory:
    def members(self, group: str) -> list[str]:
        return []

    def private_members(self, channel: str) -> frozenset[str] | None:
        return None


class Audit:
    """The audit path: the account keeps one active root key."""

    def run(self, scope: Any, trigger: str, requested_by: Any = None, channel: Any = None) -> Any:
        return AuditResult((verdict(),), scope="accounts")


def verdict() -> Verdict:
    return Verdict(ACCOUNT, Status.NONCOMPLIANT, "root key", "aws", keys=(KeySlot(1, True),))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[RemediationService, RecordingNotifier]]:
    config = load_config({"ROOTKEY_APPROVERS": "U0APPROVE1,U0APPROVE2",
                          "ROOTKEY_REQUIRED_APPROVALS": "2"})  # fmt: skip
    store = Store.open(f"sqlite:///{tmp_path / 'rootkey.db'}")
    told = RecordingNotifier()
    last = SimpleNamespace(status=Status.NONCOMPLIANT, keys=verdict().keys)
    jobs = JobPool().lane("remediation", workers=2)  # the work after a click
    remediation = RemediationService(
        config, RemediationStore(store.engine), told, Directory(), Audit(),
        latest=lambda _account: last, now=lambda: T0,  # type: ignore[arg-type, return-value]
        jobs=jobs, identity=ProcessIdentity(),
    )  # fmt: skip
    yield remediation, told
    jobs.pool.stop()
    store.close()


def exception_form() -> RequestForm:
    ctx = FormContext(Kind.EXCEPTION, ACCOUNT, CHANNEL, THREAD)
    until = (date(2030, 1, 1) + timedelta(days=30)).isoformat()
    return RequestForm(ctx, reason="appliance needs it", until=until, owner="U0OWNER001")


def test_an_accepted_risk_is_told_approval_by_approval(
    service: tuple[RemediationService, RecordingNotifier],
) -> None:
    remediation, told = service
    req = remediation.create(remediation.prepare(exception_form(), "U0ALICE001"))
    assert told.opened == [req.id]
    assert remediation.store.get(req.id).where == Conversation(CHANNEL, THREAD, "1700000000.000001")

    remediation.approve(req.id, "U0APPROVE1")
    assert told.notices(req.id) == [RequestChanged(None, T0), ApprovalCounted("U0APPROVE1", 1)]

    remediation.approve(req.id, "U0APPROVE2")
    assert told.notices(req.id)[2:] == [
        RequestChanged("U0APPROVE2", T0),
        RequestMoved(State.REQUESTED, "2 approvals", "U0APPROVE2"),
        RiskAccepted(),
        FindingSettled(),
    ]


def test_a_request_that_cannot_be_posted_closes_and_tells_its_requester(
    service: tuple[RemediationService, RecordingNotifier],
) -> None:
    remediation, told = service
    told.refuse = "not_in_channel"
    req = remediation.create(remediation.prepare(exception_form(), "U0ALICE001"))
    assert req.state is State.EXPIRED
    assert told.opened == []
    assert told.notices(req.id) == [RequestNotPosted("not_in_channel")]
    # The account may be asked about again at once.
    again = remediation.create(remediation.prepare(exception_form(), "U0ALICE001"))
    assert again.state is State.REQUESTED


def test_a_request_withdrawn_is_told_once(
    service: tuple[RemediationService, RecordingNotifier],
) -> None:
    remediation, told = service
    req = remediation.create(remediation.prepare(exception_form(), "U0ALICE001"))
    remediation.cancel(req.id, "U0ALICE001")
    assert told.of(RequestMoved, req.id) == [
        RequestMoved(
            State.REQUESTED, "withdrawn by the requester; nothing will be changed", "U0ALICE001"
        )
    ]


def test_a_request_is_refused_where_the_notifier_says_none_may_live(
    service: tuple[RemediationService, RecordingNotifier],
) -> None:
    remediation, told = service
    told.direct = (CHANNEL,)  # as a direct message with the bot would be
    with pytest.raises(InvalidInput, match="not from a direct message"):
        remediation.prepare(exception_form(), "U0ALICE001")
    assert told.opened == [] and told.told == []


def test_a_submitted_forms_checks_never_wait_on_slack_for_the_requesters_name(
    service: tuple[RemediationService, RecordingNotifier],
) -> None:
    """The checks before a form's ack have 1.5 s and say "database not available" when they
    run out: asking Slack for the requester's name there made a slow ``users.info`` refuse the
    form with the wrong reason. The name is asked for once the form is acked, and still lands in
    the request's logged line."""
    remediation, _told = service
    asked: list[str] = []

    def people(user: str) -> str:
        asked.append(user)
        return "Riley Requester"

    remediation.core.people = people
    new = remediation.prepare(exception_form(), "U0ALICE001")
    assert asked == [], "the checks before the ack asked Slack for a name"
    req = remediation.create(new)
    assert asked == ["U0ALICE001"]
    (opened,) = [e for e in remediation.store.log(req.id) if e.to_state == "requested"]
    assert opened.actor_name == "Riley Requester"
