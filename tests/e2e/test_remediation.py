"""Remediation end to end: the real bot, signed block_actions and view_submission payloads, the
Slack stand-in recording every call, moto's server (with the centralized root access stand-in)
behind it, the SQL store on disk.

The bot is a process (``BotProcess``) where the test kills it or runs replicas, else it runs
in the test's process (``InProcessBot``, the same start and stop as ``python -m bot``). Where
time matters (approval expiry, reminders, rechecks) the bot's clock is a ``ManualClock`` that
the test moves past the time, then waits for the effect: no real timer runs out.

Each scenario starts from a finding's "Request remediation" button and ends where a person
would look: the thread, the request message, the AWS account, the exported log.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from bot.remediation.models import Request
from bot.remediation.states import State
from bot.slack.action_ids import ActionId, CallbackId
from bot.store.engine import create_store_engine
from bot.store.remediation import RemediationStore
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.aws_root import RootAccessStandIn
from simulator.clock import ManualClock
from simulator.slack import TEAM, SlackStandin, SocketModeServer
from tests.support import slackflow, waiting
from tests.support.botproc import ROOT, BotProcess, bot_env, export_log
from tests.support.database import postgres_database
from tests.support.inprocess import InProcessBot
from tests.support.signing import (
    FINDING_MESSAGE,
    TEST_SIGNING_SECRET,
    actions_body,
    command_body,
    post_signed,
)
from tests.support.slackflow import filled_form, submit
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C0ROOTKEY1"
FINDING_TS = "1700000000.000100"  # the finding message the thread hangs off
ALICE = "U0ALICE001"  # finds the key, asks for the fix
APPROVER = "U0APPROVE1"  # named in ROOTKEY_APPROVERS
GROUP_APPROVER = "U0APPROVE2"  # approver through the user group
APPROVER_GROUP = "S0SECOPS01"
MALLORY = "U0MALLORY1"  # not an approver
OWNER = "U0OWNER001"


# -- plumbing ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=BOT_TOKEN, earlier=[FINDING_MESSAGE]) as standin:
        yield standin


@pytest.fixture(scope="module")
def root_access(moto_server: SimulatedAws) -> RootAccessStandIn:
    return RootAccessStandIn.install(moto_server)


class Bot:
    """A bot configuration: its database survives restarts. A real process when ``process``
    (to be killed), else a bot in the test's process on ``clock`` (None: the system's)."""

    def __init__(
        self,
        env: dict[str, str],
        db_url: str,
        *,
        process: bool = False,
        clock: ManualClock | None = None,
    ) -> None:
        self.db_url = db_url
        self.env = {**env, "DATABASE_URL": self.db_url}
        self.in_process = not process
        self.clock = clock
        self.process: BotProcess | InProcessBot | None = None
        self.store = RemediationStore(create_store_engine(self.db_url))

    def start(self) -> Bot:
        if self.in_process:
            build = {"clock": self.clock} if self.clock is not None else {}
            self.process = InProcessBot(self.env, **build).start()
        else:
            self.process = BotProcess(self.env).start()
        return self

    def restart(self, clock: ManualClock | None = None) -> Bot:
        """After a kill: start again in the test's process (on ``clock``, if given). What is
        tested is what the next bot does with what the killed one left in the database."""
        self.in_process, self.clock = True, clock
        return self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            assert TEST_SIGNING_SECRET not in self.process.logs
            assert BOT_TOKEN not in self.process.logs

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind (a bot made with ``process=True``)."""
        assert isinstance(self.process, BotProcess), "only a process can be killed"
        self.process.kill()

    @property
    def url(self) -> str:
        assert self.process is not None
        return self.process.events_url

    @property
    def logs(self) -> str:
        return self.process.logs if self.process else ""


def make_bot(
    slack: SlackStandin,
    moto: SimulatedAws,
    tmp: pytest.TempPathFactory,
    db_url: str | None = None,
    *,
    process: bool = False,
    clock: ManualClock | None = None,
    **settings: str,
) -> Bot:
    approvers = f"{APPROVER},{APPROVER_GROUP}"
    env = bot_env(slack, None, moto.env(), ROOTKEY_APPROVERS=approvers, **settings)
    db = db_url or f"sqlite:///{tmp.mktemp('bot') / 'rootkey.db'}"
    return Bot(env, db, process=process, clock=clock).start()


@pytest.fixture(scope="module")
def assume_root_bot(
    slack: SlackStandin, moto_server: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    bot = make_bot(slack, moto_server, tmp_path_factory, ROOTKEY_REMEDIATION="assume-root")
    yield bot
    bot.stop()


@pytest.fixture
def fresh(
    slack: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn
) -> Iterator[SlackStandin]:
    slack.reset()
    slack.set_usergroup(APPROVER_GROUP, [GROUP_APPROVER])
    root_access.reset()
    yield slack
    root_access.reset()


@pytest.fixture
def own_bot(
    fresh: SlackStandin, moto_server: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Bot]]:
    """Start a bot of the test's own (``own_bot(db_url=None, process=False, clock=None,
    **settings)``) on the fresh Slack stand-in; every one started is stopped at the end."""
    started: list[Bot] = []

    def start(
        db_url: str | None = None,
        *,
        process: bool = False,
        clock: ManualClock | None = None,
        **settings: str,
    ) -> Bot:
        bot = make_bot(
            fresh, moto_server, tmp_path_factory, db_url, process=process, clock=clock, **settings
        )
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.stop()


def member_with_key(aws: SimulatedAws, **key: Any) -> str:
    org = aws.create_organization(members=["prod"])
    account = org.members[0].account_id
    spec = {"slot": 1, "active": True, "created": days_ago(500), **key}
    aws.set_root_keys(account, [RootKeySpec(**spec)])
    return account


def click(
    bot: Bot,
    slack: SlackStandin,
    action: ActionId,
    value: str,
    user: str,
    ts: str = FINDING_TS,
    response_url: str | None = None,
) -> requests.Response:
    reply = slackflow.click(
        bot.url, slack, action.value, value, user, ts, response_url=response_url
    )
    assert reply.status_code == 200
    return reply


def status_answer(bot: Bot, slack: SlackStandin, user: str) -> dict[str, Any]:
    """``/rootkey status``: an empty ack at once, then the answer through response_url."""
    url = slack.response_url()
    reply = post_signed(bot.url, command_body("status", response_url=url, user=user))
    assert reply.status_code == 200 and not reply.text
    return slack.answer_to(url)


def thread(slack: SlackStandin) -> list[str]:
    return slackflow.thread(slack, CHANNEL, FINDING_TS)


def wait_thread(slack: SlackStandin, words: str, timeout: float = 30.0) -> str:
    return slack.wait_for(lambda: next((t for t in thread(slack) if words in t), None), timeout)


def find_request_message(slack: SlackStandin, request_id: int) -> dict[str, Any] | None:
    for m in slack.messages(CHANNEL):
        if any(b.get("block_id") == f"rootkey_request:{request_id}" for b in m.args["blocks"]):
            return {"ts": m.ts, **m.args}
    return None


def request_message(slack: SlackStandin, request_id: int) -> dict[str, Any]:
    message = find_request_message(slack, request_id)
    if message is None:
        raise AssertionError(f"no message for request #{request_id}")
    return message


