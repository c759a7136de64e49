"""Slow and idle clients against the real bot process: 200 connections that dribble a byte at a
time (or nothing) must not keep Slack's requests or the health check from being answered."""

from __future__ import annotations

import contextlib
import resource
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from simulator.aws import SimulatedAws
from simulator.slack import TEAM, SlackStandin
from tests.support.botproc import BotProcess, bot_env
from tests.support.signing import command_body, post_signed

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-test-token"
HELD = 200
DRIBBLE_EVERY = 10.0  # seconds between two bytes of a slow client


class SlowClients:
    """``count`` connections to ``port``: half dribble a request's headers a byte every
    ``DRIBBLE_EVERY`` seconds, half opened and idle."""

    def __init__(self, port: int, count: int, stop_after: float = 600.0) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            with contextlib.suppress(ConnectionRefusedError):  # a full backlog turns some away
                self.sockets.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        self.slow = self.sockets[::2]
        for sock in self.slow:
            with contextlib.suppress(OSError):  # the bot may have shed it already
                sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        self.done = threading.Event()
        self.stop_at = time.monotonic() + stop_after  # the dribbling ends by itself
        self.thread = threading.Thread(target=self.dribble, daemon=True)
        self.thread.start()

    def dribble(self) -> None:
        while not self.done.wait(DRIBBLE_EVERY) and time.monotonic() < self.stop_at:
            for sock in self.slow:
                with contextlib.suppress(OSError):
                    sock.sendall(b"x")

    def still_open(self) -> int:
        """How many are still open and unanswered (nothing to read, not closed)."""
        count = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                data = sock.recv(1)
            except BlockingIOError:
                count += 1
                continue
            except OSError:
                continue
            finally:
                sock.setblocking(True)
            del data  # an answer (a 503) or the end of the stream: not held
        return count

    def close(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


@pytest.fixture(scope="module")
def bot(moto_server: SimulatedAws) -> Iterator[BotProcess]:
    with SlackStandin(bot_token=BOT_TOKEN) as slack:
        env = bot_env(slack, None, moto_server.env(), ROOTKEY_SCOPE="account", SLACK_TEAM_ID=TEAM)
        with BotProcess(env) as process:
            yield process


def test_held_connections_do_not_stop_slack_requests_or_the_health_check(bot: BotProcess) -> None:
    held = SlowClients(bot.port, HELD)
    try:
        body = command_body("help", response_url="http://127.0.0.1:9/unused")
        ack = post_signed(bot.events_url, body)
        assert ack.status_code == 200
        assert "/rootkey check all" in str(ack.json()["blocks"])

        health = requests.get(f"{bot.base_url}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["ok"] is True

        # They were held, not turned away: none was answered or closed.
        assert held.still_open() == HELD
    finally:
        held.close()
    # and the bot still stops cleanly.
    assert bot.stop() == 0


MANY = 2000  # as many as the bot holds open (``MAX_OPEN_CONNECTIONS``)
HOLD_AT_MOST = 120.0  # seconds the dribbling goes on, whatever happens to the test


def enough_open_files(needed: int) -> None:
    """This process holds ``needed`` sockets: raise the soft limit of open files (up to the
    hard one), or skip saying why."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"ulimit -n allows {hard} open files here; the test needs {needed}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.fixture
def own_bot(moto_server: SimulatedAws) -> Iterator[BotProcess]:
    """A bot of the test's own (the module's bot is stopped by the test above)."""
    with SlackStandin(bot_token=BOT_TOKEN) as slack:
        env = bot_env(slack, None, moto_server.env(), ROOTKEY_SCOPE="account", SLACK_TEAM_ID=TEAM)
        with BotProcess(env) as process:
            yield process


def test_the_connection_limit_held_by_slow_clients_leaves_room_for_health_and_slack(
    own_bot: BotProcess,
) -> None:
    """2,000 connections (half dribbling headers, half idle) fill waitress's connection limit:
    the bot must still answer ``/healthz`` within 1 s (or the orchestrator restarts a healthy
    bot) and ack a signed ``/rootkey help`` within Slack's 3 s."""
    enough_open_files(MANY + 256)
    held = SlowClients(own_bot.port, MANY, stop_after=HOLD_AT_MOST)
    try:
        started = time.monotonic()
        health = requests.get(f"{own_bot.base_url}/healthz", timeout=10)
        took = time.monotonic() - started
        assert health.status_code == 200 and health.json()["ok"] is True
        assert took < 1.0, f"/healthz took {took:.2f} s"

        started = time.monotonic()
        body = command_body("help", response_url="http://127.0.0.1:9/unused")
        ack = post_signed(own_bot.events_url, body)
        took = time.monotonic() - started
        assert ack.status_code == 200
        assert "/rootkey check all" in str(ack.json()["blocks"])
        assert took < 3.0, f"the help took {took:.2f} s"
    finally:
        held.close()
