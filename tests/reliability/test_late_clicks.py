"""No listener waits on AWS, and a click or form that could not be acknowledged in time is never
applied later.

Slack waits 3 s for the ack, then shows the user that the click failed. Clicks that audit
("Request remediation", "Accept risk", "verify now") queue their audit in the job pool, so a
slow AWS never holds Bolt's listener threads. When every listener thread is busy anyway (here a
slow Slack holds them, as in production: a "Request remediation" click waits on ``views.open``,
which the stand-in answers only when the test lets it go, after the late click's HTTP answer
came back, so no timing is assumed), a click waits in Bolt's queue, its HTTP answer goes back
without an ack, and the click must not take effect when a thread finally takes it: the clicker
is told privately that it came too late and to click again.

The same holds in Socket Mode, where an envelope can also wait for one of the Socket Mode
client's workers: its arrival is when it came off the socket, not when a worker took it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from bot.app import LISTENER_THREADS
from bot.remediation.states import State
from bot.slack.action_ids import ActionId
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin, SocketModeServer
from tests.reliability.harness import (
    ALICE,
    APPROVER,
    APPROVER_2,
    APPROVER_GROUP,
    BOT_TOKEN,
    CHANNEL,
    FINDING_TS,
    GROUP_APPROVER,
    Bot,
    ask_for,
    bot_env,
    click,
    command,
    decide_buttons,
    filled_form,
    private_answer,
    submit,
    view_payload,
    wait_state,
    wait_until,
)
from tests.support.signing import FINDING_MESSAGE, actions_body

pytestmark = pytest.mark.slow

TOO_LATE = "too late to be sure Slack accepted it"
UNJOINED = "C0UNJOINED"  # a public channel the bot was never invited to
HOLD_AT_MOST = 14.0  # seconds; below the bot's Slack timeout (15 s), should the test die
AWS_HOLD = 45.0  # seconds a held AWS call waits at most (below botocore's 60 s read timeout)


@pytest.fixture(scope="module")
def bot(
    slack: SlackStandin, moto_server: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    db = tmp_path_factory.mktemp("late") / "rootkey.db"
    env = bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org", ROOTKEY_REQUIRED_APPROVALS="2")
    bot = Bot(env, f"sqlite:///{db}").start()
    yield bot
    bot.stop()


def keyed_accounts(aws: SimulatedAws, *names: str) -> list[str]:
    """Member accounts with an active root key each."""
    org = aws.create_organization(members=list(names))
    for member in org.members:
        aws.set_root_keys(
            member.account_id, [RootKeySpec(slot=1, active=True, created=days_ago(200))]
        )
    return [m.account_id for m in org.members]


def clicks_at_once(
    bot: Bot, slack: SlackStandin, action: str, values: list[str], user: str
) -> None:
    """Send these clicks side by side (each must be acked)."""
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda v: click(bot, slack, action, v, user), values))
    assert all(r.status_code == 200 for r in replies), [r.status_code for r in replies]


def occupy_listeners(bot: Bot, slack: SlackStandin, account: str) -> threading.Event:
    """Every listener thread waiting on a slow ``views.open``; set the event to let them go."""
    release = threading.Event()
    opened = len(slack.calls("views.open"))
    slack.fail("views.open", "timeout", times=LISTENER_THREADS, delay=HOLD_AT_MOST, until=release)
    clicks_at_once(
        bot, slack, ActionId.REQUEST_REMEDIATION.value, [f"{account}:"] * LISTENER_THREADS, ALICE
    )
    wait_until(
        lambda: len(slack.calls("views.open")) - opened >= LISTENER_THREADS,
        what="every listener thread waiting on views.open",
    )
    return release


def forms_of(slack: SlackStandin, account: str) -> set[str]:
    """The ids of the views filled in as ``account``'s request form."""
    return {
        c.args["view_id"]
        for c in slack.calls("views.update")
        if c.args["view"].get("submit")
        and json.loads(c.args["view"].get("private_metadata") or "{}").get("a") == account
    }


