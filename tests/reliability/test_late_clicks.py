"""A click or form that could not be acknowledged in time is never applied later.

Slack waits 3 s for the ack, then shows the user that the click failed. When every one of
Bolt's listener threads is busy, a click waits in Bolt's queue, its HTTP answer goes back
without an ack, and the click must not take effect when a thread finally takes it: the clicker
is told privately that it came too late and to click again. Here the listener threads are held
as in production by a slow Slack: a "Request remediation" click waits on ``views.open`` in its
listener thread, and the stand-in answers those calls only when the test lets them go (after
the late click's HTTP answer came back, so no timing is assumed).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bot.app import LISTENER_THREADS
from bot.remediation.states import State
from bot.slack.action_ids import ActionId
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.reliability.harness import (
    ALICE,
    APPROVER,
    CHANNEL,
    Bot,
    ask_for,
    bot_env,
    click,
    filled_form,
    private_answer,
    submit,
    wait_until,
)

pytestmark = pytest.mark.slow

TOO_LATE = "too late to be sure Slack accepted it"
HOLD_AT_MOST = 12.0  # seconds; below the bot's Slack timeout (15 s), should the test die


@pytest.fixture(scope="module")
def bot(
    slack: SlackStandin, moto_server: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    db = tmp_path_factory.mktemp("late") / "rootkey.db"
    env = bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org", ROOTKEY_REQUIRED_APPROVALS="2")
    bot = Bot(env, f"sqlite:///{db}").start()
    yield bot
    bot.stop()


def keyed_accounts(aws: SimulatedAws) -> tuple[str, str]:
    """Two member accounts with an active root key: one for the request, one to click on."""
    org = aws.create_organization(members=["prod", "stage"])
    for member in org.members:
        aws.set_root_keys(
            member.account_id, [RootKeySpec(slot=1, active=True, created=days_ago(200))]
        )
    return org.members[0].account_id, org.members[1].account_id


def occupy_listeners(bot: Bot, slack: SlackStandin, account: str) -> threading.Event:
    """Every listener thread waiting on a slow ``views.open``; set the event to let them go."""
    release = threading.Event()
    opened = len(slack.calls("views.open"))
    slack.fail("views.open", "timeout", times=LISTENER_THREADS, delay=HOLD_AT_MOST, until=release)
    for _ in range(LISTENER_THREADS):
        reply = click(bot, slack, ActionId.REQUEST_REMEDIATION.value, f"{account}:", ALICE)
        assert reply.status_code == 200, reply.text
    wait_until(
        lambda: len(slack.calls("views.open")) - opened >= LISTENER_THREADS,
        what="every listener thread waiting on views.open",
    )
    return release


def drained(slack: SlackStandin) -> None:
    """Every form opened was filled in: the held clicks are done and touch nothing later."""
    wait_until(
        lambda: (
            len(
                {
                    c.args["view_id"]
                    for c in slack.calls("views.update")
                    if c.args["view"].get("submit")
                }
            )
            >= len(slack.calls("views.open"))
        ),
        timeout=120,
        what="held clicks finished",
    )


def test_an_approve_queued_past_slacks_limit_is_not_applied_and_a_prompt_one_is(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    account, other = keyed_accounts(aws)
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

    # The held clicks' audits go on once let go: the late click may wait behind them.
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
    drained(fresh)


def test_a_form_submitted_while_listeners_are_busy_creates_no_request(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    account, other = keyed_accounts(aws)
    updates = len(fresh.calls("views.update"))
    reply = click(bot, fresh, ActionId.REQUEST_REMEDIATION.value, f"{account}:", ALICE)
    assert reply.status_code == 200, reply.text
    form = filled_form(fresh, updates)
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
    drained(fresh)
    assert {r.id for r in bot.store.find()} == before

    # Submitted again with a free listener, the request is created.
    reply = submit(bot, form, ALICE, {"reason": "unused since 2019", "ticket": None})
    assert reply.status_code == 200 and not reply.text, reply.text
    wait_until(lambda: {r.id for r in bot.store.find()} - before, what="the request created")
