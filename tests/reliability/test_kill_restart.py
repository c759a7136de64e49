"""The bot process killed with SIGKILL in the middle of its work, then started again on the same
database: no duplicate digest, no duplicate execution, no lost log entry.

The moment of the kill is exact, not timed: the AWS stand-in parks one API call
(``RootAccessStandIn.hold``) and the test kills the bot while its work waits inside that call.
Also here: AssumeRoot's work failing half-way through a remediation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.remediation.states import State
from bot.slack.action_ids import ActionId
from bot.store import Store
from bot.store.models import DigestSlotRow
from simulator.aws import MANAGEMENT_ACCOUNT, RootKeySpec, SimulatedAws, days_ago
from simulator.aws_root import RootAccessStandIn
from simulator.slack import SlackStandin
from tests.reliability.harness import (
    ALICE,
    APPROVER,
    CHANNEL,
    FINDING_TS,
    Bot,
    ask_for,
    bot_env,
    click,
    command,
    export_log,
    wait_state,
    wait_until,
)

pytestmark = pytest.mark.slow

DIGEST_CHANNEL = "C0DIGEST01"


@pytest.fixture
def root_access(moto_server: SimulatedAws) -> Iterator[RootAccessStandIn]:
    stand_in = RootAccessStandIn.install(moto_server)
    stand_in.reset()
    yield stand_in
    stand_in.reset()


def new_bot(slack: SlackStandin, aws: SimulatedAws, db: Path, **settings: str) -> Bot:
    env = bot_env(slack, aws.env(), **settings)
    return Bot(env, f"sqlite:///{db}")


def thread_texts(slack: SlackStandin) -> list[str]:
    return [str(m.args.get("text")) for m in slack.messages(CHANNEL) if m.thread_ts == FINDING_TS]


def test_killed_during_an_audit_posts_nothing_twice_and_keeps_the_log(
    fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn, tmp_path: Path
) -> None:
    slack = fresh
    org = aws.create_organization(members=["prod", "dev"])
    keyed = org.members[0].account_id
    aws.set_root_keys(keyed, [RootKeySpec(slot=1, active=True, created=days_ago(50))])
    bot = new_bot(slack, aws, tmp_path / "rootkey.db", ROOTKEY_SCOPE="org").start()
    try:
        request_id, _ = ask_for(bot, slack, keyed, ALICE)
        log_before = bot.store.log()
        root_access.hold("GetAccountSummary")
        assert "Auditing" in command(bot, slack, "check all").text
        wait_until(lambda: root_access.waiting("GetAccountSummary") >= 1)
        bot.kill()
        root_access.release("GetAccountSummary")

        bot.start()
        command(bot, slack, "check all")
        slack.wait_for(lambda: [m for m in slack.messages(CHANNEL) if not m.thread_ts])
        wait_until(lambda: "audit of org" in bot.process.logs if bot.process else False)
    finally:
        root_access.release("GetAccountSummary")
        bot.stop()
    results = [m for m in slack.messages(CHANNEL) if not m.thread_ts and "blocks" in m.args]
    audits = [m for m in results if "rootkey_summary" in json.dumps(m.args["blocks"])]
    assert len(audits) == 1, "the killed audit is not posted late next to the new one"
    assert bot.store.log()[: len(log_before)] == log_before
    assert bot.store.get(request_id).state is State.REQUESTED


def seed_posted_digest(db: Path, slot: datetime) -> None:
    """A digest posted in the past: only a bot that posted before catches up a missed one."""
    store = Store.open(f"sqlite:///{db}")
    try:
        claim = store.claim_slot(DIGEST_CHANNEL, slot, "seed", now=slot)
        assert claim is not None
        store.mark_slot_posted(
            claim.id, "seed", run_id=None, baseline_run_id=None, message_ts="1.1"
        )
    finally:
        store.close()


def digest_posts(slack: SlackStandin) -> list[object]:
    return [m for m in slack.messages(DIGEST_CHANNEL) if not m.thread_ts]


def slot_states(db: Path) -> dict[datetime, tuple[str, int]]:
    store = Store.open(f"sqlite:///{db}", migrate=False)
    try:
        return {s.slot_time: (s.state, s.attempts) for s in store.slots(DIGEST_CHANNEL)}
    finally:
        store.close()


def age_claims(db: Path, by: timedelta) -> None:
    """As if the bot had stayed down for ``by``: the dead process's claim grows old."""
    store = Store.open(f"sqlite:///{db}", migrate=False)
    try:
        table = DigestSlotRow.__table__
        for held in [s for s in store.slots(DIGEST_CHANNEL) if s.state == "claimed"]:
            with store.transaction() as conn:
                conn.execute(
                    update(table)
                    .where(table.c.id == held.id)
                    .values(claimed_at=held.claimed_at - by)
                )
    finally:
        store.close()


