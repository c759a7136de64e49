"""The finding shows how it ended, end to end: the real bot (in the test's process, the same
start and stop as ``python -m bot``), signed commands, clicks and form submissions, the Slack
stand-in (as strict as Slack: scopes, membership, message limits) and moto's server behind it.
A tracked request's recheck comes when the test moves the bot's clock (``ManualClock``).

`/rootkey check all` posts one message naming several noncompliant accounts, each with its
"Request remediation" and "Accept risk" buttons. When a request from one of them ends
*verified*, or its risk is accepted, that account's entry in the message is replaced in place
(chat.update): the outcome instead of the red finding, no buttons. The other accounts' entries,
and their buttons, are left exactly as they were. A finding that cannot be updated never stops
the request: the thread still says how it ended.

Messages, forms and requests are picked by account, never by arrival order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.remediation.models import Request
from bot.remediation.states import Kind, State
from bot.slack.action_ids import ActionId, CallbackId
from bot.store.engine import create_store_engine
from bot.store.remediation import RemediationStore
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.aws_root import RootAccessStandIn
from simulator.clock import ManualClock
from simulator.slack import Posted, SlackStandin
from simulator.slack.scopes import granted_scopes
from tests.support.botproc import bot_env
from tests.support.inprocess import InProcessBot
from tests.support.signing import TEST_SIGNING_SECRET, command_body, post_signed
from tests.support.slackflow import (
    approve_as,
    block,
    filled_form,
    press,
    status,
    submit_ok,
    thread,
)
from tests.support.waiting import wait_state, wait_until

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C0ROOTKEY1"
ALICE = "U0ALICE001"  # asks
APPROVER = "U0APPROVE1"
OWNER = "U0OWNER001"  # owns an accepted risk


# -- plumbing ---------------------------------------------------------------------------------


@pytest.fixture
def root_access(moto_server: SimulatedAws) -> Iterator[RootAccessStandIn]:
    stand_in = RootAccessStandIn.install(moto_server)
    stand_in.reset()
    yield stand_in
    stand_in.reset()


def start_bot(
    slack: SlackStandin,
    aws: SimulatedAws,
    tmp_path: Path,
    build: dict[str, Any],
    **settings: str,
) -> tuple[InProcessBot, RemediationStore]:
    url = f"sqlite:///{tmp_path / 'rootkey.db'}"
    env = bot_env(slack, url, aws.env(), ROOTKEY_APPROVERS=APPROVER, **settings)
    return InProcessBot(env, **build).start(), RemediationStore(create_store_engine(url))


@pytest.fixture
def bot_with(
    slack: SlackStandin, aws: SimulatedAws, tmp_path: Path
) -> Iterator[Callable[..., tuple[InProcessBot, RemediationStore]]]:
    """``bot_with(slack, clock=None, **settings)``: a bot of the test's own, stopped at the end
    before the ``slack`` fixture's stand-in (its last posts still reach a Slack that answers)."""
    started: list[tuple[InProcessBot, RemediationStore]] = []

    def start(
        slack: SlackStandin, clock: ManualClock | None = None, **settings: str
    ) -> tuple[InProcessBot, RemediationStore]:
        build = {"clock": clock} if clock is not None else {}
        started.append(start_bot(slack, aws, tmp_path, build, **settings))
        return started[-1]

    yield start
    for bot, store in started:
        bot.stop()
        store.engine.dispose()
        assert TEST_SIGNING_SECRET not in bot.logs and BOT_TOKEN not in bot.logs


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=BOT_TOKEN) as standin:
        yield standin


def accounts_with_keys(aws: SimulatedAws, names: list[str]) -> list[str]:
    org = aws.create_organization(members=names)
    accounts = [m.account_id for m in org.members]
    for account in accounts:
        aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(400))])
    return accounts