def request_message_showing(slack: SlackStandin, request_id: int, words: str) -> dict[str, Any]:
    """The request's message once it shows ``words``: it is updated in place (chat.update),
    which may arrive before or after the thread note of the same step."""

    def shown() -> dict[str, Any] | None:
        message = find_request_message(slack, request_id)
        return message if message and words in json.dumps(message["blocks"]) else None

    try:
        return slack.wait_for(shown)
    except TimeoutError:
        raise AssertionError(
            f"request #{request_id}'s message never showed {words!r}: "
            f"{json.dumps(request_message(slack, request_id)['blocks'])}"
        ) from None


def ask_for_remediation(
    bot: Bot, slack: SlackStandin, account: str, user: str = ALICE
) -> tuple[int, str]:
    """Button, form, submit; returns the request id and its message ts."""
    click(bot, slack, ActionId.REQUEST_REMEDIATION, f"{account}:", user)
    form = filled_form(slack, account)
    reply = submit(bot.url, form, user, {"reason": "unused since 2019", "ticket": None})
    assert reply.status_code == 200 and not reply.text
    posted = slack.wait_for(
        lambda: next(
            (
                m
                for m in slack.messages(CHANNEL)
                if any(
                    str(b.get("block_id", "")).startswith("rootkey_decide:")
                    for b in m.args["blocks"]
                )
            ),
            None,
        )
    )
    decide = next(b for b in posted.args["blocks"] if b["type"] == "actions")
    request_id = int(decide["block_id"].split(":")[1])
    wait_until(lambda: bot.store.get(request_id).where.message == posted.ts)
    return request_id, posted.ts


def wait_state(bot: Bot, request_id: int, state: State, timeout: float = 30.0) -> Request:
    return waiting.wait_state(bot.store, request_id, state, timeout, lambda: bot.logs)


def refused_unchanged(
    bot: Bot, slack: SlackStandin, request_id: int, ts: str, action: ActionId, user: str
) -> str:
    """Click as ``user``; assert the request did not change; return the private answer."""
    before = bot.store.get(request_id)
    answer = click_answer(bot, slack, action, str(request_id), user, ts)
    assert bot.store.get(request_id) == before
    return answer


def click_answer(
    bot: Bot, slack: SlackStandin, action: ActionId, value: str, user: str, ts: str
) -> str:
    """Click and return the private answer to that click (matched by its response_url, not
    by arrival order)."""
    return slackflow.click_answer(bot.url, slack, action.value, value, user, ts)


# -- assume-root -------------------------------------------------------------------------------


def test_assume_root_runs_from_the_button_to_a_verified_fix(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws, last_used=days_ago(3), region="eu-west-1", service="s3")

    click(bot, slack, ActionId.REQUEST_REMEDIATION, f"{account}:", ALICE)
    form = filled_form(slack, account)
    shown = json.dumps(form["blocks"])
    assert account in shown
    assert "Used in the last 30 days" in shown  # the key was used 3 days ago
    assert "*Mode:* assume-root" in shown
    assert json.loads(form["private_metadata"]) == {
        "k": "remediation",
        "a": account,
        "c": CHANNEL,
        "t": FINDING_TS,
    }
    # The reason is required: an empty one comes back as a form error, nothing is created.
    refused = submit(bot.url, form, ALICE, {"reason": "  ", "ticket": None})
    assert refused.json()["response_action"] == "errors" and "reason" in refused.json()["errors"]
    assert bot.store.find() == []

    ok = submit(
        bot.url, form, ALICE, {"reason": "unused since 2019", "ticket": "https://t.example/1"}
    )
    assert ok.status_code == 200
    [req] = slack.wait_for(lambda: bot.store.find())
    posted = slack.wait_for(lambda: find_request_message(slack, req.id))
    text = json.dumps(posted["blocks"])
    assert f"<@{APPROVER}>" in text and f"<!subteam^{APPROVER_GROUP}>" in text
    assert "prod" in text  # the account by its name too, not its id alone
    approve = next(b for b in posted["blocks"] if b["type"] == "actions")["elements"][0]
    assert approve["action_id"] == ActionId.REVIEW_APPROVAL and approve["value"] == str(req.id)
    assert "confirm" not in approve  # the bot checks rights first, then asks to confirm

    click(bot, slack, ActionId.APPROVE, str(req.id), GROUP_APPROVER, posted["ts"])
    done = wait_state(bot, req.id, State.VERIFIED)

    # The buttons were replaced in place by the decision.
    after = request_message_showing(slack, req.id, f"Approved by <@{GROUP_APPROVER}>")
    assert not any(b["type"] == "actions" for b in after["blocks"])
    # Every step is in the thread, in order (the last one is posted just after the move).
    wait_thread(slack, "*executing* → *verified*")
    steps = thread(slack)
    order = [
        "Opening a root session",
        "root access keys of",
        "Deleted AKIA",
        "Re-auditing",
        "*executing* → *verified*",
    ]
    found = [next(i for i, t in enumerate(steps) if words in t) for words in order]
    assert found == sorted(found), steps
    assert "last used" in next(t for t in steps if "root access keys of" in t)
    # AWS: one root session of at most 900 s with the delete task policy; the key is gone.
    [session] = root_access.sessions()
    assert session.account_id == account and session.duration <= 900
    assert session.task_policy.endswith("root-task/IAMDeleteRootUserCredentials")
    assert root_access.deleted() == [(account, root_access.key_id(account, 1))]
    assert aws.state.root(account).keys == ()
    assert root_access.key_id(account, 1) not in "\n".join(steps)  # masked ids only
    # The log has every move, and the export shows it.
    moves = [(e.from_state, e.to_state) for e in bot.store.log(req.id) if e.event == "transition"]
    assert moves == [
        (None, "requested"),
        ("requested", "approved"),
        ("approved", "executing"),
        ("executing", "verified"),
    ]
    rows = list(csv.DictReader(io.StringIO(export_log(bot.db_url, "csv"))))
    assert [(r["from_state"], r["to_state"]) for r in rows if r["event"] == "transition"] == [
        ("", "requested"),
        ("requested", "approved"),
        ("approved", "executing"),
        ("executing", "verified"),
    ]
    assert {r["account_id"] for r in rows} == {account}
    assert done.approvals[0].user == GROUP_APPROVER


MARKUP = (
    re.compile(r"<[@#!]"),  # a mention, a channel or a special mention
    re.compile(r"<https?://"),  # a link
    re.compile(r"(?<![\w:]):[a-z0-9_+-]+:(?![\w:])"),  # an emoji shortcode (not 09:14:00)
    re.compile(r"(?<![\w*])\*[^*\s][^*]*\*(?![\w*])"),  # *bold*
    re.compile(r"(?<![\w_])_[^_\s][^_]*_(?![\w_])"),  # _italic_
    re.compile(r"[`~]"),
)


def test_the_exported_log_is_plain_text_with_names_and_ids(
    own_bot: Callable[..., Bot],
    fresh: SlackStandin,
    aws: SimulatedAws,
) -> None:
    slack = fresh
    names = {ALICE: "Alice Finder", APPROVER: "Avery Approver", MALLORY: "Mallory Stranger"}
    for user, name in names.items():
        slack.workspace.add_user(user, name.split()[0].lower(), name)
    # A bot of its own: another test's bot may have learnt these people under other names.
    bot = own_bot(ROOTKEY_REMEDIATION="assume-root")
    try:
        exported_log_is_plain(bot, slack, aws)
    finally:
        bot.stop()


