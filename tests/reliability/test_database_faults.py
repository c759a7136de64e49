"""The database misbehaving under the running bot.

PostgreSQL: a throw-away cluster of this test (``tests/support/pg_cluster.py``, never the
machine's shared server) is stopped and started again while the bot runs. SQLite: the test
holds an exclusive lock on the bot's database file. Meanwhile commands and clicks answer with a
clear line instead of hanging or crashing; afterwards everything works again, and nothing that
was acknowledged is lost from the audit history or the remediation log.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from bot.remediation.states import State
from bot.slack.action_ids import ActionId
from bot.store.models import RunRow
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.reliability.harness import (
    ALICE,
    APPROVER,
    APPROVER_2,
    CHANNEL,
    Bot,
    ask_for,
    bot_env,
    click,
    command,
    wait_state,
    wait_until,
)
from tests.support.pg_cluster import PgCluster, PgClusterUnavailable

pytestmark = pytest.mark.slow


def org_with_key(aws: SimulatedAws) -> list[str]:
    org = aws.create_organization(members=["prod", "dev"])
    accounts = [m.account_id for m in org.members]
    aws.set_root_keys(accounts[0], [RootKeySpec(slot=1, active=True, created=days_ago(90))])
    return accounts


def runs_saved(url: str, trigger: str | None = None) -> int:
    """Audit runs in the database (of one trigger: a check is "command", the re-audit a
    tracked request gets is "recheck")."""
    query = select(func.count()).select_from(RunRow.__table__)
    if trigger:
        query = query.where(RunRow.__table__.c.trigger == trigger)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar())
    finally:
        engine.dispose()


def runs_by_trigger(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            c = RunRow.__table__.c
            rows = conn.execute(select(c.trigger, func.count()).group_by(c.trigger)).all()
            return {str(trigger): int(n) for trigger, n in rows}
    finally:
        engine.dispose()


def results(slack: SlackStandin) -> list[object]:
    return [m for m in slack.messages(CHANNEL) if not m.thread_ts]


def answers(slack: SlackStandin) -> str:
    return json.dumps(slack.responses())


@pytest.fixture
def pg_bot(pg_cluster: PgCluster, slack: SlackStandin, moto_server: SimulatedAws) -> Iterator[Bot]:
    env = bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org")
    bot = Bot(env, pg_cluster.url).start()
    yield bot
    bot.stop()


def test_postgresql_restarted_while_the_bot_runs(
    pg_bot: Bot, pg_cluster: PgCluster, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bot, slack = pg_bot, fresh
    accounts = org_with_key(aws)
    command(bot, slack, "check all")
    slack.wait_for(lambda: results(slack), timeout=60)
    request_id, ts = ask_for(bot, slack, accounts[0], ALICE)
    log_before = bot.store.log()
    checks_before = runs_saved(pg_cluster.url, "command")

    pg_cluster.stop()
    assert not pg_cluster.accepts_connections()

    # An audit still runs and posts its verdicts, saying they were not recorded.
    assert command(bot, slack, "check all").status_code == 200
    slack.wait_for(lambda: len(results(slack)) >= 2, timeout=60)
    outage_result = json.dumps(results(slack)[-1].args)
    assert "not" in outage_result and ("saved" in outage_result or "recorded" in outage_result)
    # Reads and clicks answer privately, in one line, instead of hanging.
    read, clicked = slack.response_url(), slack.response_url()
    command(bot, slack, f"history {accounts[0]}", response_url=read)
    click(bot, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts, response_url=clicked)
    said = [slack.answer_to(read, timeout=60), slack.answer_to(clicked, timeout=60)]
    for reply in said:
        assert reply.get("response_type", "ephemeral") == "ephemeral"
        assert "Traceback" not in json.dumps(reply)
    assert "database" in json.dumps(said[1]).lower(), said

    pg_cluster.start()

    # Everything works again: the approval goes through, history answers, nothing was lost.
    click(bot, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
    wait_state(bot, request_id, State.TRACKING, 60)
    # Tracking starts with a re-audit of the account (trigger "recheck"), saved on its own
    # schedule; the check's run is the one with trigger "command".
    shown = len(results(slack))
    command(bot, slack, "check all")
    slack.wait_for(lambda: len(results(slack)) > shown, timeout=90)
    after_restart = json.dumps([m.args for m in results(slack)[shown:]])
    assert "not saved" not in after_restart, "the check after the restart was not saved"
    try:
        wait_until(
            lambda: runs_saved(pg_cluster.url, "command") == checks_before + 1,
            30,
            "the check after the restart saved",
        )
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}; runs by trigger: {runs_by_trigger(pg_cluster.url)} "
            f"(checks before the outage: {checks_before}); bot log:\n{bot.logs[-3000:]}"
        ) from None
    log_after = bot.store.log()
    assert log_after[: len(log_before)] == log_before, "no log line lost or rewritten"
    events = [(e.event, e.to_state) for e in log_after[len(log_before) :]]
    assert ("transition", "approved") in events and ("transition", "tracking") in events
    ids = [e.id for e in log_after]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert "Traceback" not in bot.logs


def hold_exclusive_lock(db: Path, seconds: float, locked: threading.Event) -> None:
    conn = sqlite3.connect(db, timeout=60, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


@pytest.fixture
def sqlite_bot(
    tmp_path: Path, slack: SlackStandin, moto_server: SimulatedAws
) -> Iterator[tuple[Bot, Path]]:
    db = tmp_path / "rootkey.db"
    env = bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org", ROOTKEY_REQUIRED_APPROVALS="2")
    bot = Bot(env, f"sqlite:///{db}").start()
    yield bot, db
    bot.stop()


def test_a_briefly_locked_sqlite_file_delays_but_loses_nothing(
    sqlite_bot: tuple[Bot, Path], fresh: SlackStandin, aws: SimulatedAws
) -> None:
    (bot, db), slack = sqlite_bot, fresh
    accounts = org_with_key(aws)
    request_id, ts = ask_for(bot, slack, accounts[0], ALICE)
    runs_before = runs_saved(f"sqlite:///{db}")
    locked = threading.Event()
    holder = threading.Thread(target=hold_exclusive_lock, args=(db, 4.0, locked))
    holder.start()
    locked.wait(10)
    command(bot, slack, "check all")
    click(bot, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
    holder.join()

    slack.wait_for(lambda: results(slack), timeout=60)
    wait_until(lambda: len(bot.store.get(request_id).approvals) == 1, 60, "approval saved")
    time.sleep(1)
    assert runs_saved(f"sqlite:///{db}") == runs_before + 1
    assert len(results(slack)) == 1
    assert [e.actor for e in bot.store.log(request_id) if e.event == "approval"] == [APPROVER]


def test_a_sqlite_file_locked_past_the_busy_timeout_answers_then_recovers(
    sqlite_bot: tuple[Bot, Path], fresh: SlackStandin, aws: SimulatedAws
) -> None:
    (bot, db), slack = sqlite_bot, fresh
    accounts = org_with_key(aws)
    request_id, ts = ask_for(bot, slack, accounts[0], ALICE)
    before = bot.store.get(request_id)
    log_before = bot.store.log()
    locked = threading.Event()
    holder = threading.Thread(target=hold_exclusive_lock, args=(db, 34.0, locked))
    holder.start()
    locked.wait(10)
    clicked = slack.response_url()
    click(bot, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts, response_url=clicked)
    reply = slack.answer_to(clicked, timeout=60)
    assert "database" in json.dumps(reply).lower(), reply
    assert reply.get("response_type", "ephemeral") == "ephemeral"
    holder.join()

    assert bot.store.get(request_id) == before, "the refused click changed nothing"
    click(bot, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
    click(bot, slack, ActionId.APPROVE.value, str(request_id), APPROVER_2, ts)
    wait_state(bot, request_id, State.TRACKING)
    log_after = bot.store.log()
    assert log_after[: len(log_before)] == log_before
    with sqlite3.connect(db) as conn:
        assert conn.execute(text("PRAGMA integrity_check").text).fetchone()[0] == "ok"


def test_the_throwaway_cluster_starts_from_a_path_without_sbin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CI runner's or a user's PATH often lacks /usr/sbin, where Debian installs runuser
    (needed to run PostgreSQL as its own user when the tests run as root)."""
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    try:
        cluster = PgCluster()
    except PgClusterUnavailable as exc:
        pytest.skip(f"no throw-away PostgreSQL cluster: {exc}")
    with cluster:
        assert cluster.accepts_connections()
        engine = create_engine(cluster.url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
        finally:
            engine.dispose()