def check_all(bot: InProcessBot, slack: SlackStandin) -> Posted:
    """``/rootkey check all`` and its result message (picked by its response_url's command:
    the one result in the channel that the test asked for)."""
    before = {m.ts for m in slack.messages(CHANNEL)}
    reply = post_signed(
        bot.events_url, command_body("check all", response_url=slack.response_url())
    )
    assert reply.status_code == 200 and "Auditing" in reply.json()["text"]
    return slack.wait_for(
        lambda: next(
            (
                m
                for m in slack.messages(CHANNEL)
                if m.ts not in before and m.thread_ts is None and block(m, "rootkey_header")
            ),
            None,
        )
    )


def now_message(slack: SlackStandin, ts: str) -> Posted:
    """The message ``ts`` as it stands now (after any chat.update)."""
    return next(m for m in slack.messages(CHANNEL) if m.ts == ts)


def finding_text(message: Posted, account: str) -> str:
    found = block(message, f"rootkey_finding:{account}")
    assert found is not None, f"no entry for {account}"
    return str(found["text"]["text"])


def buttons(message: Posted, account: str) -> dict[str, dict[str, Any]]:
    """The finding's buttons by action id (empty: none)."""
    found = block(message, f"rootkey_finding_actions:{account}")
    return {e["action_id"]: e for e in found["elements"]} if found else {}


RECOUNTED = ("rootkey_header", "rootkey_summary")  # counted again from the Organization now


def others(message: Posted, accounts: set[str]) -> list[dict[str, Any]]:
    """Every block but the entries (section and buttons) of ``accounts`` and the recounted
    header and counts line, without the block ids Slack filled in (a message read back carries
    them, and keeps them when written back)."""
    return [
        {k: v for k, v in b.items() if k != "block_id" or str(v).startswith("rootkey_")}
        for b in message.args["blocks"]
        if str(b.get("block_id", "")).rpartition(":")[2] not in accounts
        and b.get("block_id") not in RECOUNTED
    ]


def header_text(message: Posted) -> str:
    return str(
        next(b for b in message.args["blocks"] if b.get("block_id") == "rootkey_header")["text"][
            "text"
        ]
    )


def open_of(message: Posted) -> tuple[int, int]:
    """(accounts with a root key needing action, accounts) as the header counts them."""
    found = re.match(r"Root access keys in (\d+) of (\d+) accounts", header_text(message))
    assert found, header_text(message)
    return int(found[1]), int(found[2])


def approve(
    bot: InProcessBot, slack: SlackStandin, store: RemediationStore, account: str, kind: Kind
) -> Request:
    """The account's request, posted in the finding's thread, approved by the approver."""
    [req] = wait_until(lambda: store.find(account_id=account, kind=kind), 60.0)
    req = wait_until(lambda: (r := store.get(req.id)).where.message and r, 60.0)
    message = now_message(slack, req.where.message or "")
    approve_as(bot.events_url, slack, message, req.id, APPROVER)
    return req


def remediate(
    bot: InProcessBot, slack: SlackStandin, store: RemediationStore, finding: Posted,
    account: str,
) -> Request:  # fmt: skip
    """Request remediation from ``finding``'s button; the approver approves it."""
    request = buttons(finding, account)[ActionId.REQUEST_REMEDIATION]
    press(bot.events_url, slack, request, ALICE, finding.ts)
    form = filled_form(slack, account, callback=CallbackId.REMEDIATION_REQUEST)
    submit_ok(bot.events_url, form, ALICE, {"reason": "unused", "ticket": None})
    req = approve(bot, slack, store, account, Kind.REMEDIATION)
    assert req.where.thread == finding.ts  # in the finding's thread
    return req


def accept_risk(
    bot: InProcessBot, slack: SlackStandin, store: RemediationStore, finding: Posted,
    account: str, until: str,
) -> Request:  # fmt: skip
    accept = buttons(finding, account)[ActionId.ACCEPT_RISK]
    press(bot.events_url, slack, accept, ALICE, finding.ts)
    form = filled_form(slack, account, callback=CallbackId.ACCEPT_RISK)
    submit_ok(
        bot.events_url, form, ALICE,
        {
            "until": {"type": "datepicker", "selected_date": until},
            "owner": {"type": "users_select", "selected_user": OWNER},
            "reason": "vendor appliance",
            "ticket": None,
        },
    )  # fmt: skip
    return approve(bot, slack, store, account, Kind.EXCEPTION)