@pytest.mark.parametrize("down_for", ["past the claim lease", "a moment"])
def test_killed_while_posting_the_digest_it_is_posted_once(
    fresh: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
    tmp_path: Path,
    down_for: str,
) -> None:
    slack = fresh
    aws.set_root_keys(MANAGEMENT_ACCOUNT, [RootKeySpec(slot=1, active=True)])
    now = datetime.now(UTC)
    # A cron that came due at the start of this minute and is next due in an hour.
    slot = now.replace(second=0, microsecond=0)
    db = tmp_path / "rootkey.db"
    seed_posted_digest(db, slot - timedelta(hours=1))
    settings = {
        "ROOTKEY_DIGEST_CHANNEL": DIGEST_CHANNEL,
        "ROOTKEY_DIGEST_CRON": f"{slot.minute} * * * *",
        "ROOTKEY_SCOPE": "account",
    }
    bot = new_bot(slack, aws, db, **settings)
    root_access.hold("GetAccountSummary")  # the digest's audit will wait here
    try:
        bot.start()
        wait_until(lambda: root_access.waiting("GetAccountSummary") >= 1)
        assert slot_states(db)[slot][0] == "claimed"
        bot.kill()  # SIGKILL while the digest is being built
        root_access.release("GetAccountSummary")
        assert digest_posts(slack) == []
        if down_for == "past the claim lease":
            age_claims(db, timedelta(minutes=6))

        bot.start()
        if down_for == "past the claim lease":
            slack.wait_for(lambda: digest_posts(slack), timeout=60)
            wait_until(lambda: slot_states(db)[slot][0] == "posted", 30)
        else:
            # The dead process's claim still looks alive: the new process must not post now
            # (that could double a digest another replica is posting); it looks again later.
            wait_until(lambda: "taken by another process" in bot.logs, 30)
        command(bot, slack, "status")  # the bot answers meanwhile
    finally:
        root_access.release("GetAccountSummary")
        bot.stop()
    states = slot_states(db)
    if down_for == "past the claim lease":
        assert len(digest_posts(slack)) == 1
        assert states[slot] == ("posted", 2), "claimed, killed, claimed again and posted"
    else:
        assert digest_posts(slack) == [], "never two processes posting one slot"
        assert states[slot][0] == "claimed"