def exported_log_is_plain(bot: Bot, slack: SlackStandin, aws: SimulatedAws) -> None:
    account = member_with_key(aws)
    request_id, ts = ask_for_remediation(bot, slack, account)
    # A stranger's click is refused, naming the approvers: in Slack as mentions...
    refusal = click_answer(bot, slack, ActionId.APPROVE, str(request_id), MALLORY, ts)
    assert f"<@{APPROVER}>" in refusal and f"<!subteam^{APPROVER_GROUP}>" in refusal
    click(bot, slack, ActionId.APPROVE, str(request_id), APPROVER, ts)
    wait_state(bot, request_id, State.VERIFIED)
    request_message_showing(slack, request_id, f"Approved by <@{APPROVER}>")
    wait_thread(slack, "*executing* → *verified*")

    # ...in the log, as plain text: names and ids, no markup.
    rows = list(csv.DictReader(io.StringIO(export_log(bot.db_url, "csv"))))
    items = json.loads(export_log(bot.db_url, "json"))
    mine = [r for r in rows if r["request_id"] == str(request_id)]
    assert [{k: str(v) if v is not None else "" for k, v in i.items()} for i in items] == rows
    for row in mine:
        for column in ("detail", "actor", "actor_name"):
            for pattern in MARKUP:
                assert not pattern.search(row[column]), (column, row[column])
    by_actor = {r["actor"]: r["actor_name"] for r in mine}
    assert by_actor[ALICE] == "Alice Finder"
    assert by_actor[APPROVER] == "Avery Approver"
    assert by_actor[MALLORY] == "Mallory Stranger"
    assert by_actor["rootkey"] == ""
    [refused] = [r for r in mine if r["event"] == "refused"]
    assert f"Avery Approver ({APPROVER})" in refused["detail"]
    assert f"user group {APPROVER_GROUP}" in refused["detail"]
    verified = subprocess.run(
        [sys.executable, "-m", "bot", "log", "--verify", "--url", bot.db_url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert verified.returncode == 0, verified.stderr


def test_a_key_created_after_approval_stops_the_request_and_nothing_is_deleted(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws, last_used=days_ago(3), region="eu-west-1", service="s3")
    request_id, ts = ask_for_remediation(bot, slack, account)
    # The approvers see the keys the request is about, with their last use.
    shown = json.dumps(request_message(slack, request_id)["blocks"])
    assert "Key 1: active" in shown and "last used" in shown
    assert "Used in the last 30 days" in shown

    # The attack: while the approved request waits for its root session, a second key appears.
    root_access.hold("AssumeRoot")
    click(bot, slack, ActionId.APPROVE, str(request_id), APPROVER, ts)
    slack.wait_for(lambda: root_access.waiting("AssumeRoot") > 0)
    original = aws.state.root(account).keys[0]
    new = RootKeySpec(slot=2, active=True, created=days_ago(0))
    aws.set_root_keys(account, [original, new])
    root_access.release("AssumeRoot")

    failed = wait_state(bot, request_id, State.FAILED)
    # Nothing was deleted: neither the new key nor the approved one.
    assert root_access.deleted() == []
    assert len(aws.state.root(account).keys) == 2
    new_id = root_access.key_id(account, 2)
    masked = new_id[:4] + "*" * 12 + new_id[-4:]
    sentence = (
        f"a key that is not part of this request appeared: {masked}, created "
        f"{new.created:%Y-%m-%d %H:%M} UTC; nothing was deleted for it; request again"
    )
    said = wait_thread(slack, "A" + sentence[1:])  # a sentence in the thread
    assert "no key was deleted" in said
    assert any(sentence in e.detail for e in bot.store.log(failed.id))
    assert new_id not in "\n".join(thread(slack))  # masked ids only


def test_a_key_replaced_after_the_request_is_not_deleted(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws)
    request_id, ts = ask_for_remediation(bot, slack, account)
    # The requested key is deleted by hand and a new one made in the same slot (same key id in
    # the simulator): only its creation date tells it apart.
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(0))])
    click(bot, slack, ActionId.APPROVE, str(request_id), APPROVER, ts)
    wait_state(bot, request_id, State.FAILED)
    wait_thread(slack, "key that is not part of this request appeared")
    assert root_access.deleted() == [] and len(aws.state.root(account).keys) == 1


def test_rejection_changes_nothing_in_aws(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws)
    request_id, ts = ask_for_remediation(bot, slack, account)

    click(bot, slack, ActionId.REJECT, str(request_id), APPROVER, ts)
    wait_state(bot, request_id, State.REJECTED)
    wait_thread(slack, "*requested* → *rejected*")
    message = request_message_showing(slack, request_id, f"Rejected by <@{APPROVER}>")
    assert not any(b["type"] == "actions" for b in message["blocks"])
    # A late approval is refused and changes nothing.
    answer = refused_unchanged(bot, slack, request_id, ts, ActionId.APPROVE, GROUP_APPROVER)
    assert "already rejected" in answer
    assert root_access.sessions() == [] and len(aws.state.root(account).keys) == 1


def test_self_approval_and_strangers_are_refused(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws)
    # An approver may ask, but never approve their own request.
    request_id, ts = ask_for_remediation(bot, slack, account, user=APPROVER)

    own = refused_unchanged(bot, slack, request_id, ts, ActionId.APPROVE, APPROVER)
    assert "cannot approve it" in own
    stranger = refused_unchanged(bot, slack, request_id, ts, ActionId.APPROVE, MALLORY)
    assert "Only approvers can approve" in stranger
    stranger_reject = refused_unchanged(bot, slack, request_id, ts, ActionId.REJECT, MALLORY)
    assert "Only approvers can reject" in stranger_reject
    # Tampered values change nothing either.
    tampered = click_answer(bot, slack, ActionId.APPROVE, "1 OR 1=1", GROUP_APPROVER, ts)
    assert "not valid" in tampered, tampered
    assert bot.store.get(request_id).state is State.REQUESTED
    refusals = [e for e in bot.store.log(request_id) if e.event == "refused"]
    assert [e.actor for e in refusals] == [APPROVER, MALLORY, MALLORY]
    assert root_access.sessions() == []


