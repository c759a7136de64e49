"""Which connections the HTTP server closes to keep room (``bot.slack.connections.Shedder``),
with the loop's clock injected: channels stand in for waitress's ``HTTPChannel`` with the
attributes the shedder reads (``requests``, ``request``, ``total_outbufs_len``, ``will_close``,
``creation_time``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.slack.connections import HEADROOM, READ_TIMEOUT, SHED_EVERY, Shedder


@dataclass
class Channel:
    creation_time: float
    request: object | None = None  # a request being read
    requests: list[object] = field(default_factory=list)  # requests being handled
    total_outbufs_len: int = 0
    will_close: bool = False
    closed: bool = False

    def handle_close(self) -> None:
        self.closed = True


@dataclass
class Server:
    active_channels: dict[int, Any]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_request_still_being_read_after_the_read_timeout_is_dropped() -> None:
    clock = Clock()
    slow = Channel(creation_time=1.0, request=object())
    served = Channel(creation_time=2.0, request=object(), requests=[object()])
    server = Server({1: slow, 2: served})
    shed = Shedder(server, limit=2000, clock=clock)
    shed()
    clock.now += READ_TIMEOUT - 1  # still within its time, though it trickles on
    shed()
    assert not slow.closed
    clock.now += 2
    shed()
    assert slow.closed
    assert not served.closed  # a request being handled is never cut


def test_a_new_request_on_the_same_connection_gets_its_own_time() -> None:
    clock = Clock()
    channel = Channel(creation_time=1.0, request=object())
    shed = Shedder(Server({1: channel}), limit=2000, clock=clock)
    shed()
    clock.now += READ_TIMEOUT - 1
    channel.request = object()  # the first request was read whole; the next one begins
    shed()
    clock.now += READ_TIMEOUT - 1
    shed()
    assert not channel.closed


def test_near_the_limit_the_oldest_unserved_connections_make_room() -> None:
    clock = Clock()
    limit = HEADROOM * 4
    channels = {fd: Channel(creation_time=float(fd)) for fd in range(limit)}
    channels[0].requests = [object()]  # the oldest, but being served
    shed = Shedder(Server(channels), limit=limit, clock=clock)
    clock.now += SHED_EVERY
    shed()
    closed = sorted(fd for fd, c in channels.items() if c.closed)
    assert closed == list(range(1, HEADROOM + 1))  # the oldest unserved ones, and no more