def entry_showing(slack: SlackStandin, ts: str, account: str, words: str) -> Posted:
    """The message once ``account``'s entry shows ``words``."""

    def shown() -> Posted | None:
        message = now_message(slack, ts)
        entry = block(message, f"rootkey_finding:{account}")
        return message if entry and words in entry["text"]["text"] else None

    try:
        return slack.wait_for(shown)
    except TimeoutError:
        shown_now = finding_text(now_message(slack, ts), account)
        raise AssertionError(f"{account}'s entry never showed {words!r}: {shown_now}") from None


def hhmm(at: datetime) -> str:
    return f"{at.astimezone(UTC):%H:%M} UTC"


# -- the tests --------------------------------------------------------------------------------


def test_verified_and_accepted_update_only_their_own_entry_in_the_finding(
    bot_with: Callable[..., tuple[InProcessBot, RemediationStore]],
    slack: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
) -> None:
    bot, store = bot_with(slack, ROOTKEY_REMEDIATION="assume-root")
    fixed, accepted, untouched = accounts_with_keys(aws, ["billing", "vendor", "sandbox"])
    finding = check_all(bot, slack)
    for account in (fixed, accepted, untouched):
        assert set(buttons(finding, account)) == {
            ActionId.REQUEST_REMEDIATION, ActionId.ACCEPT_RISK
        }  # fmt: skip
    before = others(finding, {fixed, accepted})
    open_before, total = open_of(finding)

    # Remediated through AssumeRoot: verified by the re-audit.
    req = remediate(bot, slack, store, finding, fixed)
    done = wait_state(store, req.id, State.VERIFIED, 60.0)
    updated = entry_showing(slack, finding.ts, fixed, "Fixed")
    text = finding_text(updated, fixed)
    assert f"Fixed: key deleted, verified {hhmm(done.state_since)} by re-audit" in text
    assert text.startswith(f":white_check_mark: *{fixed}* · billing: ")  # named as before
    assert ":red_circle:" not in text
    assert buttons(updated, fixed) == {}  # no "Request remediation", no "Accept risk"
    # The other accounts: their entries and buttons exactly as they were; the header counts
    # the fixed account as fixed.
    assert others(updated, {fixed, accepted}) == before
    assert open_of(updated) == (open_before - 1, total)
    assert set(buttons(updated, accepted)) == {ActionId.REQUEST_REMEDIATION, ActionId.ACCEPT_RISK}
    # The thread still says how it ended.
    slack.wait_for(lambda: any("*verified*" in t for t in thread(slack, CHANNEL, finding.ts)))

    # Accept risk for another account of the same message.
    until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    exc = accept_risk(bot, slack, store, updated, accepted, until)
    wait_state(store, exc.id, State.APPROVED, 60.0)
    after = entry_showing(slack, finding.ts, accepted, "Accepted risk")
    text = finding_text(after, accepted)
    assert text.startswith(f":large_yellow_circle: *{accepted}* · vendor: ")
    assert f"Accepted risk until {until} by <@{APPROVER}>" in text
    assert f"<@{OWNER}>" in text
    assert buttons(after, accepted) == {}
    # The earlier outcome is kept; the untouched account keeps its buttons.
    assert "Fixed: key deleted" in finding_text(after, fixed) and buttons(after, fixed) == {}
    assert others(after, {fixed, accepted}) == before
    assert open_of(after) == (open_before - 2, total)
    assert header_text(after).endswith("(and 1 accepted risk)")
    assert set(buttons(after, untouched)) == {ActionId.REQUEST_REMEDIATION, ActionId.ACCEPT_RISK}
    assert finding_text(after, untouched) == finding_text(finding, untouched)

    # The approver revokes the accepted risk early from /rootkey status: the entry no longer
    # says it is accepted; the account counts again. The other entries stay as they were.
    answer = status(bot.events_url, slack, APPROVER)
    revoke = next(
        e
        for b in answer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ActionId.REVOKE_EXCEPTION and e["value"] == str(exc.id)
    )
    press(bot.events_url, slack, revoke, APPROVER, "")
    ended = wait_state(store, exc.id, State.EXPIRED, 60.0)
    revoked = entry_showing(slack, finding.ts, accepted, "Accepted risk ended")
    text = finding_text(revoked, accepted)
    assert text.startswith(f":red_circle: *{accepted}* · vendor: ")
    assert f"ended {ended.state_since.astimezone(UTC):%Y-%m-%d %H:%M} UTC" in text
    assert "revoked before its end" in text and "until" not in text
    assert buttons(revoked, accepted) == {}
    assert "Fixed: key deleted" in finding_text(revoked, fixed)
    assert others(revoked, {fixed, accepted}) == before
    assert open_of(revoked) == (open_before - 1, total)  # it counts again


