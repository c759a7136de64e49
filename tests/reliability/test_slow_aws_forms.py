"""A submitted request form never waits on AWS in its listener, in assume-root mode too.

In assume-root mode a new remediation request asks AWS which Organization features are on
(``iam:ListOrganizationsFeatures``, to pick its mode), and a new request's thread gets what used
the keys (CloudTrail). Done in the form's listener, with AWS slow, every one of Bolt's listener
threads ends up waiting on AWS: ``/rootkey help`` and an Approve then go unanswered, and Slack
shows them as failed. The request is created and posted in the job pool after the ack; every
submission still ends in a message (the request posted, or the submitter told why not).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.app import LISTENER_THREADS
from bot.slack.action_ids import ActionId
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.reliability.harness import (
    APPROVER,
    CHANNEL,
    FINDING_TS,
    Bot,
    ask_for,
    bot_env,
    click,
    command,
    decide_buttons,
    submit,
    wait_until,
)
from tests.support import slackflow
from tests.support.slackflow import filled_form

pytestmark = pytest.mark.slow

AWS_HOLD = 45.0  # seconds a held AWS call waits at most (below botocore's 60 s read timeout)
ACK_WITHIN = 3.0  # seconds: Slack's limit for an ack
SUBMISSIONS = LISTENER_THREADS  # enough to hold every listener thread, were they to wait on AWS
ACCOUNTS = 4  # each asked about by SUBMISSIONS / ACCOUNTS people at once
UNJOINED = "C0UNJOINED"  # a public channel the bot was never invited to


@pytest.fixture
def bot(
    fresh: SlackStandin, aws: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    db = tmp_path_factory.mktemp("slowforms") / "rootkey.db"
    env = bot_env(fresh, aws.env(), ROOTKEY_SCOPE="org", ROOTKEY_REMEDIATION="assume-root")
    bot = Bot(env, f"sqlite:///{db}").start()
    yield bot
    bot.stop()


def asker(index: int) -> str:
    return f"U0ASKER{index:03d}"


def test_forms_submitted_while_aws_hangs_hold_up_no_ack_and_each_ends_in_a_message(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    org = aws.create_organization(members=[f"acct{i}" for i in range(ACCOUNTS + 1)])
    for member in org.members:
        aws.set_root_keys(
            member.account_id, [RootKeySpec(slot=1, active=True, created=days_ago(200))]
        )
    *asked, decided = [m.account_id for m in org.members]
    decided_id, decided_ts = ask_for(bot, fresh, decided)

    # SUBMISSIONS people each open a form (ACCOUNTS accounts, several people per account).
    forms = []
    for index in range(SUBMISSIONS):
        account = asked[index % ACCOUNTS]
        updates = len(fresh.calls("views.update"))
        reply = click(bot, fresh, ActionId.REQUEST_REMEDIATION.value, f"{account}:", asker(index))
        assert reply.status_code == 200, reply.text
        forms.append(filled_form(fresh, account, after=updates))
    known = set(decide_buttons(fresh))

    aws.set_latency(AWS_HOLD, org.management_id)  # ListOrganizationsFeatures hangs
    try:
        with ThreadPoolExecutor(SUBMISSIONS) as pool:
            replies = list(
                pool.map(
                    lambda i: submit(
                        bot, forms[i], asker(i), {"reason": "unused since 2019", "ticket": None}
                    ),
                    range(SUBMISSIONS),
                )
            )
        assert all(r.status_code == 200 and not r.text for r in replies), [
            (r.status_code, r.text[:80]) for r in replies
        ]

        started = time.monotonic()
        helped = command(bot, fresh, "help")
        assert helped.status_code == 200, helped.status_code
        assert "/rootkey check all" in helped.text
        assert time.monotonic() - started < ACK_WITHIN

        started = time.monotonic()
        reply = click(bot, fresh, ActionId.APPROVE.value, str(decided_id), APPROVER, decided_ts)
        assert reply.status_code == 200, reply.status_code
        assert time.monotonic() - started < ACK_WITHIN
        wait_until(
            lambda: [a for a in bot.store.get(decided_id).approvals if a.user == APPROVER],
            what="the approval recorded while AWS hangs",
        )
    finally:
        aws.set_latency(0.0, org.management_id)
        aws.reset()  # the held AWS calls end now

    # Every submission ends in a message: one request per account posted, and each other
    # submitter told privately that the account already has one.
    def ended() -> list[str]:
        new = set(decide_buttons(fresh)) - known
        requesters = {bot.store.get(n).requester for n in new}
        told = {
            str(c.args.get("user"))
            for c in fresh.calls("chat.postEphemeral")
            if c.args.get("channel") == CHANNEL and "already" in str(c.args.get("text"))
        }
        return [asker(i) for i in range(SUBMISSIONS) if asker(i) in requesters | told]

    wait_until(lambda: len(ended()) == SUBMISSIONS, timeout=120, what="every submission answered")
    assert len(set(decide_buttons(fresh)) - known) == ACCOUNTS


def test_a_form_from_a_channel_the_bot_was_never_invited_to_refused_after_its_ack_is_told_in_a_dm(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """Two people ask about one account from a public channel the bot was never invited to
    while AWS hangs: both forms pass their checks (no request yet) and are acked; once AWS
    answers, one request is posted there and the other is refused after the ack. A form has
    no response_url and Slack refuses chat.postEphemeral where the bot is not a member
    (chat:write.public or not), so the refusal must reach its submitter in a direct message."""
    org = aws.create_organization(members=["acct0"])
    account = org.members[0].account_id
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(200))])
    askers = [asker(0), asker(1)]
    fresh.workspace.add_channel(UNJOINED, members=[*askers, APPROVER], bot_member=False)
    fresh.add_message(UNJOINED, FINDING_TS)  # the check result, posted with chat:write.public
    forms = []
    for who in askers:
        updates = len(fresh.calls("views.update"))
        reply = click(
            bot, fresh, ActionId.REQUEST_REMEDIATION.value, f"{account}:", who, channel=UNJOINED
        )
        assert reply.status_code == 200, reply.text
        forms.append(filled_form(fresh, account, channel=UNJOINED, after=updates))

    aws.set_latency(AWS_HOLD, org.management_id)  # ListOrganizationsFeatures hangs
    try:
        for who, form in zip(askers, forms, strict=True):
            reply = submit(bot, form, who, {"reason": "unused since 2019", "ticket": None})
            assert reply.status_code == 200 and not reply.text, (reply.status_code, reply.text)
    finally:
        aws.set_latency(0.0, org.management_id)
        aws.reset()  # the held AWS calls end now

    posted = fresh.wait_for(lambda: slackflow.decide_buttons(fresh, UNJOINED), timeout=60)
    (requester,) = {bot.store.get(n).requester for n in posted}
    (other,) = set(askers) - {requester}
    told = wait_until(
        lambda: [m for m in fresh.messages(other) if "already" in str(m.args.get("text"))],
        timeout=60,
        what="the refused submitter told in a direct message",
    )
    assert len(told) == 1
    assert not [m for m in fresh.messages(requester) if "already" in str(m.args.get("text"))]