def test_a_double_click_and_two_approvers_at_once_execute_once(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws)
    request_id, ts = ask_for_remediation(bot, slack, account)

    clickers = [APPROVER, APPROVER, GROUP_APPROVER, GROUP_APPROVER]
    barrier = threading.Barrier(len(clickers))

    def go(user: str) -> None:
        barrier.wait()
        click(bot, slack, ActionId.APPROVE, str(request_id), user, ts)

    threads = [threading.Thread(target=go, args=(u,)) for u in clickers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_state(bot, request_id, State.VERIFIED)
    slack.wait_for(lambda: len(slack.responses()) >= len(clickers) - 1)

    assert len(root_access.sessions()) == 1
    assert len(root_access.deleted()) == 1
    moves = [e.to_state for e in bot.store.log(request_id) if e.event == "transition"]
    assert moves == ["requested", "approved", "executing", "verified"]
    assert len(bot.store.get(request_id).approvals) == 1
    assert sum("Deleted AKIA" in t for t in thread(slack)) == 1


def test_status_lists_open_requests(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws)
    click(bot, slack, ActionId.REQUEST_REMEDIATION, f"{account}:", MALLORY)
    early = filled_form(slack, account)
    forms = len(slack.calls("views.update"))
    click(bot, slack, ActionId.REQUEST_REMEDIATION, f"{account}:", ALICE)
    alices = filled_form(slack, account, after=forms)
    assert submit(bot.url, alices, ALICE, {"reason": "unused", "ticket": None}).status_code == 200
    [req] = slack.wait_for(lambda: bot.store.find(account_id=account))
    request_id = req.id

    # A form opened before the request was made is refused when sent: one request at a time.
    assert len(bot.store.find(account_id=account)) == 1
    again = submit(bot.url, early, MALLORY, {"reason": "me too", "ticket": None}).json()
    assert f"Request #{request_id} for {account} is already requested" in again["errors"]["reason"]
    assert len(bot.store.find(account_id=account)) == 1

    text = json.dumps(status_answer(bot, slack, MALLORY))
    assert f"#{request_id}" in text and account in text and "requested" in text


def test_a_request_from_a_direct_message_is_refused_and_blocks_nothing(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws)
    # The attack: a check run in a DM with the bot, then "Request remediation" there, where
    # no approver would ever see the request while it blocks every other one for the account.
    body = actions_body(
        ActionId.REQUEST_REMEDIATION.value, f"{account}:", response_url=slack.response_url(),
        user=MALLORY, channel="D0MALLORY1", trigger_id=slack.workspace.new_trigger(MALLORY),
    )  # fmt: skip
    assert post_signed(bot.url, body).status_code == 200
    form = filled_form(slack, account, channel="D0MALLORY1")
    refused = submit(bot.url, form, MALLORY, {"reason": "parked", "ticket": None}).json()
    assert "not from a direct message" in refused["errors"]["reason"]
    assert bot.store.find(account_id=account) == []
    assert not [m for m in slack.messages("D0MALLORY1") if "request #" in str(m.args)]
    # Nothing is blocked: the same account can be asked about from the channel at once.
    forms = len(slack.calls("views.update"))
    click(bot, slack, ActionId.REQUEST_REMEDIATION, f"{account}:", ALICE)
    slack.wait_for(lambda: len(slack.calls("views.update")) > forms)
    fresh_form = filled_form(slack, account, channel=CHANNEL, after=forms)
    ok = submit(bot.url, fresh_form, ALICE, {"reason": "unused", "ticket": None})
    assert ok.status_code == 200 and not ok.text
    [req] = slack.wait_for(lambda: bot.store.find(account_id=account))
    assert req.where.place == CHANNEL and req.where.thread == FINDING_TS


def test_with_a_request_channel_every_request_is_posted_there(
    own_bot: Callable[..., Bot],
    slack: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
) -> None:
    approvals = "C0APPROVAL"
    bot = own_bot(ROOTKEY_REQUEST_CHANNEL=approvals)
    try:
        account = member_with_key(aws)
        body = actions_body(
            ActionId.REQUEST_REMEDIATION.value, f"{account}:", response_url=slack.response_url(),
            user=MALLORY, channel="D0MALLORY1", trigger_id=slack.workspace.new_trigger(MALLORY),
        )  # fmt: skip
        assert post_signed(bot.url, body).status_code == 200
        ok = submit(
            bot.url,
            filled_form(slack, account, channel="D0MALLORY1"),
            MALLORY,
            {"reason": "unused", "ticket": None},
        )
        assert ok.status_code == 200 and not ok.text
        [req] = slack.wait_for(lambda: bot.store.find(account_id=account))
        assert req.where.place == approvals
        posted = slack.wait_for(
            lambda: [m for m in slack.messages(approvals) if f"request #{req.id}" in str(m.args)]
        )
        assert posted[0].thread_ts is None  # a message of its own in the approvers' channel
    finally:
        bot.stop()


def test_the_requester_withdraws_and_an_approver_cancels_from_status(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws)
    first, ts = ask_for_remediation(bot, slack, account)
    message = request_message(slack, first)
    [withdraw] = [
        e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == ActionId.CANCEL_REQUEST
    ]  # fmt: skip
    assert withdraw["value"] == str(first) and "confirm" in withdraw
    # Someone else cannot end it.
    answer = refused_unchanged(bot, slack, first, ts, ActionId.CANCEL_REQUEST, MALLORY)
    assert "Only the requester" in answer
    # The requester withdraws it: nothing is changed, and the buttons are gone.
    click(bot, slack, ActionId.CANCEL_REQUEST, str(first), ALICE, ts)
    wait_state(bot, first, State.CANCELLED)
    wait_thread(slack, "*requested* → *cancelled*")
    after = request_message_showing(slack, first, "Withdrawn or cancelled by")
    assert not any(b["type"] == "actions" for b in after["blocks"])
    assert any("withdrawn by the requester" in e.detail for e in bot.store.log(first))

    # A new request is possible at once; an approver cancels it from /rootkey status.
    second, _ = ask_for_remediation(bot, slack, account)
    wait_until(lambda: bot.store.get(second).where.message)
    reply = status_answer(bot, slack, APPROVER)
    text = json.dumps(reply)
    msg_ts = str(bot.store.get(second).where.message).replace(".", "")
    assert f"https://example.slack.com/archives/{CHANNEL}/p{msg_ts}" in text  # a link to it
    [cancel] = [
        e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == ActionId.CANCEL_REQUEST and e["value"] == str(second)
    ]  # fmt: skip
    click(bot, slack, ActionId.CANCEL_REQUEST, cancel["value"], APPROVER, "")
    wait_state(bot, second, State.CANCELLED)
    assert any("cancelled by an approver" in e.detail for e in bot.store.log(second))
    assert root_access.sessions() == [] and len(aws.state.root(account).keys) == 1


def test_an_account_without_a_key_gets_no_form(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bot, slack = assume_root_bot, fresh
    account = aws.create_organization(members=["clean"]).members[0].account_id
    click(bot, slack, ActionId.REQUEST_REMEDIATION, f"{account}:", ALICE)
    # This account's form (a form of an earlier test may still get its key-usage update).
    view = slack.wait_for(
        lambda: next(
            (
                c.args["view"]
                for c in slack.calls("views.update")
                if account in json.dumps(c.args["view"]["blocks"])
            ),
            None,
        )
    )
    assert "nothing to remediate" in json.dumps(view["blocks"])
    assert not view.get("submit")  # no request can be made from it


def test_a_request_that_cannot_be_posted_is_closed_and_the_requester_told(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws)
    click(bot, slack, ActionId.REQUEST_REMEDIATION, f"{account}:", ALICE)
    form = filled_form(slack, account)
    slack.refuse_channel(CHANNEL)  # the bot was removed from the channel meanwhile
    assert submit(bot.url, form, ALICE, {"reason": "unused", "ticket": None}).status_code == 200
    [dm] = slack.wait_for(lambda: slack.messages(ALICE))
    assert "could not post request" in dm.args["text"] and "not_in_channel" in dm.args["text"]
    [req] = bot.store.find(account_id=account)
    assert req.state is State.EXPIRED  # closed, so asking again is possible
    assert "could not be posted (not_in_channel)" in bot.store.log(req.id)[-1].detail


# -- a restart in the middle of execution ------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "killed_in", "moves", "note"),
    [
        # Approved, the worker still reading the Organization features: not started yet.
        (
            "ListOrganizationsFeatures",
            State.APPROVED,
            ["requested", "approved", "executing", "verified"],
            None,
        ),
        # Inside AssumeRoot: nothing deleted; back to approved with a note, then run again.
        (
            "AssumeRoot",
            State.EXECUTING,
            ["requested", "approved", "executing", "approved", "executing", "verified"],
            "*executing* → *approved*",
        ),
        # Inside DeleteAccessKey, which AWS then carries out: the re-audit finishes it.
        (
            "DeleteAccessKey",
            State.EXECUTING,
            ["requested", "approved", "executing", "verified"],
            "After restart: re-audit finds no root key",
        ),
    ],
)
def test_a_process_killed_mid_way_resumes_after_restart(
    own_bot: Callable[..., Bot],
    slack: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
    held: str,
    killed_in: State,
    moves: list[str],
    note: str | None,
) -> None:
    bot = own_bot(process=True, ROOTKEY_REMEDIATION="assume-root")
    try:
        account = member_with_key(aws)
        request_id, ts = ask_for_remediation(bot, slack, account)
        root_access.hold(held)  # the bot will wait inside this AWS call
        click(bot, slack, ActionId.APPROVE, str(request_id), APPROVER, ts)
        wait_until(lambda: root_access.waiting(held) >= 1)
        assert bot.store.get(request_id).state is killed_in
        bot.kill()  # SIGKILL: no clean-up of any kind
        root_access.release(held)
        assert bot.store.get(request_id).state is killed_in

        bot.restart()  # same database
        wait_state(bot, request_id, State.VERIFIED, timeout=60)
    finally:
        root_access.release(held)
        bot.stop()
    steps = thread(slack)
    if killed_in is State.EXECUTING:
        assert any("restarted while this request was executing" in t for t in steps)
    if note:
        assert any(note in t for t in steps), steps
    assert aws.state.root(account).keys == ()
    assert len(root_access.deleted()) == 1  # never deleted twice
    logged = [e.to_state for e in bot.store.log(request_id) if e.event == "transition"]
    assert logged == moves


def approved_not_started(
    bot: Bot, slack: SlackStandin, root_access: RootAccessStandIn, account: str
) -> int:
    """A request approved whose worker was killed before it started (reading the features)."""
    request_id, ts = ask_for_remediation(bot, slack, account)
    root_access.hold("ListOrganizationsFeatures")
    click(bot, slack, ActionId.APPROVE, str(request_id), APPROVER, ts)
    wait_until(lambda: root_access.waiting("ListOrganizationsFeatures") >= 1)
    bot.kill()
    root_access.release("ListOrganizationsFeatures")
    assert bot.store.get(request_id).state is State.APPROVED
    return request_id


def test_dry_run_switched_on_before_a_restart_stops_a_pending_deletion(
    own_bot: Callable[..., Bot],
    slack: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
) -> None:
    bot = own_bot(process=True, ROOTKEY_REMEDIATION="assume-root")
    try:
        account = member_with_key(aws)
        request_id = approved_not_started(bot, slack, root_access, account)
        assert not bot.store.get(request_id).dry_run  # requested before the switch
        bot.env["ROOTKEY_DRY_RUN"] = "true"  # the operator turns dry run on, then restarts
        bot.restart()
        wait_state(bot, request_id, State.FAILED, timeout=60)
    finally:
        root_access.release("ListOrganizationsFeatures")
        bot.stop()
    assert root_access.deleted() == [] and len(aws.state.root(account).keys) == 1
    steps = "\n".join(thread(slack))
    assert "Dry run (ROOTKEY_DRY_RUN=true): would delete AKIA" in steps
    assert "nothing was deleted" in steps


def test_an_approved_request_older_than_the_approval_ttl_expires_at_start_up(
    own_bot: Callable[..., Bot],
    slack: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
) -> None:
    bot = own_bot(
        process=True, ROOTKEY_REMEDIATION="assume-root", ROOTKEY_APPROVAL_TTL="1h",
    )  # fmt: skip
    try:
        account = member_with_key(aws)
        request_id = approved_not_started(bot, slack, root_access, account)
        made = bot.store.get(request_id).created_at
        # Restarted when the approval is older than the TTL (by a clock set there).
        bot.restart(ManualClock(made + timedelta(hours=1, seconds=1)))
        expired = wait_state(bot, request_id, State.EXPIRED, timeout=60)
    finally:
        root_access.release("ListOrganizationsFeatures")
        bot.stop()
    assert root_access.sessions() == [] and len(aws.state.root(account).keys) == 1
    assert any("older than ROOTKEY_APPROVAL_TTL" in e.detail for e in bot.store.log(expired.id))
    wait_thread(slack, "*approved* → *expired*")


def test_only_people_who_are_approvers_now_count(
    own_bot: Callable[..., Bot],
    slack: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
) -> None:
    third = "U0APPROVE3"
    slack.set_usergroup(APPROVER_GROUP, [GROUP_APPROVER, third])
    bot = own_bot(
        ROOTKEY_REMEDIATION="assume-root", ROOTKEY_REQUIRED_APPROVALS="2",
    )  # fmt: skip
    try:
        account = member_with_key(aws)
        request_id, ts = ask_for_remediation(bot, slack, account)
        click(bot, slack, ActionId.APPROVE, str(request_id), GROUP_APPROVER, ts)
        wait_thread(slack, f"<@{GROUP_APPROVER}> approved request #{request_id}; 1 more")
        # Removed from the approver group a moment later (well within any cache).
        slack.set_usergroup(APPROVER_GROUP, [third])
        click(bot, slack, ActionId.APPROVE, str(request_id), APPROVER, ts)
        wait_thread(slack, f"<@{APPROVER}> approved request #{request_id}; 1 more")
        assert bot.store.get(request_id).state is State.REQUESTED  # 1 current approver, not 2
        # The removed member's own click is refused at once.
        again = refused_unchanged(bot, slack, request_id, ts, ActionId.APPROVE, GROUP_APPROVER)
        assert "Only approvers can approve" in again

        # Removed from ROOTKEY_APPROVERS, then a restart: APPROVER's approval stops counting.
        bot.stop()
        bot.env["ROOTKEY_APPROVERS"] = APPROVER_GROUP
        bot.start()
        click(bot, slack, ActionId.APPROVE, str(request_id), third, ts)
        wait_thread(slack, f"<@{third}> approved request #{request_id}; 1 more")
        assert bot.store.get(request_id).state is State.REQUESTED
        assert root_access.sessions() == []
        # A new member of the group approves: two current approvers, the request goes ahead.
        slack.set_usergroup(APPROVER_GROUP, [third, "U0APPROVE4"])
        click(bot, slack, ActionId.APPROVE, str(request_id), "U0APPROVE4", ts)
        wait_state(bot, request_id, State.VERIFIED, timeout=60)
    finally:
        bot.stop()


# -- tracked -----------------------------------------------------------------------------------


RECHECK = timedelta(hours=1)  # the tracked bot's ROOTKEY_RECHECK_INTERVAL
REMIND = timedelta(days=1)  # its ROOTKEY_REMINDER_AFTER: the assignee after 1 d, approvers after 2
MINUTE = timedelta(minutes=1)  # more than a sweep's interval (min(recheck, TTL / 4, 60 s))


def move_clock(bot: Bot, by: timedelta) -> None:
    """Move the bot's clock on by ``by``, once the work of its last move has ended (a sweep
    still running when the next comes due skips that one)."""
    assert bot.clock is not None and isinstance(bot.process, InProcessBot), "a ManualClock bot"
    bot.process.wait_idle()
    bot.clock.advance(by)


@pytest.fixture(scope="module")
def owners_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("owners") / "owners.txt"
    path.write_text("# account owner\n")
    return path


@pytest.fixture(scope="module")
def tracked_bot(
    slack: SlackStandin,
    moto_server: SimulatedAws,
    tmp_path_factory: pytest.TempPathFactory,
    owners_file: Path,
) -> Iterator[Bot]:
    bot = make_bot(
        slack, moto_server, tmp_path_factory, clock=ManualClock(datetime.now(UTC)),
        ROOTKEY_REMEDIATION="tracked", ROOTKEY_RECHECK_INTERVAL="1h",
        ROOTKEY_REMINDER_AFTER="1d", ROOTKEY_OWNERS=str(owners_file),
    )  # fmt: skip
    yield bot
    bot.stop()


def test_tracked_run_goes_through_deactivated_to_verified_by_recheck(
    tracked_bot: Bot,
    fresh: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
    owners_file: Path,
) -> None:
    bot, slack = tracked_bot, fresh
    account = member_with_key(aws)
    owners_file.write_text(f"{account} {OWNER}\n")
    request_id, ts = ask_for_remediation(bot, slack, account)
    form = filled_form(slack, account)
    assert "*Mode:* tracked" in json.dumps(form["blocks"])

    click(bot, slack, ActionId.APPROVE, str(request_id), APPROVER, ts)
    req = wait_state(bot, request_id, State.TRACKING)
    assert req.assignee == OWNER  # from ROOTKEY_OWNERS
    steps = slack.wait_for(
        lambda: next(
            (
                m
                for m in slack.messages(CHANNEL)
                if m.thread_ts == FINDING_TS and "steps" in m.args["text"]
            ),
            None,
        )
    )
    body = json.dumps(steps.args["blocks"])
    assert "Deactivate" in body and "update-access-key" in body and "delete-access-key" in body
    assert body.index("Deactivate") < body.index("Delete")  # deactivate, then delete
    verify = next(b for b in steps.args["blocks"] if b["type"] == "actions")["elements"][0]
    assert verify["action_id"] == ActionId.VERIFY_NOW and verify["value"] == str(request_id)
    # The owner hears about it directly, where they can see it (the Messages tab is on);
    # reminders follow (assignee, then approvers).
    slack.wait_for(lambda: [m for m in slack.seen_by(OWNER) if "assigned" in m.args["text"]])
    assert not any("still waits" in t for t in thread(slack))
    move_clock(bot, REMIND + MINUTE)
    wait_thread(slack, f"<@{OWNER}>, request #{request_id} still waits")
    move_clock(bot, REMIND)
    wait_thread(slack, f"request #{request_id} ({account}) is still tracking")
    assert bot.store.get(request_id).state is State.TRACKING  # the key is still there

    # The root user deactivates the key: the recheck sees it and offers the back-out.
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=False, created=days_ago(500))])
    aws.expire_report(account)  # a recheck reads it once AWS regenerates the report (4 hours)
    move_clock(bot, RECHECK + MINUTE)
    wait_state(bot, request_id, State.DEACTIVATED)
    wait_thread(slack, "*tracking* → *deactivated*")
    back_out = wait_thread(slack, "Back-out")
    assert "update-access-key" in back_out and "never creates root keys" in back_out
    # ... and deletes it: verified.
    aws.set_root_keys(account, [])
    assert bot.store.get(request_id).state is State.DEACTIVATED  # until the next recheck
    move_clock(bot, RECHECK + MINUTE)
    wait_state(bot, request_id, State.VERIFIED)
    wait_thread(slack, "*deactivated* → *verified*")
    assert root_access.sessions() == []  # tracked mode never acts as root
    moves = [e.to_state for e in bot.store.log(request_id) if e.event == "transition"]
    assert moves == ["requested", "approved", "tracking", "deactivated", "verified"]
    exported = json.loads(export_log(bot.db_url, "json"))
    assert [
        r["to_state"]
        for r in exported
        if r["request_id"] == request_id and r["event"] == "transition"
    ] == moves
    assert any(r["event"] == "reminder" for r in exported if r["request_id"] == request_id)


