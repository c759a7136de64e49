"""Ack first, always: with the database answering slowly (another connection holds a lock on
it), every command, click and form submission is still acknowledged before Slack gives up
(3 s), and the work is then done, or the user is told the database is not available.

SQLite: another connection holds an open write transaction on the bot's file. PostgreSQL (the
shared test server, ``ROOTKEY_TEST_POSTGRES_URL``): another connection holds every table of
the bot's database in ACCESS EXCLUSIVE mode, so even a read waits for it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import make_url

from bot.slack.action_ids import ActionId
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from simulator.slack.workspace import TRIGGER_TTL
from tests.reliability.harness import (
    ALICE,
    CHANNEL,
    SIGNING_SECRET,
    Bot,
    bot_env,
    command,
    filled_form,
    view_payload,
    wait_until,
)
from tests.support.database import database
from tests.support.signing import actions_body, command_body, post_signed

pytestmark = pytest.mark.slow

SLACK_GIVES_UP = 3.0  # seconds: Slack's own limit for an ack, never a tighter one
LOCK_AT_MOST = 60.0  # the holder lets go by itself after this, should the test die
NOT_AVAILABLE = "database not available"


@contextlib.contextmanager
def database_held(url: str) -> Iterator[None]:
    """Another connection holds a lock on the bot's database until the block ends."""
    locked, release = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def hold() -> None:
        try:
            if url.startswith("sqlite"):
                conn: Any = sqlite3.connect(
                    make_url(url).database or "", timeout=30, isolation_level=None
                )
                conn.execute("BEGIN IMMEDIATE")  # the write lock, held open
                conn.execute("CREATE TABLE IF NOT EXISTS held_by_test (x INTEGER)")
            else:
                import psycopg

                conn = psycopg.connect(
                    make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
                )
                tables = [
                    r[0]
                    for r in conn.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    ).fetchall()
                ]
                assert tables, "the bot made no tables"
                names = ", ".join(f'"{t}"' for t in tables)
                conn.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(LOCK_AT_MOST)
            conn.rollback() if not url.startswith("sqlite") else conn.execute("ROLLBACK")
            conn.close()
        except BaseException as exc:  # reported by the test, not lost in the thread
            failed.append(exc)
            locked.set()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(30)
    assert not failed, failed
    try:
        yield
    finally:
        release.set()
        holder.join(30)
    assert not failed, failed


@pytest.fixture(params=["sqlite", "postgresql"])
def held_bot(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    slack: SlackStandin,
    moto_server: SimulatedAws,
) -> Iterator[Bot]:
    with database(request.param, tmp_path) as url:
        bot = Bot(bot_env(slack, moto_server.env(), ROOTKEY_SCOPE="org"), url).start()
        try:
            yield bot
        finally:
            bot.stop()


def results(slack: SlackStandin) -> list[Any]:
    return [m for m in slack.messages(CHANNEL) if not m.thread_ts]


def button_value(message: Any, action: ActionId) -> str:
    for block in message.args["blocks"]:
        for element in block.get("elements") or []:
            if element.get("action_id") == action.value:
                return str(element["value"])
    raise AssertionError(f"no {action.value} button")


def acked(post: Callable[[float], requests.Response]) -> requests.Response:
    """The request's answer, which must come before Slack would give up waiting for it."""
    try:
        reply = post(SLACK_GIVES_UP)
    except requests.Timeout:
        pytest.fail(f"not acknowledged within Slack's {SLACK_GIVES_UP:.0f} s")
    assert reply.status_code == 200, reply.text
    return reply


def answer(slack: SlackStandin, ack: requests.Response, url: str) -> dict[str, Any]:
    """What the user reads: the ack's own message, else the one sent to ``response_url``."""
    if ack.text:
        return dict(ack.json())
    return slack.answer_to(url, timeout=60)


