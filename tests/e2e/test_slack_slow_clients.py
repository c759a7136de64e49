"""Slow and idle clients against the real bot process: 200 connections that dribble a byte at a
time (or nothing) must not keep Slack's requests or the health check from being answered."""

from __future__ import annotations

import contextlib
import socket
import threading
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

    def __init__(self, port: int, count: int) -> None:
        self.sockets = [
            socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)
        ]
        self.slow = self.sockets[::2]
        for sock in self.slow:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.dribble, daemon=True)
        self.thread.start()

    def dribble(self) -> None:
        while not self.done.wait(DRIBBLE_EVERY):
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