def test_a_tracked_manual_fix_shows_as_removed_by_hand(
    bot_with: Callable[..., tuple[InProcessBot, RemediationStore]],
    slack: SlackStandin,
    aws: SimulatedAws,
) -> None:
    clock = ManualClock(datetime.now(UTC))
    bot, store = bot_with(
        slack, clock, ROOTKEY_REMEDIATION="tracked", ROOTKEY_RECHECK_INTERVAL="1h"
    )
    fixed, other = accounts_with_keys(aws, ["billing", "sandbox"])
    finding = check_all(bot, slack)
    before = others(finding, {fixed})
    open_before, total = open_of(finding)

    req = remediate(bot, slack, store, finding, fixed)
    wait_state(store, req.id, State.TRACKING, 60.0)
    aws.set_root_keys(fixed, [])  # the root user deletes the key by hand
    assert store.get(req.id).state is State.TRACKING  # nobody looks before the next recheck
    clock.advance(timedelta(hours=1, minutes=1))  # the recheck is due
    done = wait_state(store, req.id, State.VERIFIED, 60.0)
    updated = entry_showing(slack, finding.ts, fixed, "Fixed")
    assert (
        f"Fixed: key removed (manual fix), verified {hhmm(done.state_since)} by re-audit"
        in finding_text(updated, fixed)
    )
    assert buttons(updated, fixed) == {}
    assert others(updated, {fixed}) == before
    assert open_of(updated) == (open_before - 1, total)
    assert set(buttons(updated, other)) == {ActionId.REQUEST_REMEDIATION, ActionId.ACCEPT_RISK}


def test_a_finding_that_cannot_be_updated_never_stops_the_request(
    bot_with: Callable[..., tuple[InProcessBot, RemediationStore]],
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
) -> None:
    # An installation without channels:history: the finding cannot be read back to be edited.
    scopes = granted_scopes() - {"channels:history"}
    with SlackStandin(bot_token=BOT_TOKEN, scopes=scopes) as slack:
        bot, store = bot_with(slack, ROOTKEY_REMEDIATION="assume-root")
        [account] = accounts_with_keys(aws, ["billing"])
        finding = check_all(bot, slack)
        req = remediate(bot, slack, store, finding, account)
        wait_state(store, req.id, State.VERIFIED, 60.0)
        slack.wait_for(lambda: any("*verified*" in t for t in thread(slack, CHANNEL, finding.ts)))
        slack.wait_for(
            lambda: any(
                c.method == "conversations.replies" and c.error == "missing_scope"
                for c in slack.attempts()
            )
        )
        assert now_message(slack, finding.ts).args["blocks"] == finding.args["blocks"]
        bot.stop()
        assert f"request #{req.id}: could not show the outcome on its finding" in bot.logs
