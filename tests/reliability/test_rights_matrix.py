"""Who may do what, checked on every path through the running bot.

Approvers come from ``ROOTKEY_APPROVERS`` (two users and a user group here); two distinct
approvals are needed. Every refused click gets a private one-line answer, is written to the
audit log as ``refused``, and leaves the request exactly as it was. The requester never
approves their own request, whether or not they are an approver.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.remediation.states import State
from bot.slack.action_ids import ActionId
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.reliability.harness import (
    ALICE,
    APPROVER,
    APPROVER_2,
    GROUP_APPROVER,
    MALLORY,
    Bot,
    ask_for,
    bot_env,
    click,
    click_answer,
    command,
    posted_now,
    private_answer,
    wait_until,
)

pytestmark = pytest.mark.slow

ROLES = {
    "approver": APPROVER,
    "second approver": APPROVER_2,
    "group approver": GROUP_APPROVER,
    "non-approver": MALLORY,
    "requester": ALICE,
}


@pytest.fixture(scope="module")
def bot(
    slack: SlackStandin, moto_server: SimulatedAws, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bot]:
    db = tmp_path_factory.mktemp("rights") / "rootkey.db"
    env = bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org", ROOTKEY_REQUIRED_APPROVALS="2")
    bot = Bot(env, f"sqlite:///{db}").start()
    yield bot
    bot.stop()


def keyed_account(aws: SimulatedAws) -> str:
    org = aws.create_organization(members=["prod"])
    account = org.members[0].account_id
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(200))])
    return account


def open_request(
    bot: Bot, slack: SlackStandin, aws: SimulatedAws, kind: str, by: str
) -> tuple[int, str]:
    account = keyed_account(aws)
    if kind == "remediation":
        return ask_for(bot, slack, account, by)
    until = {"type": "datepicker", "selected_date": (date.today() + timedelta(days=30)).isoformat()}
    owner = {"type": "users_select", "selected_user": by}
    return ask_for(
        bot, slack, account, by, ActionId.ACCEPT_RISK, extra={"until": until, "owner": owner}
    )


# (kind, action, who clicks, who asked, allowed)
MATRIX = [
    (kind, action, actor, requester, allowed)
    for kind in ("remediation", "exception")
    for action, actor, requester, allowed in [
        (ActionId.APPROVE, "approver", "requester", True),
        (ActionId.APPROVE, "second approver", "requester", True),
        (ActionId.APPROVE, "group approver", "requester", True),
        (ActionId.APPROVE, "non-approver", "requester", False),
        (ActionId.APPROVE, "requester", "requester", False),
        (ActionId.APPROVE, "approver", "approver", False),  # an approver asking: not own
        (ActionId.APPROVE, "second approver", "approver", True),
        (ActionId.REJECT, "approver", "requester", True),
        (ActionId.REJECT, "group approver", "requester", True),
        (ActionId.REJECT, "non-approver", "requester", False),
        (ActionId.REJECT, "requester", "requester", False),
    ]
]


@pytest.mark.parametrize(
    "kind, action, actor, requester, allowed",
    MATRIX,
    ids=[f"{k}-{a.name.lower()}-by-{c}-asked-by-{r}" for k, a, c, r, _ in MATRIX],
)
def test_rights_matrix(
    bot: Bot,
    fresh: SlackStandin,
    aws: SimulatedAws,
    kind: str,
    action: ActionId,
    actor: str,
    requester: str,
    allowed: bool,
) -> None:
    request_id, ts = open_request(bot, fresh, aws, kind, ROLES[requester])
    before = bot.store.get(request_id)
    response_url = fresh.response_url()

    reply = click(
        bot, fresh, action.value, str(request_id), ROLES[actor], ts, response_url=response_url
    )
    assert reply.status_code == 200

    if allowed and action is ActionId.APPROVE:
        after = wait_until(lambda: (r := bot.store.get(request_id)).approvals and r)
        assert [a.user for a in after.approvals] == [ROLES[actor]]
        assert after.state is State.REQUESTED, "two approvals are needed"
        return
    if allowed:
        wait_until(lambda: bot.store.get(request_id).state is State.REJECTED)
        return
    answer = private_answer(fresh, response_url)
    assert "\n" not in answer.strip()
    assert bot.store.get(request_id) == before, "a refused click changes nothing"
    refused = [e for e in bot.store.log(request_id) if e.event == "refused"]
    assert [e.actor for e in refused] == [ROLES[actor]], "the refusal is logged"


@pytest.mark.parametrize("kind", ["remediation", "exception"])
def test_the_requester_cannot_be_the_second_approval_either(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws, kind: str
) -> None:
    request_id, ts = open_request(bot, fresh, aws, kind, APPROVER)
    click(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER_2, ts)
    wait_until(lambda: bot.store.get(request_id).approvals)
    own = click_answer(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
    assert "cannot approve" in own, own
    again = click_answer(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER_2, ts)
    assert "already approved" in again, again
    assert bot.store.get(request_id).state is State.REQUESTED
    click(bot, fresh, ActionId.APPROVE.value, str(request_id), GROUP_APPROVER, ts)
    wait_until(lambda: bot.store.get(request_id).state is not State.REQUESTED)
    approvers = [a.user for a in bot.store.get(request_id).approvals]
    assert approvers == [APPROVER_2, GROUP_APPROVER]


def test_anyone_may_ask_and_decided_requests_refuse_every_click(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    request_id, ts = open_request(bot, fresh, aws, "remediation", MALLORY)  # anyone may ask
    click(bot, fresh, ActionId.REJECT.value, str(request_id), APPROVER, ts)
    wait_until(lambda: bot.store.get(request_id).state is State.REJECTED)
    before = bot.store.get(request_id)
    for action in (ActionId.APPROVE, ActionId.REJECT, ActionId.VERIFY_NOW):
        for who in ROLES.values():
            answer = click_answer(bot, fresh, action.value, str(request_id), who, ts)
            assert "already rejected" in answer, answer
    assert bot.store.get(request_id) == before


@pytest.mark.parametrize("text", ["log", "export", "log --format csv", "export csv"])
def test_the_audit_log_export_has_no_slack_path(
    bot: Bot, fresh: SlackStandin, aws: SimulatedAws, text: str
) -> None:
    """Exporting the log is `python -m bot log` on a host with the database; in Slack, for
    approvers and everyone else alike, it is an unknown command."""
    bot.wait_idle()  # an earlier test's approved request may still be posting its steps
    fresh.reset()
    for who in (APPROVER, MALLORY):
        reply = command(bot, fresh, text, user=who)
        assert reply.status_code == 200
        body = reply.json()
        assert "unknown command" in body["text"], body
        assert body.get("response_type", "ephemeral") == "ephemeral"
    assert not fresh.uploads() and not posted_now(fresh)


def test_an_approver_group_slack_cannot_list_fails_closed(
    fresh: SlackStandin, moto_server: SimulatedAws, aws: SimulatedAws, tmp_path: Path
) -> None:
    """``usergroups.users.list`` failing (a Slack fault): a group member's approval is refused
    with a clear line and nothing changes; once Slack answers again it goes through."""
    env = bot_env(fresh, moto_server.env(), ROOTKEY_SCOPE="org")
    bot = Bot(env, f"sqlite:///{tmp_path / 'rootkey.db'}").start()  # approver cache empty
    try:
        request_id, ts = open_request(bot, fresh, aws, "remediation", ALICE)
        before = bot.store.get(request_id)
        fresh.fail("usergroups.users.list", "server_error")
        answer = click_answer(
            bot, fresh, ActionId.APPROVE.value, str(request_id), GROUP_APPROVER, ts
        )
        assert "approver group" in answer and "nothing was changed" in answer, answer
        assert bot.store.get(request_id) == before
        click(bot, fresh, ActionId.APPROVE.value, str(request_id), GROUP_APPROVER, ts)
        wait_until(lambda: bot.store.get(request_id).state is not State.REQUESTED)
    finally:
        bot.stop()
    assert [a.user for a in bot.store.get(request_id).approvals] == [GROUP_APPROVER]
    refused = [e for e in bot.store.log(request_id) if e.event == "refused"]
    assert [e.actor for e in refused] == [GROUP_APPROVER]