def drained(slack: SlackStandin, account: str, count: int) -> None:
    """``count`` forms of ``account`` filled in: the held clicks are done."""
    wait_until(
        lambda: len(forms_of(slack, account)) >= count, timeout=120, what="held clicks finished"
    )


def test_an_approve_queued_past_slacks_limit_is_not_applied_and_a_prompt_one_is(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    account, other = keyed_accounts(aws, "prod", "stage")
    request_id, ts = ask_for(bot, fresh, account)

    release = occupy_listeners(bot, fresh, other)
    try:
        response_url = fresh.response_url()
        late = click(
            bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER, ts,
            response_url=response_url,
        )  # fmt: skip
        # No listener could ack it: Slack would show the approver that the click failed.
        assert late.status_code != 200, (late.status_code, late.text)
    finally:
        release.set()

    assert TOO_LATE in private_answer(fresh, response_url, timeout=120)
    request = bot.store.get(request_id)
    assert request.state is State.REQUESTED
    assert request.approvals == ()
    assert not [e for e in bot.store.iter_log(request_id) if e.actor == APPROVER]
    assert "not applied" in bot.logs

    # Clicked again with a free listener, the same approval counts.
    reply = click(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
    assert reply.status_code == 200, reply.text
    wait_until(
        lambda: [a for a in bot.store.get(request_id).approvals if a.user == APPROVER],
        what="the prompt approval recorded",
    )
    drained(fresh, other, LISTENER_THREADS)


def test_a_form_submitted_while_listeners_are_busy_creates_no_request(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    account, other = keyed_accounts(aws, "prod", "stage")
    reply = click(bot, fresh, ActionId.REQUEST_REMEDIATION.value, f"{account}:", ALICE)
    assert reply.status_code == 200, reply.text
    form = filled_form(fresh, account=account)
    before = {r.id for r in bot.store.find()}

    release = occupy_listeners(bot, fresh, other)
    try:
        late = submit(bot, form, ALICE, {"reason": "unused since 2019", "ticket": None})
        assert late.status_code != 200, (late.status_code, late.text)  # Slack: form failed
    finally:
        release.set()

    told = wait_until(
        lambda: [
            c
            for c in fresh.calls("chat.postEphemeral")
            if c.args.get("user") == ALICE and TOO_LATE in str(c.args.get("text"))
        ],
        timeout=120,
        what="the submitter told the form came too late",
    )
    assert told[0].args.get("channel") == CHANNEL
    drained(fresh, other, LISTENER_THREADS)
    assert {r.id for r in bot.store.find()} == before

    # Submitted again with a free listener, the request is created.
    reply = submit(bot, form, ALICE, {"reason": "unused since 2019", "ticket": None})
    assert reply.status_code == 200 and not reply.text, reply.text
    wait_until(lambda: {r.id for r in bot.store.find()} - before, what="the request created")


def test_a_late_form_from_a_channel_the_bot_was_never_invited_to_is_told_in_a_dm(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """A form has no response_url, so "too late" goes as an ephemeral message in the form's
    channel; Slack refuses that where the bot is not a member (chat:write.public or not), so
    the submitter is told in a direct message instead, never not at all."""
    account, other = keyed_accounts(aws, "prod", "stage")
    fresh.workspace.add_channel(UNJOINED, members=[ALICE], bot_member=False)
    reply = click(
        bot, fresh, ActionId.REQUEST_REMEDIATION.value, f"{account}:", ALICE, channel=UNJOINED
    )
    assert reply.status_code == 200, reply.text
    form = filled_form(fresh, account=account, channel=UNJOINED)
    before = {r.id for r in bot.store.find()}

    release = occupy_listeners(bot, fresh, other)
    try:
        late = submit(bot, form, ALICE, {"reason": "unused since 2019", "ticket": None})
        assert late.status_code != 200, (late.status_code, late.text)  # Slack: form failed
    finally:
        release.set()

    told = wait_until(
        lambda: [m for m in fresh.messages(ALICE) if TOO_LATE in str(m.args.get("text"))],
        timeout=120,
        what="the submitter told in a DM that the form came too late",
    )
    assert len(told) == 1
    drained(fresh, other, LISTENER_THREADS)
    assert {r.id for r in bot.store.find()} == before


def test_clicks_that_audit_a_slow_aws_hold_up_no_other_click_or_command(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """More "Request remediation", "Accept risk" and "verify now" clicks on an account whose
    AWS calls hang than Bolt has listener threads: each is acked, each form opens at once in
    its loading state, and meanwhile help, a re-run and an approval are answered and applied."""
    slow, tracked, other = keyed_accounts(aws, "slow", "tracked", "other")
    tracked_id, tracked_ts = ask_for(bot, fresh, tracked)
    for approver in (APPROVER, APPROVER_2):
        reply = click(bot, fresh, ActionId.APPROVE.value, str(tracked_id), approver, tracked_ts)
        assert reply.status_code == 200, reply.text
    wait_state(bot, tracked_id, State.TRACKING)
    other_id, other_ts = ask_for(bot, fresh, other)

    opened = len(fresh.calls("views.open"))
    aws.set_latency(AWS_HOLD, slow)  # released by the reset at the end
    aws.set_latency(AWS_HOLD, tracked)
    half = LISTENER_THREADS // 2 + 2
    clicks_at_once(bot, fresh, ActionId.REQUEST_REMEDIATION.value, [f"{slow}:"] * half, ALICE)
    clicks_at_once(bot, fresh, ActionId.ACCEPT_RISK.value, [f"{slow}:"] * half, ALICE)
    clicks_at_once(bot, fresh, ActionId.VERIFY_NOW.value, [str(tracked_id)] * 4, ALICE)
    # Every form is open, in its loading state, while its audit waits on AWS.
    wait_until(
        lambda: len(fresh.calls("views.open")) - opened >= 2 * half,
        what="every form opened",
    )
    assert all("Auditing" in json.dumps(c.args["view"]) for c in fresh.calls("views.open")[opened:])

    helped = command(bot, fresh, "help")
    assert helped.status_code == 200, helped.status_code
    assert "/rootkey check all" in helped.text

    try:
        reply = click(bot, fresh, ActionId.APPROVE.value, str(other_id), APPROVER, other_ts)
        assert reply.status_code == 200, reply.status_code
        wait_until(
            lambda: [a for a in bot.store.get(other_id).approvals if a.user == APPROVER],
            what="the approval recorded while AWS hangs",
        )
    finally:
        aws.reset()  # the held AWS calls end now


# -- Socket Mode --------------------------------------------------------------------------------

APP_TOKEN = "xapp-1-A0ROOTKEY1-rk6SECRETapptokenL8s2"
SOCKET_WORKERS = 10  # slack_sdk's built-in Socket Mode client: threads running envelopes
NO_ACK = "didn't call ack()"  # Bolt's warning when it stopped waiting for a listener's ack

SocketBot = tuple[Bot, SlackStandin, SocketModeServer]


@pytest.fixture(scope="module")
def socket_bot(
    moto_server: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SocketBot]:
    db: Path = tmp_path_factory.mktemp("late-socket") / "rootkey.db"
    with (
        SlackStandin(bot_token=BOT_TOKEN, app_token=APP_TOKEN, earlier=[FINDING_MESSAGE]) as slack,
        SocketModeServer() as ws,
    ):
        slack.set_socket_url(ws.url)
        slack.set_usergroup(APPROVER_GROUP, [GROUP_APPROVER])
        env = bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org", SLACK_APP_TOKEN=APP_TOKEN)
        bot = Bot(env, f"sqlite:///{db}").start()
        try:
            ws.wait_connected()
            yield bot, slack, ws
        finally:
            # The clicks that held every listener thread each queued an audit; a clean stop
            # lets those (up to 20 s, one after another) finish, and no test here is about
            # stopping: SIGKILL ends the bot at once.
            bot.kill()


def socket_click(
    ws: SocketModeServer,
    slack: SlackStandin,
    action: str,
    value: str,
    user: str,
    ts: str = FINDING_TS,
    response_url: str | None = None,
) -> str:
    """A button click sent as an ``interactive`` envelope; its envelope id. Its trigger is
    one the stand-in issues now, as Slack does."""
    body = actions_body(
        action,
        value,
        response_url=response_url or slack.response_url(),
        user=user,
        message_ts=ts,
        trigger_id=slack.workspace.new_trigger(user),
    )
    return ws.push("interactive", json.loads(parse_qs(body)["payload"][0]))


def socket_ask_for(
    bot: Bot, slack: SlackStandin, ws: SocketModeServer, account: str
) -> tuple[int, str]:
    """Button, form, submit over the socket: the new request's id and its message's ts."""
    updates = len(slack.calls("views.update"))
    ws.wait_ack(socket_click(ws, slack, ActionId.REQUEST_REMEDIATION.value, f"{account}:", ALICE))
    form = filled_form(slack, account, after=updates)
    values: dict[str, Any] = {"reason": "unused since 2019", "ticket": None}
    submission = json.loads(parse_qs(view_payload(form, ALICE, values))["payload"][0])
    ack = ws.wait_ack(ws.push("interactive", submission))
    assert not ack.get("payload"), ack  # no errors in the form
    request_id, ts = next(iter(slack.wait_for(lambda: decide_buttons(slack)).items()))
    wait_until(lambda: bot.store.get(request_id).where.message == ts, what="request message saved")
    return request_id, ts


def test_an_approve_that_waited_for_a_socket_mode_worker_is_not_applied(
    socket_bot: SocketBot, aws: SimulatedAws
) -> None:
    """Every listener thread held (a slow ``views.open``), then as many clicks as the Socket
    Mode client has workers: each worker waits 3 s for an ack that cannot come. An Approve
    arriving meanwhile waits for a worker; when one frees up (3 s later) it is past Slack's
    limit however fast a listener then acks it: not applied, the approver told."""
    bot, slack, ws = socket_bot
    account, other = keyed_accounts(aws, "prod", "stage")
    request_id, ts = socket_ask_for(bot, slack, ws, account)

    release = threading.Event()
    opened = len(slack.calls("views.open"))
    slack.fail("views.open", "timeout", times=LISTENER_THREADS, delay=HOLD_AT_MOST, until=release)
    try:
        for _ in range(LISTENER_THREADS):  # one by one: each acked in time, then held
            ws.wait_ack(
                socket_click(ws, slack, ActionId.REQUEST_REMEDIATION.value, f"{other}:", ALICE)
            )
        wait_until(
            lambda: len(slack.calls("views.open")) - opened >= LISTENER_THREADS,
            what="every listener thread waiting on views.open",
        )
        unacked = bot.logs.count(NO_ACK)
        for _ in range(SOCKET_WORKERS):  # each holds a worker, waiting for a listener thread
            socket_click(ws, slack, ActionId.REQUEST_REMEDIATION.value, f"{other}:", ALICE)
        response_url = slack.response_url()
        late = socket_click(
            ws, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts,
            response_url=response_url,
        )  # fmt: skip
        # Let the listeners go as soon as the workers stopped waiting: the Approve has just
        # reached one, and a listener acks it at once.
        wait_until(
            lambda: bot.logs.count(NO_ACK) >= unacked + SOCKET_WORKERS,
            timeout=60,
            what="every Socket Mode worker gave up waiting for an ack",
        )
    finally:
        release.set()

    assert TOO_LATE in private_answer(slack, response_url, timeout=120)
    ws.wait_ack(late, timeout=30)  # acked, late: Slack has shown the click as failed
    request = bot.store.get(request_id)
    assert request.state is State.REQUESTED
    assert request.approvals == ()
    assert not [e for e in bot.store.iter_log(request_id) if e.actor == APPROVER]

    # Clicked again with free workers and listeners, the same approval counts.
    ws.wait_ack(socket_click(ws, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts))
    wait_until(
        lambda: [a for a in bot.store.get(request_id).approvals if a.user == APPROVER],
        what="the prompt approval recorded",
    )