def test_killed_while_verifying_a_tracked_fix_moves_it_once(
    fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn, tmp_path: Path
) -> None:
    slack = fresh
    account = aws.create_organization(members=["prod"]).members[0].account_id
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(80))])
    db = tmp_path / "rootkey.db"
    bot = new_bot(slack, aws, db, ROOTKEY_SCOPE="org").start()
    try:
        request_id, ts = ask_for(bot, slack, account, ALICE)
        click(bot, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
        wait_state(bot, request_id, State.TRACKING)
        aws.set_root_keys(account, [])  # the owner deleted the key
        root_access.hold("GetAccountSummary")
        click(bot, slack, ActionId.VERIFY_NOW.value, str(request_id), ALICE, ts)
        wait_until(lambda: root_access.waiting("GetAccountSummary") >= 1)
        log_before = bot.store.log(request_id)
        bot.kill()
        root_access.release("GetAccountSummary")
        assert bot.store.get(request_id).state is State.TRACKING

        bot.start()
        click(bot, slack, ActionId.VERIFY_NOW.value, str(request_id), ALICE, ts)
        wait_state(bot, request_id, State.VERIFIED)
    finally:
        root_access.release("GetAccountSummary")
        bot.stop()
    log_after = bot.store.log(request_id)
    assert log_after[: len(log_before)] == log_before, "no log line lost"
    moves = [e.to_state for e in log_after if e.event == "transition"]
    assert moves == ["requested", "approved", "tracking", "verified"], moves
    exported = export_log(bot.database_url, "json")
    assert len([e for e in json.loads(exported) if e["request_id"] == request_id]) == len(log_after)


def test_assume_root_failing_half_way_ends_in_a_state_the_thread_explains(
    fresh: SlackStandin, aws: SimulatedAws, root_access: RootAccessStandIn, tmp_path: Path
) -> None:
    """Two root keys; AWS deletes the first and refuses the second. The request ends failed,
    the thread says which key went and why the other stayed, and nothing runs twice."""
    slack = fresh
    account = aws.create_organization(members=["prod"]).members[0].account_id
    aws.set_root_keys(
        account,
        [
            RootKeySpec(slot=1, active=True, created=days_ago(300)),
            RootKeySpec(slot=2, active=False, created=days_ago(30)),
        ],
    )
    db = tmp_path / "rootkey.db"
    bot = new_bot(slack, aws, db, ROOTKEY_SCOPE="org", ROOTKEY_REMEDIATION="assume-root")
    bot.start()
    try:
        request_id, ts = ask_for(bot, slack, account, ALICE)
        root_access.hold("DeleteAccessKey")
        click(bot, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
        wait_until(lambda: root_access.waiting("DeleteAccessKey") >= 1)
        # Let the first delete through and park the second, then make AWS refuse it.
        first = root_access.record.held["DeleteAccessKey"]
        root_access.hold("DeleteAccessKey")
        first.set()
        wait_until(lambda: root_access.waiting("DeleteAccessKey") >= 1)
        assert len(root_access.deleted()) == 1
        aws.deny(account, "DeleteAccessKey")
        root_access.release("DeleteAccessKey")
        failed = wait_state(bot, request_id, State.FAILED, timeout=60)
        wait_until(lambda: any("AccessDenied" in t for t in thread_texts(slack)), 30)
        # Clicking again changes nothing: a failed request is finished.
        seen = len(slack.responses())
        click(bot, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
        slack.wait_for(lambda: len(slack.responses()) > seen)
    finally:
        root_access.release("DeleteAccessKey")
        bot.stop()
    assert len(root_access.deleted()) == 1, "one key deleted, the other refused; none twice"
    assert len(aws.state.root(account).keys) == 1
    steps = "\n".join(thread_texts(slack))
    assert "Deleted" in steps, steps
    assert "AccessDenied" in steps and "failed" in steps.lower(), steps
    assert bot.store.get(request_id) == failed
    moves = [e.to_state for e in bot.store.log(request_id) if e.event == "transition"]
    assert moves == ["requested", "approved", "executing", "failed"], moves


@pytest.mark.parametrize("throttled", ["briefly", "for good"])
def test_throttled_remediation_apis_are_retried_or_fail_clearly(
    fresh: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
    tmp_path: Path,
    throttled: str,
) -> None:
    """AssumeRoot, ListAccessKeys and DeleteAccessKey throttled: twice each (retried, the fix
    goes through), or DeleteAccessKey for good (failed, the thread names it, nothing deleted)."""
    slack = fresh
    account = aws.create_organization(members=["prod"]).members[0].account_id
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(300))])
    db = tmp_path / "rootkey.db"
    bot = new_bot(slack, aws, db, ROOTKEY_SCOPE="org", ROOTKEY_REMEDIATION="assume-root")
    bot.start()
    try:
        request_id, ts = ask_for(bot, slack, account, ALICE)
        if throttled == "briefly":
            for api in ("AssumeRoot", "ListAccessKeys", "DeleteAccessKey"):
                aws.throttle(None, api, times=2)
        else:
            aws.throttle(None, "DeleteAccessKey")
        click(bot, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
        final = State.VERIFIED if throttled == "briefly" else State.FAILED
        wait_state(bot, request_id, final, timeout=90)
    finally:
        bot.stop()
    steps = "\n".join(thread_texts(slack))
    if throttled == "briefly":
        assert len(root_access.deleted()) == 1 and aws.state.root(account).keys == ()
        assert aws.call_count(action="AssumeRoot") >= 3
    else:
        assert root_access.deleted() == [] and len(aws.state.root(account).keys) == 1
        assert "Throttling" in steps, steps
    moves = [e.to_state for e in bot.store.log(request_id) if e.event == "transition"]
    assert moves == ["requested", "approved", "executing", final.value], moves
