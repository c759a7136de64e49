"""The remediation log is append-only and tamper-evident.

SQLite: ``INSERT OR REPLACE`` (and its relatives) over an existing line is refused by the
database. PostgreSQL: the tables are owned by one role (``python -m bot db upgrade`` and ``db
grant``), the bot runs as another that can only read and append to the log, so it can neither
rewrite a line nor switch the triggers off; a superuser who does is caught by
``python -m bot log --verify`` (exit 1, naming the first line that does not match). The export
names each line's account and kind as written, whatever happens to the requests table later.

Lines are made by the running bot (signed clicks and form submissions in, the Slack stand-in
and moto's server out).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from bot.remediation import keys
from bot.remediation.chain import GENESIS, LineContent, line_hash
from bot.remediation.keys import KeyPrint
from bot.remediation.models import Conversation
from bot.remediation.states import Kind, State
from bot.slack.action_ids import ActionId
from bot.store import Store
from bot.store.engine import create_store_engine
from bot.store.remediation import NewRequest, RemediationStore
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.aws_root import RootAccessStandIn
from simulator.slack import SlackStandin
from tests.reliability.harness import (
    ALICE,
    APPROVER,
    APPROVER_2,
    CHANNEL,
    MALLORY,
    Bot,
    ask_for,
    bot_env,
    click,
    click_answer,
    command,
    export_log,
    snapshot,
    wait_state,
    wait_until,
)
from tests.support.botproc import ROOT
from tests.support.pg_cluster import PgCluster

pytestmark = pytest.mark.slow


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def account_with_key(aws: SimulatedAws) -> str:
    org = aws.create_organization(members=["prod"])
    account = org.members[0].account_id
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(400))])
    return account


def approved_request(bot: Bot, slack: SlackStandin, account: str) -> int:
    """Request -> approval -> tracking: a few log lines written by the bot."""
    request_id, ts = ask_for(bot, slack, account, ALICE)
    click(bot, slack, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
    wait_state(bot, request_id, State.TRACKING)
    return request_id


# -- SQLite ------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_bot(
    slack: SlackStandin, moto_server: SimulatedAws, tmp_path: Path
) -> Iterator[tuple[Bot, Path]]:
    db = tmp_path / "rootkey.db"
    bot = Bot(bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org"), f"sqlite:///{db}")
    bot.start()
    yield bot, db
    bot.stop()


REWRITES = (
    "INSERT OR REPLACE INTO remediation_log (id, request_id, at, actor, event, detail) "
    "VALUES (:id, :request, '2020-01-01 00:00:00', 'U0MALLORY1', 'transition', 'forged')",
    "REPLACE INTO remediation_log (id, request_id, at, actor, event, detail) "
    "VALUES (:id, :request, '2020-01-01 00:00:00', 'U0MALLORY1', 'transition', 'forged')",
    "INSERT INTO remediation_log (id, request_id, at, actor, event, detail) "
    "VALUES (:id, :request, '2020-01-01 00:00:00', 'U0MALLORY1', 'transition', 'forged') "
    "ON CONFLICT(id) DO UPDATE SET detail = 'forged'",
    "UPDATE remediation_log SET detail = 'forged' WHERE id = :id",
    "DELETE FROM remediation_log WHERE id = :id",
)


def test_sqlite_refuses_insert_or_replace_of_a_log_line(
    sqlite_bot: tuple[Bot, Path], fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """Attack: ``INSERT OR REPLACE`` once rewrote a line through an ordinary connection (a
    REPLACE deletes without firing the DELETE trigger)."""
    bot, db = sqlite_bot
    request_id = approved_request(bot, fresh, account_with_key(aws))
    before = snapshot(bot)
    first = before[1][0].id

    conn = sqlite3.connect(db, timeout=30)
    try:
        for statement in REWRITES:
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement, {"id": first, "request": request_id})
        conn.rollback()
    finally:
        conn.close()

    assert snapshot(bot) == before
    done = cli("log", "--verify", "--url", bot.database_url)
    assert done.returncode == 0, done.stderr
    assert f"ok: {len(before[1])} log lines, hash chain intact" in done.stdout


def test_sqlite_edit_with_the_triggers_dropped_is_caught_by_verify(
    sqlite_bot: tuple[Bot, Path], fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bot, db = sqlite_bot
    approved_request(bot, fresh, account_with_key(aws))
    lines = bot.store.log()
    edited = lines[1]
    bot.stop()

    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER remediation_log_no_update")
        conn.execute("UPDATE remediation_log SET actor = 'U0MALLORY1' WHERE id = ?", (edited.id,))
    finally:
        conn.close()

    done = cli("log", "--verify", "--url", bot.database_url)
    assert done.returncode == 1, done.stdout
    assert f"log line {edited.id} does not match its hash" in done.stderr
    assert "Traceback" not in done.stderr


ANCHOR = re.compile(r"--anchor (\d+:[0-9a-f]{64})")


def posted_anchor(bot: Bot, slack: SlackStandin) -> str:
    """Ask for a digest; the log head it posts in Slack (outside the database)."""
    command(bot, slack, "digest")

    def head() -> str | None:
        for m in slack.messages(CHANNEL):
            for block in m.args.get("blocks") or []:
                if block.get("block_id") == "rootkey_digest_log_head":
                    found = ANCHOR.search(json.dumps(block))
                    return found.group(1) if found else None
        return None

    return slack.wait_for(head)


def test_lines_cut_off_the_end_are_caught_by_the_anchor_a_digest_posted(
    sqlite_bot: tuple[Bot, Path], fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """Attack: with the triggers dropped, remove the newest lines. The chain that is left
    still holds (nothing after them to show it); the head the digest posted does not. (A cut
    that takes a move is named without the anchor too: the request's row is in a state its
    last logged move is not. So the lines cut here move nothing: a note.)"""
    bot, db = sqlite_bot
    request_id = approved_request(bot, fresh, account_with_key(aws))
    bot.store.note(request_id, APPROVER, "note", "vendor asked for a day", datetime.now(UTC))
    anchor = posted_anchor(bot, fresh)
    bot.stop()
    lines = bot.store.log()
    assert anchor in {f"{line.id}:{line.hash}" for line in lines}  # the head as it was built
    intact = cli("log", "--verify", "--anchor", anchor, "--url", bot.database_url)
    assert intact.returncode == 0, intact.stderr
    assert "1 anchor held" in intact.stdout and f"head {lines[-1].id}:" in intact.stdout
    anchored = int(anchor.split(":")[0])
    assert all(line.event != "transition" for line in lines if line.id >= anchored)

    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER remediation_log_no_delete")
        conn.execute("DELETE FROM remediation_log WHERE id >= ?", (anchored,))
    finally:
        conn.close()

    assert cli("log", "--verify", "--url", bot.database_url).returncode == 0  # the gap
    caught = cli("log", "--verify", "--anchor", anchor, "--url", bot.database_url)
    assert caught.returncode == 1, caught.stdout
    assert f"log line {anchored} of the anchor is gone" in caught.stderr


def test_a_chain_rewritten_with_fresh_hashes_is_caught_by_the_anchor(
    sqlite_bot: tuple[Bot, Path], fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """Attack: edit a line, then recompute every hash from there on, as someone who knows the
    scheme would: ``--verify`` alone finds a chain that holds; the posted head does not. (A
    rewrite that names another requester or approver is named without the anchor too: the
    tables then disagree with the lines. So the edit here is a line's words.)"""
    bot, db = sqlite_bot
    approved_request(bot, fresh, account_with_key(aws))
    anchor = posted_anchor(bot, fresh)
    lines = bot.store.log()
    bot.stop()

    forged = [replace(lines[0], detail="remediation requested by the CISO"), *lines[1:]]
    previous = GENESIS
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER remediation_log_no_update")
        for line in forged:
            previous = line_hash(previous, LineContent.of(line))
            conn.execute(
                "UPDATE remediation_log SET detail = ?, hash = ? WHERE id = ?",
                (line.detail, previous, line.id),
            )
    finally:
        conn.close()

    assert cli("log", "--verify", "--url", bot.database_url).returncode == 0  # the gap
    caught = cli("log", "--verify", "--anchor", anchor, "--url", bot.database_url)
    assert caught.returncode == 1, caught.stdout
    assert "no longer has the anchor's hash" in caught.stderr


def test_a_malformed_anchor_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    done = cli("log", "--verify", "--anchor", "12:abc", "--url", f"sqlite:///{tmp_path}/x.db")
    assert done.returncode == 2
    assert "not an anchor" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.db").exists()


# -- PostgreSQL: two roles, a superuser's edit -------------------------------------------------


def create_roles(pg: PgCluster) -> tuple[str, str, str]:
    """Owner and bot roles and a database owned by the owner; their URLs and the superuser's."""
    admin = create_engine(pg.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE ROLE rootkey_owner LOGIN"))
        conn.execute(text("CREATE ROLE rootkey_bot LOGIN"))
        conn.execute(text("CREATE DATABASE rootkey_app OWNER rootkey_owner"))
    admin.dispose()
    base = f"127.0.0.1:{pg.port}/rootkey_app"
    return (
        f"postgresql+psycopg://rootkey_owner@{base}",
        f"postgresql+psycopg://rootkey_bot@{base}",
        f"postgresql+psycopg://postgres@{base}",
    )


def test_postgresql_bot_role_cannot_rewrite_and_a_superuser_edit_is_caught(
    pg_cluster: PgCluster, slack: SlackStandin, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    owner_url, bot_url, super_url = create_roles(pg_cluster)
    upgraded = cli("db", "upgrade", "--url", owner_url)
    assert upgraded.returncode == 0, upgraded.stderr
    granted = cli("db", "grant", "--role", "rootkey_bot", "--url", owner_url)
    assert granted.returncode == 0, granted.stderr

    bot = Bot(bot_env(slack, aws.env(), ROOTKEY_SCOPE="org"), bot_url).start()
    try:
        account = account_with_key(aws)
        request_id = approved_request(bot, fresh, account)
    finally:
        bot.stop()
    lines = bot.store.log()
    assert len(lines) >= 3 and all(line.hash for line in lines)
    assert "owns the remediation log" not in bot.logs  # no warning for a role of its own

    # The bot's own role: no rewriting, no switching the triggers off.
    as_bot = create_engine(bot_url)
    for statement in (
        "UPDATE remediation_log SET detail = 'forged'",
        "DELETE FROM remediation_log",
        "TRUNCATE remediation_log",
        "ALTER TABLE remediation_log DISABLE TRIGGER USER",
        "DROP TRIGGER remediation_log_no_change ON remediation_log",
    ):
        with as_bot.connect() as conn, pytest.raises(DBAPIError, match=r"permission denied|owner"):
            conn.execute(text(statement))
    # ... but it may change its working tables: the export must not care.
    with as_bot.begin() as conn:
        conn.execute(
            text("UPDATE remediation_requests SET account_id = '222222222222', kind = 'exception'")
        )
    as_bot.dispose()

    exported = json.loads(export_log(bot_url, "json"))
    assert {(row["account_id"], row["kind"]) for row in exported} == {(account, "remediation")}
    assert all(row["request_id"] == request_id and row["hash"] for row in exported)
    intact = cli("log", "--verify", "--url", bot_url)
    assert intact.returncode == 0, intact.stderr

    # A superuser switches the trigger off, rewrites a line and switches it on again.
    edited = lines[1]
    as_super = create_engine(super_url)
    with as_super.begin() as conn:
        conn.execute(text("ALTER TABLE remediation_log DISABLE TRIGGER USER"))
        conn.execute(
            text(
                "UPDATE remediation_log SET detail = 'approval 1 of 1 (by the CISO)' WHERE id = :id"
            ),
            {"id": edited.id},
        )
        conn.execute(text("ALTER TABLE remediation_log ENABLE TRIGGER USER"))
    as_super.dispose()

    caught = cli("log", "--verify", "--url", bot_url)
    assert caught.returncode == 1, caught.stdout
    assert f"log line {edited.id} does not match its hash" in caught.stderr
    assert "Traceback" not in caught.stderr


def test_postgresql_a_line_removed_by_a_superuser_is_caught(
    pg_cluster: PgCluster, slack: SlackStandin, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    owner_url, bot_url, super_url = create_roles(pg_cluster)
    assert cli("db", "upgrade", "--url", owner_url).returncode == 0
    assert cli("db", "grant", "--role", "rootkey_bot", "--url", owner_url).returncode == 0
    bot = Bot(bot_env(slack, aws.env(), ROOTKEY_SCOPE="org"), bot_url).start()
    try:
        approved_request(bot, fresh, account_with_key(aws))
    finally:
        bot.stop()
    lines = bot.store.log()

    as_super = create_engine(super_url)
    with as_super.begin() as conn:
        conn.execute(text("ALTER TABLE remediation_log DISABLE TRIGGER USER"))
        conn.execute(text("DELETE FROM remediation_log WHERE id = :id"), {"id": lines[1].id})
        conn.execute(text("ALTER TABLE remediation_log ENABLE TRIGGER USER"))
    as_super.dispose()

    caught = cli("log", "--verify", "--url", bot_url)
    assert caught.returncode == 1
    assert f"log line {lines[2].id} does not match its hash" in caught.stderr


def test_db_grant_refuses_the_owner_and_unknown_roles(pg_cluster: PgCluster) -> None:
    owner_url, bot_url, _ = create_roles(pg_cluster)
    # the bot's role cannot create the schema: one clear line, not a traceback
    refused = cli("db", "upgrade", "--url", bot_url)
    assert refused.returncode == 2
    assert "may not change the schema" in refused.stderr and "Traceback" not in refused.stderr
    assert cli("db", "upgrade", "--url", owner_url).returncode == 0

    for role, said in (("rootkey_owner", "owns the tables"), ("nobody_here", "no role")):
        done = cli("db", "grant", "--role", role, "--url", owner_url)
        assert done.returncode == 2 and said in done.stderr, done.stderr
    done = cli("db", "grant", "--role", "Robert'); DROP", "--url", owner_url)
    assert done.returncode == 2 and "--role NAME" in done.stderr
    # the check behind the bot's start-up warning
    assert cli("db", "grant", "--role", "rootkey_bot", "--url", owner_url).returncode == 0
    owner, bot = Store.open(owner_url, migrate=False), Store.open(bot_url, migrate=False)
    try:
        assert owner.can_rewrite_log() and not bot.can_rewrite_log()
    finally:
        owner.close()
        bot.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_appends_from_many_connections_at_once_keep_one_chain(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two replicas appending at the same moment must not fork the chain: 4 threads, each with
    its own engine (its own connections), 25 lines each, then --verify."""
    if backend == "postgresql":
        owner_url, bot_url, _ = create_roles(request.getfixturevalue("pg_cluster"))
        assert cli("db", "upgrade", "--url", owner_url).returncode == 0
        assert cli("db", "grant", "--role", "rootkey_bot", "--url", owner_url).returncode == 0
        url = bot_url
    else:
        url = f"sqlite:///{tmp_path / 'chain.db'}"
        Store.open(url).close()
    first = RemediationStore(create_store_engine(url))
    now = datetime.now(UTC)
    ids = [
        first.create(
            NewRequest(
                kind=Kind.REMEDIATION,
                account_id=f"{n:012d}",
                requester="U0ALICE001",
                reason="chain test",
                where=Conversation("C0ROOTKEY1"),
                expires_at=now + timedelta(days=1),
            ),
            now,
        ).id
        for n in (111111111111, 222222222222)
    ]

    def append(worker: int) -> None:
        store = RemediationStore(create_store_engine(url))
        for n in range(25):
            store.note(ids[n % 2], f"U0WORKER{worker}", "note", f"line {n}", datetime.now(UTC))
        store.engine.dispose()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(append, range(4)))

    assert len(first.log()) == 2 + 100
    done = cli("log", "--verify", "--url", url)
    assert done.returncode == 0, done.stderr
    assert "ok: 102 log lines, hash chain intact" in done.stdout


# -- the terms of a decision: in the hashed line, not only in tables the bot may UPDATE ---------


def bot_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The bot's database URL: a SQLite file, or PostgreSQL as the bot's own role (which may
    UPDATE the requests and exceptions tables, never the log)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'rootkey.db'}"
    owner_url, bot_url, _ = create_roles(request.getfixturevalue("pg_cluster"))
    assert cli("db", "upgrade", "--url", owner_url).returncode == 0
    assert cli("db", "grant", "--role", "rootkey_bot", "--url", owner_url).returncode == 0
    return bot_url


def audit_text(bot: Bot, slack: SlackStandin) -> str:
    """``/rootkey check all``: the text of the result it posts in the channel."""
    seen = {m.ts for m in slack.messages(CHANNEL)}

    def result() -> str | None:
        for m in slack.messages(CHANNEL):
            blocks = m.args.get("blocks") or []
            if m.ts not in seen and any(b.get("block_id") == "rootkey_header" for b in blocks):
                return json.dumps(blocks)
        return None

    assert command(bot, slack, "check all").status_code == 200
    return slack.wait_for(result, timeout=60)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_exception_extended_in_the_tables_is_refused_and_named_by_verify(
    backend: str,
    slack: SlackStandin,
    fresh: SlackStandin,
    aws: SimulatedAws,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Attack: with the bot's own database role, extend an approved exception to 2099, give it
    another owner and add a key nobody accepted to its covered keys. The check keeps the terms
    the approver decided (the end date, the one key) and ``log --verify`` names the line."""
    url = bot_database(backend, tmp_path, request)
    bot = Bot(bot_env(slack, aws.env(), ROOTKEY_SCOPE="org"), url).start()
    try:
        org = aws.create_organization(members=["prod"])
        account = org.members[0].account_id
        old = RootKeySpec(slot=1, active=True, created=days_ago(400))
        aws.set_root_keys(account, [old])
        until = (datetime.now(UTC) + timedelta(days=30)).date()
        request_id, ts = ask_for(
            bot, fresh, account, ALICE, ActionId.ACCEPT_RISK, reason="vendor appliance",
            extra={
                "until": {"type": "datepicker", "selected_date": until.isoformat()},
                "owner": {"type": "users_select", "selected_user": ALICE},
            },
        )  # fmt: skip
        click(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
        decided = wait_state(bot, request_id, State.APPROVED)
        approved_line = next(
            line for line in bot.store.log(request_id) if line.to_state == "approved"
        )
        assert f"Accepted risk until {until.isoformat()}" in audit_text(bot, fresh)

        # The end date and the owner, moved in both tables that hold them.
        tables = create_engine(url)
        with tables.begin() as conn:
            conn.execute(
                text(
                    "UPDATE risk_exceptions SET expires_at = '2099-01-01 00:00:00', "
                    "owner = :mallory WHERE request_id = :id"
                ),
                {"id": request_id, "mallory": MALLORY},
            )
            conn.execute(
                text(
                    "UPDATE remediation_requests SET exception_until = '2099-01-01 00:00:00', "
                    "owner = :mallory WHERE id = :id"
                ),
                {"id": request_id, "mallory": MALLORY},
            )
        shown = audit_text(bot, fresh)
        assert f"Accepted risk until {until.isoformat()}, owner <@{ALICE}>" in shown, shown
        assert "2099" not in shown and MALLORY not in shown

        # A second key appears, and is added to the keys the risk was accepted for.
        new = RootKeySpec(slot=2, active=True, created=days_ago(3))
        aws.set_root_keys(account, [old, new])
        aws.expire_report(account)  # the next audit reads a report that shows it
        more = [*(decided.key_prints or ()), KeyPrint(created=new.created, active=True, slot=2)]
        with tables.begin() as conn:
            conn.execute(
                text("UPDATE remediation_requests SET key_prints = :prints WHERE id = :id"),
                {"id": request_id, "prints": keys.encode(more)},
            )
        tables.dispose()
        shown = audit_text(bot, fresh)
        assert "key 2 (created" in shown and "is not one it was accepted for" in shown, shown
        assert f"rootkey_finding:{account}" in shown and "Accepted risk until" not in shown
    finally:
        bot.stop()

    caught = cli("log", "--verify", "--url", url)
    assert caught.returncode == 1, caught.stdout
    said = caught.stderr
    assert f"request {request_id}" in said and f"log line {approved_line.id}" in said, said
    assert "2099-01-01" in said and "Traceback" not in said


# -- the state of a request: its last move in the hashed log, not the table's copy -------------


def tables_set_state(url: str, request_id: int, state: State) -> None:
    """As the bot's own database role: put a request's row back in ``state``, as if it had just
    moved there (``state_since`` an hour ago, so nothing waits for it to settle)."""
    tables = create_engine(url)
    with tables.begin() as conn:
        conn.execute(
            text(
                "UPDATE remediation_requests SET state = :state, state_since = :since "
                "WHERE id = :id"
            ),
            {
                "state": state.value,
                "since": datetime.now(UTC) - timedelta(hours=1),
                "id": request_id,
            },
        )
    tables.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_revoked_exception_set_back_to_approved_in_the_table_covers_nothing(
    backend: str,
    slack: SlackStandin,
    fresh: SlackStandin,
    aws: SimulatedAws,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Attack: an approver revokes an accepted risk; then someone with the bot's database role
    sets the request's ``state`` back to ``approved``. Its last logged move is the revocation:
    the account stays a finding and ``log --verify`` names the request and that line."""
    url = bot_database(backend, tmp_path, request)
    bot = Bot(bot_env(slack, aws.env(), ROOTKEY_SCOPE="org"), url).start()
    try:
        account = account_with_key(aws)
        until = (datetime.now(UTC) + timedelta(days=30)).date()
        request_id, ts = ask_for(
            bot, fresh, account, ALICE, ActionId.ACCEPT_RISK, reason="vendor appliance",
            extra={"until": {"type": "datepicker", "selected_date": until.isoformat()}},
        )  # fmt: skip
        click(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
        wait_state(bot, request_id, State.APPROVED)
        assert f"Accepted risk until {until.isoformat()}" in audit_text(bot, fresh)
        click(bot, fresh, ActionId.REVOKE_EXCEPTION.value, str(request_id), APPROVER, ts)
        wait_state(bot, request_id, State.EXPIRED)
        revoked = [e for e in bot.store.log(request_id) if e.event == "transition"][-1]
        assert revoked.to_state == "expired" and "revoked" in revoked.detail
        shown = audit_text(bot, fresh)
        assert f"rootkey_finding:{account}" in shown and "Accepted risk until" not in shown

        tables_set_state(url, request_id, State.APPROVED)
        shown = audit_text(bot, fresh)
        assert f"rootkey_finding:{account}" in shown, shown
        assert "Accepted risk until" not in shown, shown
        assert bot.store.get(request_id).state is State.EXPIRED
        assert request_id not in {
            r.request_id for r in bot.store.active_exceptions(datetime.now(UTC))
        }
    finally:
        bot.stop()

    caught = cli("log", "--verify", "--url", url)
    assert caught.returncode == 1, caught.stdout
    said = caught.stderr
    assert f"request {request_id}" in said and f"log line {revoked.id}" in said, said
    assert "remediation_requests.state is approved" in said and "expired" in said, said
    assert "Traceback" not in said


@pytest.fixture
def root_access(moto_server: SimulatedAws) -> Iterator[RootAccessStandIn]:
    stand_in = RootAccessStandIn.install(moto_server)
    stand_in.reset()
    yield stand_in
    stand_in.reset()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_rejected_remediation_set_back_to_approved_in_the_table_never_runs(
    backend: str,
    slack: SlackStandin,
    fresh: SlackStandin,
    aws: SimulatedAws,
    root_access: RootAccessStandIn,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Attack: an approver rejects a request to delete a root key; someone with the bot's
    database role sets its ``state`` to ``approved``. At its next start the bot runs the
    approved requests that never started: the rejected one is not among them (its last logged
    move is the rejection), so its key stays; a request really approved (and cut off by a kill
    before it started) runs, after it in the same pass. ``log --verify`` names the request."""
    url = bot_database(backend, tmp_path, request)
    org = aws.create_organization(members=["prod", "dev"])
    rejected_account, approved_account = (m.account_id for m in org.members)
    for account in (rejected_account, approved_account):
        aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(400))])
    env = bot_env(slack, aws.env(), ROOTKEY_SCOPE="org", ROOTKEY_REMEDIATION="assume-root")
    bot = Bot(env, url).start()
    try:
        rejected_id, ts = ask_for(bot, fresh, rejected_account, ALICE)
        click(bot, fresh, ActionId.REJECT.value, str(rejected_id), APPROVER, ts)
        wait_state(bot, rejected_id, State.REJECTED)
        rejection = [e for e in bot.store.log(rejected_id) if e.event == "transition"][-1]
        assert rejection.to_state == "rejected"

        # The control: approved, then the bot killed before the work started.
        approved_id, ts = ask_for(bot, fresh, approved_account, ALICE)
        root_access.hold("ListOrganizationsFeatures")
        click(bot, fresh, ActionId.APPROVE.value, str(approved_id), APPROVER, ts)
        wait_until(lambda: root_access.waiting("ListOrganizationsFeatures") >= 1)
        bot.kill()
        root_access.release("ListOrganizationsFeatures")
        assert bot.store.get(approved_id).state is State.APPROVED

        tables_set_state(url, rejected_id, State.APPROVED)
        bot.start()
        wait_state(bot, approved_id, State.VERIFIED, timeout=90)
    finally:
        root_access.release("ListOrganizationsFeatures")
        bot.stop()

    assert [account for account, _ in root_access.deleted()] == [approved_account]
    assert len(aws.state.root(rejected_account).keys) == 1, "the rejected key was deleted"
    assert bot.store.get(rejected_id).state is State.REJECTED
    moves = [e.to_state for e in bot.store.log(rejected_id) if e.event == "transition"]
    assert moves == ["requested", "rejected"], moves

    caught = cli("log", "--verify", "--url", url)
    assert caught.returncode == 1, caught.stdout
    said = caught.stderr
    assert f"request {rejected_id}" in said and f"log line {rejection.id}" in said, said
    assert "remediation_requests.state is approved" in said and "rejected" in said, said
    assert f"request {approved_id}" not in said, said


# -- why a request was made: its reason and ticket in the hashed line ---------------------------


def exported(url: str) -> list[dict[str, str]]:
    """``python -m bot log --format csv``, read as a spreadsheet would: one dict per line."""
    done = cli("log", "--format", "csv", "--url", url)
    assert done.returncode == 0, done.stderr
    return list(csv.DictReader(io.StringIO(done.stdout)))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_reason_and_ticket_of_a_request_are_in_its_logged_line(
    backend: str,
    slack: SlackStandin,
    fresh: SlackStandin,
    aws: SimulatedAws,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """An auditor reading the CSV export sees why a key was deleted: the request's reason and
    ticket, in the line of the request (and of its approval), hashed with it. Attack: with the
    bot's own database role, rewrite the reason and ticket in the requests table afterwards;
    the export keeps what was asked and ``log --verify`` names the request and the line."""
    url = bot_database(backend, tmp_path, request)
    bot = Bot(bot_env(slack, aws.env(), ROOTKEY_SCOPE="org"), url).start()
    try:
        request_id, ts = ask_for(
            bot, fresh, account_with_key(aws), ALICE, reason="unused since 2019",
            extra={"ticket": "SEC-1234"},
        )  # fmt: skip
        click(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
        wait_state(bot, request_id, State.TRACKING)
    finally:
        bot.stop()

    lines = [row for row in exported(url) if row["request_id"] == str(request_id)]
    asked = next(row for row in lines if row["to_state"] == "requested")
    assert (asked["reason"], asked["ticket"]) == ("unused since 2019", "SEC-1234"), asked
    approved = next(row for row in lines if row["to_state"] == "approved")
    assert (approved["reason"], approved["ticket"]) == ("unused since 2019", "SEC-1234")
    done = cli("log", "--verify", "--url", url)
    assert done.returncode == 0, done.stderr

    tables = create_engine(url)
    with tables.begin() as conn:
        conn.execute(
            text(
                "UPDATE remediation_requests SET reason = 'approved by the CISO', "
                "ticket_url = 'SEC-9999' WHERE id = :id"
            ),
            {"id": request_id},
        )
    tables.dispose()

    after = next(row for row in exported(url) if row["id"] == asked["id"])
    assert (after["reason"], after["ticket"]) == ("unused since 2019", "SEC-1234")
    caught = cli("log", "--verify", "--url", url)
    assert caught.returncode == 1, caught.stdout
    said = caught.stderr
    assert f"request {request_id}" in said and f"log line {approved['id']}" in said, said
    assert 'remediation_requests.reason is "approved by the CISO"' in said, said
    assert '"unused since 2019"' in said, said
    assert 'remediation_requests.ticket_url is "SEC-9999", the line "SEC-1234"' in said, said
    assert "Traceback" not in said


# -- who approved: the hashed approval lines, not the approvals table --------------------------


def tables_run(url: str, statement: str, **params: object) -> None:
    """One statement as the bot's own database role (SQLite: the bot's file)."""
    tables = create_engine(url)
    with tables.begin() as conn:
        conn.execute(text(statement), params)
    tables.dispose()


def approval_lines(bot: Bot, request_id: int) -> list[tuple[str, str]]:
    """(actor, detail) of each approval line of the request, oldest first."""
    return [(e.actor, e.detail) for e in bot.store.log(request_id) if e.event == "approval"]


def thread_says(slack: SlackStandin, words: str) -> str:
    """Wait for a message in the channel (or a thread of it) whose text holds ``words``."""
    return slack.wait_for(
        lambda: next(
            (t for m in slack.messages(CHANNEL) if words in (t := m.args.get("text") or "")), None
        )
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_approval_forged_in_the_approvals_table_does_not_count(
    backend: str,
    slack: SlackStandin,
    fresh: SlackStandin,
    aws: SimulatedAws,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Attack on the two-person rule (two approvals required): with the bot's own database
    role, insert a second approver's row in ``remediation_approvals``; then one approver
    approves. Only approvals with a hashed line count: the request waits for a second one,
    and ``log --verify`` names it. The approver whose approval was forged may still give it;
    the first approver, their row deleted from the table, may not approve twice."""
    url = bot_database(backend, tmp_path, request)
    env = bot_env(slack, aws.env(), ROOTKEY_SCOPE="org", ROOTKEY_REQUIRED_APPROVALS="2")
    bot = Bot(env, url).start()
    try:
        request_id, ts = ask_for(bot, fresh, account_with_key(aws), ALICE)
        tables_run(
            url,
            'INSERT INTO remediation_approvals (request_id, "user", at) VALUES (:id, :who, :at)',
            id=request_id, who=APPROVER_2, at=datetime.now(UTC),
        )  # fmt: skip

        click(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
        wait_until(lambda: approval_lines(bot, request_id), what="the approval logged")
        assert approval_lines(bot, request_id) == [(APPROVER, "approval 1 of 2")]
        thread_says(fresh, f"<@{APPROVER}> approved request #{request_id}; 1 more approval needed")
        waiting = bot.store.get(request_id)
        assert waiting.state is State.REQUESTED
        assert [a.user for a in waiting.approvals] == [APPROVER]

        caught = cli("log", "--verify", "--url", url)
        assert caught.returncode == 1, caught.stdout
        said = caught.stderr
        assert f"request {request_id}" in said and "recorded its approvals" in said, said
        assert f"remediation_approvals has {APPROVER}, {APPROVER_2}" in said, said
        assert f"the lines {APPROVER}" in said and "Traceback" not in said, said

        # The real approver's row taken out of the table: they still approved, once.
        tables_run(
            url,
            'DELETE FROM remediation_approvals WHERE request_id = :id AND "user" = :who',
            id=request_id, who=APPROVER,
        )  # fmt: skip
        answer = click_answer(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER, ts)
        assert f"You already approved request #{request_id}" in answer, answer
        assert bot.store.get(request_id).state is State.REQUESTED

        # The second approver, whose row was forged, approves for real: that is the second.
        click(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER_2, ts)
        wait_state(bot, request_id, State.TRACKING)
    finally:
        bot.stop()

    assert approval_lines(bot, request_id) == [
        (APPROVER, "approval 1 of 2"),
        (APPROVER_2, "approval 2 of 2"),
    ]
    caught = cli("log", "--verify", "--url", url)
    assert caught.returncode == 1, caught.stdout
    said = caught.stderr
    assert f"remediation_approvals has {APPROVER_2}, the lines {APPROVER}, {APPROVER_2}" in said


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_requester_renamed_in_the_table_still_cannot_approve_their_own_request(
    backend: str,
    slack: SlackStandin,
    fresh: SlackStandin,
    aws: SimulatedAws,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Attack: an approver asks for a remediation, then, with the bot's own database role,
    names someone else as its requester in ``remediation_requests`` and approves it. The
    requester is who the request's hashed line names: refused, no approval logged, and
    ``log --verify`` names the request."""
    url = bot_database(backend, tmp_path, request)
    bot = Bot(bot_env(slack, aws.env(), ROOTKEY_SCOPE="org"), url).start()
    try:
        request_id, ts = ask_for(bot, fresh, account_with_key(aws), APPROVER_2)
        tables_run(
            url,
            "UPDATE remediation_requests SET requester = :who WHERE id = :id",
            id=request_id, who=MALLORY,
        )  # fmt: skip
        answer = click_answer(bot, fresh, ActionId.APPROVE.value, str(request_id), APPROVER_2, ts)
        assert f"You asked for request #{request_id}, so you cannot approve it" in answer, answer
        assert bot.store.get(request_id).state is State.REQUESTED
        assert bot.store.get(request_id).requester == APPROVER_2
        assert approval_lines(bot, request_id) == []
    finally:
        bot.stop()

    caught = cli("log", "--verify", "--url", url)
    assert caught.returncode == 1, caught.stdout
    said = caught.stderr
    assert f"request {request_id}" in said, said
    assert f"remediation_requests.requester is {MALLORY}, the line {APPROVER_2}" in said, said