def test_a_locked_database_delays_no_ack(
    held_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    bot, slack = held_bot, fresh
    org = aws.create_organization(members=["prod", "dev"])
    account = org.members[0].account_id
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(90))])
    assert command(bot, slack, "check all").status_code == 200
    [result] = slack.wait_for(lambda: results(slack))
    rerun = button_value(result, ActionId.RERUN)
    updates = len(slack.calls("views.update"))
    reply = post_signed(
        bot.url,
        actions_body(
            ActionId.REQUEST_REMEDIATION.value,
            f"{account}:",
            response_url=slack.response_url(),
            user=ALICE,
            trigger_id=slack.workspace.new_trigger(ALICE),
        ),
        SIGNING_SECRET,
    )
    assert reply.status_code == 200
    form = filled_form(slack, account, after=updates)

    urls = {name: slack.response_url() for name in ("history", "status", "check", "rerun")}

    def slash(text: str, url: str) -> Callable[[float], requests.Response]:
        body = command_body(text, response_url=url, user=ALICE)
        return lambda limit: post_signed(bot.url, body, SIGNING_SECRET, timeout=limit)

    def press(action: ActionId, value: str, url: str) -> Callable[[float], requests.Response]:
        trigger = slack.workspace.new_trigger(ALICE)  # as Slack issues it: it expires
        body = actions_body(action.value, value, response_url=url, user=ALICE, trigger_id=trigger)
        return lambda limit: post_signed(bot.url, body, SIGNING_SECRET, timeout=limit)

    submission = view_payload(form, ALICE, {"reason": "unused since 2019", "ticket": None})

    with database_held(bot.database_url):
        history_ack = acked(slash(f"history {account}", urls["history"]))
        status_ack = acked(slash("status", urls["status"]))
        acked(slash("help", slack.response_url()))
        acked(slash("check all", urls["check"]))
        acked(press(ActionId.RERUN, rerun, urls["rerun"]))
        acked(press(ActionId.REQUEST_REMEDIATION, f"{account}:", slack.response_url()))
        form_ack = acked(
            lambda limit: post_signed(bot.url, submission, SIGNING_SECRET, timeout=limit)
        )

    # Then the work is done, or the user is told the database was not available.
    history = answer(slack, history_ack, urls["history"])
    assert f"History of {account}" in history["text"] or NOT_AVAILABLE in history["text"], history
    status = answer(slack, status_ack, urls["status"])
    assert "Open remediation requests" in json.dumps(status) or NOT_AVAILABLE in status["text"]
    if not bot.database_url.startswith("sqlite"):
        # Every table was locked until after this answer, so the form could not be checked.
        assert form_ack.text, "the form was accepted without its checks"
    if form_ack.text:
        errors = form_ack.json()
        assert errors["response_action"] == "errors", errors
        assert NOT_AVAILABLE in json.dumps(errors["errors"]), errors
    else:  # accepted: the request is posted in the finding's thread
        slack.wait_for(
            lambda: any(
                b.get("block_id", "").startswith("rootkey_request:")
                for m in slack.messages(CHANNEL)
                for b in m.args["blocks"]
            ),
            timeout=60,
        )
    # The check and the re-run (one audit of the same scope, or two) are posted.
    slack.wait_for(lambda: len(results(slack)) >= 2, timeout=90)
    assert "Traceback" not in bot.logs


def test_a_form_opens_while_the_database_is_slow(
    held_bot: Bot, fresh: SlackStandin, aws: SimulatedAws
) -> None:
    """Slack lets a click's ``trigger_id`` open a modal for 3 s. With the database slow (held
    until the form opens, or 2 s past the trigger's life), "Request remediation" opens its
    form at once, in its loading state, and fills it once the database answers: nothing the
    listener does before ``views.open`` waits on the database."""
    bot, slack = held_bot, fresh
    org = aws.create_organization(members=["prod"])
    account = org.members[0].account_id
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(90))])
    trigger = slack.workspace.new_trigger(ALICE)  # as Slack issues it: it expires
    updates = len(slack.calls("views.update"))
    body = actions_body(
        ActionId.REQUEST_REMEDIATION.value,
        f"{account}:",
        response_url=slack.response_url(),
        user=ALICE,
        trigger_id=trigger,
    )

    def tried() -> list[Any]:
        return [c for c in slack.attempts("views.open") if c.args.get("trigger_id") == trigger]

    with database_held(bot.database_url):
        acked(lambda limit: post_signed(bot.url, body, SIGNING_SECRET, timeout=limit))
        with contextlib.suppress(AssertionError):  # the database lets go by itself, then
            wait_until(tried, timeout=TRIGGER_TTL + 2.0, what="views.open")
    [opened] = wait_until(tried, what="views.open after the database answered")
    assert opened.ok, f"views.open: {opened.error}"
    assert "Auditing" in json.dumps(opened.args["view"])  # the loading state
    filled_form(slack, account, after=updates)  # then filled, the database answering