def test_accept_risk_records_an_exception_shown_apart(
    tracked_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bot, slack = tracked_bot, fresh
    account = member_with_key(aws)
    # From the remediation form: "Accept the risk instead" turns it into the exception form.
    click(bot, slack, ActionId.REQUEST_REMEDIATION, f"{account}:", ALICE)
    first = filled_form(slack, account)
    in_form = json.loads(urllib.parse.parse_qs(actions_body(
        ActionId.ACCEPT_RISK.value, account, response_url=slack.response_url(), user=ALICE
    ))["payload"][0])  # fmt: skip
    in_form.pop("channel"), in_form.pop("message"), in_form.pop("response_url")
    in_form["container"] = {"type": "view", "view_id": first["id"]}
    in_form["view"] = first
    body = urlencode({"payload": json.dumps(in_form)})
    assert post_signed(bot.url, body).status_code == 200
    form = filled_form(slack, account, callback=CallbackId.ACCEPT_RISK)
    assert form["id"] == first["id"]  # the same modal, replaced in place
    assert len(slack.calls("views.open")) == 1
    today = bot.clock.now() if bot.clock else datetime.now(UTC)  # the bot's today
    until = (today + timedelta(days=30)).date().isoformat()
    too_far = (today + timedelta(days=120)).date().isoformat()
    values: dict[str, Any] = {
        "until": {"type": "datepicker", "selected_date": too_far},
        "owner": {"type": "users_select", "selected_user": OWNER},
        "reason": "vendor appliance needs it until the migration",
        "ticket": None,
    }
    refused = submit(bot.url, form, ALICE, values)
    assert "90 days" in refused.json()["errors"]["until"]
    values["until"]["selected_date"] = until
    assert submit(bot.url, form, ALICE, values).status_code == 200
    [req] = slack.wait_for(lambda: [r for r in bot.store.find() if r.account_id == account])
    wait_until(lambda: bot.store.get(req.id).where.message)
    message = request_message(slack, req.id)
    click(bot, slack, ActionId.APPROVE, str(req.id), APPROVER, message["ts"])
    wait_state(bot, req.id, State.APPROVED)
    wait_thread(slack, "Risk accepted")
    text = json.dumps(status_answer(bot, slack, ALICE))
    assert "Accepted risks" in text and account in text and f"<@{OWNER}>" in text


# -- expiry and "verify now" ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_ttl_bot(
    slack: SlackStandin, moto_server: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    bot = make_bot(
        slack, moto_server, tmp_path_factory, clock=ManualClock(datetime.now(UTC)),
        ROOTKEY_APPROVAL_TTL="1h", ROOTKEY_RECHECK_INTERVAL="1h",
    )  # fmt: skip
    yield bot
    bot.stop()


def test_an_undecided_request_expires(
    short_ttl_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bot, slack = short_ttl_bot, fresh
    account = member_with_key(aws)
    request_id, ts = ask_for_remediation(bot, slack, account)
    move_clock(bot, timedelta(hours=1) + MINUTE)  # past the approval TTL

    wait_state(bot, request_id, State.EXPIRED)  # by the scheduler's sweep, nobody clicked
    wait_thread(slack, "*requested* → *expired*")
    message = request_message_showing(slack, request_id, "Expired, not decided in time")
    assert not any(b["type"] == "actions" for b in message["blocks"])
    answer = refused_unchanged(bot, slack, request_id, ts, ActionId.APPROVE, APPROVER)
    assert "already expired" in answer


def test_verify_now_rechecks_at_once(
    short_ttl_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bot, slack = short_ttl_bot, fresh
    account = member_with_key(aws)
    request_id, ts = ask_for_remediation(bot, slack, account)
    click(bot, slack, ActionId.APPROVE, str(request_id), APPROVER, ts)
    assert wait_state(bot, request_id, State.TRACKING).assignee == ALICE  # no owner: requester

    click(bot, slack, ActionId.VERIFY_NOW, str(request_id), ALICE)
    wait_thread(slack, f"Checked request #{request_id} for <@{ALICE}>: a root access key is still")
    assert bot.store.get(request_id).state is State.TRACKING

    aws.set_root_keys(account, [])  # deleted straight away, without deactivating first
    click(bot, slack, ActionId.VERIFY_NOW, str(request_id), ALICE)
    wait_state(bot, request_id, State.VERIFIED)
    wait_thread(slack, "*tracking* → *verified*")
    # A late click on a finished request is refused and changes nothing.
    answer = refused_unchanged(bot, slack, request_id, ts, ActionId.VERIFY_NOW, ALICE)
    assert "already verified" in answer


# -- dry run, two approvals --------------------------------------------------------------------


def test_dry_run_with_two_approvals_deletes_nothing_and_says_so(
    own_bot: Callable[..., Bot],
    slack: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
) -> None:
    bot = own_bot(
        ROOTKEY_REMEDIATION="assume-root", ROOTKEY_DRY_RUN="true", ROOTKEY_REQUIRED_APPROVALS="2",
    )  # fmt: skip
    try:
        account = member_with_key(aws)
        request_id, ts = ask_for_remediation(bot, slack, account)
        click(bot, slack, ActionId.APPROVE, str(request_id), APPROVER, ts)
        wait_thread(slack, f"<@{APPROVER}> approved request #{request_id}; 1 more approval needed")
        waiting = request_message_showing(slack, request_id, f"approved so far by <@{APPROVER}>")
        assert any(b["type"] == "actions" for b in waiting["blocks"])  # still open
        assert bot.store.get(request_id).state is State.REQUESTED
        # The same approver again does not count twice.
        again = refused_unchanged(bot, slack, request_id, ts, ActionId.APPROVE, APPROVER)
        assert "already approved" in again

        click(bot, slack, ActionId.APPROVE, str(request_id), GROUP_APPROVER, ts)
        done = wait_state(bot, request_id, State.FAILED)
    finally:
        bot.stop()
    assert [a.user for a in done.approvals] == [APPROVER, GROUP_APPROVER]
    assert "Dry run (ROOTKEY_DRY_RUN=true): would delete AKIA" in "\n".join(thread(slack))
    wait_thread(slack, "Dry run (ROOTKEY_DRY_RUN=true): nothing was deleted")
    assert len(root_access.sessions()) == 1 and root_access.deleted() == []
    assert len(aws.state.root(account).keys) == 1


# -- two processes on one PostgreSQL -------------------------------------------------------------


@pytest.mark.postgres
def test_two_processes_on_postgres_execute_once(
    own_bot: Callable[..., Bot],
    slack: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
) -> None:
    with postgres_database("rootkey_remediation") as url:
        one = own_bot(url, process=True, ROOTKEY_REMEDIATION="assume-root")
        two = own_bot(url, process=True, ROOTKEY_REMEDIATION="assume-root")
        try:
            account = member_with_key(aws)
            request_id, ts = ask_for_remediation(one, slack, account)
            # Both approvers click at the same moment, each reaching a different process.
            barrier = threading.Barrier(4)

            def go(bot: Bot, user: str) -> None:
                barrier.wait()
                click(bot, slack, ActionId.APPROVE, str(request_id), user, ts)

            pairs = [(one, APPROVER), (two, APPROVER), (one, GROUP_APPROVER), (two, GROUP_APPROVER)]
            threads = [threading.Thread(target=go, args=pair) for pair in pairs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wait_state(one, request_id, State.VERIFIED)
            moves = [e.to_state for e in two.store.log(request_id) if e.event == "transition"]
        finally:
            one.stop()
            two.stop()
            one.store.engine.dispose()
            two.store.engine.dispose()
    assert moves == ["requested", "approved", "executing", "verified"]
    assert len(root_access.sessions()) == 1 and len(root_access.deleted()) == 1
    assert sum("Deleted AKIA" in t for t in thread(slack)) == 1


# -- Socket Mode -------------------------------------------------------------------------------


def test_the_request_form_works_over_socket_mode(
    aws: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> None:
    app_token = "xapp-1-test-app-token"
    with (
        SlackStandin(bot_token=BOT_TOKEN, app_token=app_token, earlier=[FINDING_MESSAGE]) as slack,
        SocketModeServer() as ws,
    ):
        slack.set_socket_url(ws.url)
        db = tmp_path_factory.mktemp("socket") / "rootkey.db"
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": app_token,
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": f"sqlite:///{db}",
            "ROOTKEY_APPROVERS": APPROVER,
            **aws.env(),
        }
        with BotProcess(env) as bot:
            ws.wait_connected()
            account = member_with_key(aws)
            click_body = actions_body(
                ActionId.REQUEST_REMEDIATION.value, f"{account}:",
                response_url=slack.response_url(), user=ALICE, message_ts=FINDING_TS,
                trigger_id=slack.workspace.new_trigger(ALICE),
            )  # fmt: skip
            ws.wait_ack(
                ws.push("interactive", json.loads(urllib.parse.parse_qs(click_body)["payload"][0]))
            )
            form = filled_form(slack, account)

            def submission(reason: str) -> dict[str, Any]:
                state = {"reason": {"value": {"type": "plain_text_input", "value": reason}}}
                return {
                    "type": "view_submission",
                    "team": {"id": TEAM},
                    "user": {"id": ALICE, "team_id": TEAM},
                    "api_app_id": "A0ROOTKEY1",
                    "trigger_id": uuid.uuid4().hex,
                    "view": {**form, "state": {"values": state}},
                }

            refused = ws.wait_ack(ws.push("interactive", submission(" ")))
            assert refused["payload"]["response_action"] == "errors"
            ws.wait_ack(ws.push("interactive", submission("unused since 2019")))
            posted = slack.wait_for(
                lambda: next(
                    (m for m in slack.messages(CHANNEL) if "waits for approval" in m.args["text"]),
                    None,
                )
            )
            assert posted.thread_ts == FINDING_TS
            assert bot.wait_healthy(5)["mode"] == "socket"


# -- refused early: before the form is filled in, before any confirmation ---------------------


def message_button(message: dict[str, Any], label: str) -> dict[str, Any]:
    """The request message's button labelled ``label`` (as a person sees it)."""
    return next(
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == label
    )


def opened_modal(slack: SlackStandin, callback: str, after: int) -> dict[str, Any]:
    """The first modal of ``callback`` the bot opened (views.open) after the first ``after``."""

    def opened() -> dict[str, Any] | None:
        for call in slack.calls("views.open")[after:]:
            view = call.args["view"]
            view = json.loads(view) if isinstance(view, str) else view
            if view.get("callback_id") == callback:
                return dict(view)
        return None

    return slack.wait_for(opened)


def test_a_second_request_for_an_open_account_is_refused_at_the_button(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws)
    request_id, ts = ask_for_remediation(bot, slack, account)
    audits = len([e for e in bot.logs.splitlines() if account in e])
    forms = len(slack.calls("views.update"))
    # The attack on patience: someone else clicks "Request remediation" on the same finding.
    # The form says at once that a request is open and links it; there is nothing to fill in.
    click(bot, slack, ActionId.REQUEST_REMEDIATION, f"{account}:", MALLORY)
    view = slack.wait_for(
        lambda: next(
            (
                c.args["view"]
                for c in slack.calls("views.update")[forms:]
                if f"#{request_id}" in json.dumps(c.args["view"]["blocks"])
            ),
            None,
        )
    )
    shown = json.dumps(view["blocks"])
    assert "already" in shown and "requested" in shown
    assert re.search(
        rf"<http://[^|>]+/#{CHANNEL}/{ts}\|#{request_id}>", shown
    )  # a link to the open request's message
    assert not view.get("submit")  # no form to fill in
    assert [r.id for r in bot.store.find(account_id=account)] == [request_id]
    # No fresh audit was run for a form that cannot be submitted.
    assert len([e for e in bot.logs.splitlines() if account in e]) == audits


def test_self_approval_is_refused_before_any_confirmation(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn
) -> None:
    bot, slack = assume_root_bot, fresh
    account = member_with_key(aws)
    request_id, ts = ask_for_remediation(bot, slack, account, user=APPROVER)
    approve = message_button(request_message(slack, request_id), "Approve")
    # Slack shows a button's confirm dialog before anything reaches the bot: on the request
    # message it would ask the requester to confirm a deletion they may not approve.
    assert "confirm" not in approve
    before = bot.store.get(request_id)
    own = click_answer(bot, slack, ActionId(approve["action_id"]), approve["value"], APPROVER, ts)
    assert "cannot approve it" in own and "cannot be undone" not in own
    stranger = click_answer(
        bot, slack, ActionId(approve["action_id"]), approve["value"], MALLORY, ts
    )
    assert "Only approvers can approve" in stranger and "cannot be undone" not in stranger
    assert bot.store.get(request_id) == before
    refusals = [e for e in bot.store.log(request_id) if e.event == "refused"]
    assert [e.actor for e in refusals] == [APPROVER, MALLORY]

    # Someone who may approve is asked privately to confirm; nothing is approved yet.
    url = slack.response_url()
    click(bot, slack, ActionId(approve["action_id"]), approve["value"], GROUP_APPROVER, ts, url)
    asked = slack.answer_to(url)
    assert asked.get("response_type", "ephemeral") == "ephemeral"
    assert "cannot be undone" in json.dumps(asked)
    assert bot.store.get(request_id).approvals == ()
    [confirm] = [
        e for b in asked["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["value"] == str(request_id)
    ]  # fmt: skip
    click(bot, slack, ActionId(confirm["action_id"]), confirm["value"], GROUP_APPROVER, ts)
    wait_state(bot, request_id, State.VERIFIED)
    assert root_access.deleted() == [(account, root_access.key_id(account, 1))]


def test_reject_asks_for_an_optional_reason_shown_and_logged(
    assume_root_bot: Bot, fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn
) -> None:
    bot, slack = assume_root_bot, fresh
    org = aws.create_organization(members=["prod", "legacy"])
    account, account2 = (m.account_id for m in org.members)
    for member in (account, account2):
        aws.set_root_keys(member, [RootKeySpec(slot=1, active=True, created=days_ago(500))])
    request_id, ts = ask_for_remediation(bot, slack, account)
    reject = message_button(request_message(slack, request_id), "Reject")
    action = ActionId(reject["action_id"])
    # A stranger is refused at once: no form opens for them.
    opened = len(slack.calls("views.open"))
    stranger = click_answer(bot, slack, action, reject["value"], MALLORY, ts)
    assert "Only approvers can reject" in stranger
    assert len(slack.calls("views.open")) == opened
    assert bot.store.get(request_id).state is State.REQUESTED

    # An approver gets a form with an optional reason; nothing is rejected before it is sent.
    click(bot, slack, action, reject["value"], APPROVER, ts)
    form = opened_modal(slack, CallbackId.REJECT_REQUEST, after=opened)
    assert bot.store.get(request_id).state is State.REQUESTED
    [field] = [b for b in form["blocks"] if b.get("block_id") == "reason"]
    assert field["optional"] is True
    why = "The owner keeps it for the <!channel> DR runbook, see SEC-88"
    ok = submit(bot.url, form, APPROVER, {"reason": why})
    assert ok.status_code == 200 and not ok.text, ok.text
    wait_state(bot, request_id, State.REJECTED)
    said = wait_thread(slack, "*requested* → *rejected*")
    assert "DR runbook" in said and "<!channel>" not in said  # shown, escaped
    [line] = [e for e in bot.store.log(request_id) if e.to_state == "rejected"]
    assert why in line.detail
    assert root_access.sessions() == []
    verified = subprocess.run(
        [sys.executable, "-m", "bot", "log", "--verify", "--url", bot.db_url],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr

    # Without a reason it is rejected all the same.
    second, ts2 = ask_for_remediation(bot, slack, account2)
    reject2 = message_button(request_message(slack, second), "Reject")
    opened = len(slack.calls("views.open"))
    click(bot, slack, ActionId(reject2["action_id"]), reject2["value"], GROUP_APPROVER, ts2)
    form2 = opened_modal(slack, CallbackId.REJECT_REQUEST, after=opened)
    assert submit(bot.url, form2, GROUP_APPROVER, {"reason": None}).status_code == 200
    wait_state(bot, second, State.REJECTED)


# -- the audit trail an auditor reads ------------------------------------------------------------


def command_answer(bot: Bot, slack: SlackStandin, text: str, user: str = ALICE) -> dict[str, Any]:
    """``/rootkey <text>`` in the channel: the private answer, in the ack or after it."""
    url = slack.response_url()
    reply = post_signed(bot.url, command_body(text, response_url=url, user=user, channel=CHANNEL))
    assert reply.status_code == 200
    if reply.text:
        return dict(reply.json())
    return slack.answer_to(url)


def test_history_by_name_shows_the_request_its_approval_and_what_was_deleted(
    own_bot: Callable[..., Bot],
    fresh: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
) -> None:
    slack = fresh
    bot = own_bot(ROOTKEY_REMEDIATION="assume-root")
    org = aws.create_organization(members=["legacy-billing", "payments"])
    account = org.members[0].account_id
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(500))])
    click(bot, slack, ActionId.REQUEST_REMEDIATION, f"{account}:", ALICE)
    form = filled_form(slack, account)
    reason = "Unused since the 2019 <!channel> migration"
    ok = submit(bot.url, form, ALICE, {"reason": reason, "ticket": "https://t.example/SEC-9"})
    assert ok.status_code == 200 and not ok.text
    [req] = slack.wait_for(lambda: bot.store.find(account_id=account))
    click(bot, slack, ActionId.APPROVE, str(req.id), APPROVER)
    wait_state(bot, req.id, State.VERIFIED)
    key = root_access.key_id(account, 1)

    # By its name as the audits stored it ("legacy-billing" was refused as "not an account id").
    answer = command_answer(bot, slack, "history legacy-billing")
    shown = json.dumps(answer["blocks"])
    assert f"History of {account}" in shown
    assert f"Remediation request #{req.id}" in shown
    assert "Unused since the 2019" in shown and "<!channel>" not in shown  # escaped user text
    assert "https://t.example/SEC-9" in shown
    assert f"<@{ALICE}>" in shown and f"approved by <@{APPROVER}>" in shown
    assert f"Deleted {key[:4]}" in shown and key not in shown  # masked, as in the thread
    assert "verified" in shown
    # Newest first: verified, deleted, approved, requested.
    order = [shown.index(w) for w in ("verified", "Deleted", "approved by", "requested by")]
    assert order == sorted(order), shown

    # check takes the name too, and says which account it is.
    checked = command_answer(bot, slack, "check Legacy-Billing")
    assert account in checked["text"] and "legacy-billing" in checked["text"]
    # A name no audit stored is refused, saying how to name the account.
    unknown = command_answer(bot, slack, "history no-such-account")
    assert "No audited account is named 'no-such-account'" in unknown["text"]
