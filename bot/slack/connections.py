"""Connections nobody is served on make room: slow or idle clients never lock out the rest.

waitress holds every connection in one event loop and stops accepting at its connection limit;
2,000 clients that connect and then send nothing, or a header byte every few seconds (each byte
counts as activity, so waitress's idle timeout never closes them), would keep the health check
and Slack out for good. ``Shedder`` runs in the loop between two polls and closes connections on
which no request is being handled (never one whose request runs or whose answer is being sent):

- a request still being read ``READ_TIMEOUT`` seconds after its first byte (Slack sends a
  request whole in milliseconds; a proxy in front buffers it);
- the oldest such connections whenever fewer than ``HEADROOM`` places are left below the limit,
  so a new connection (``/healthz``, a signed Slack request) is always accepted.

Idle connections are closed by waitress itself after ``channel_timeout`` (checked every
``cleanup_interval``). The limit itself follows the process's open-files limit
(``connection_limit``), and ``accept_many`` takes every connection waiting in the listen
backlog at each turn (waitress takes one), so a burst of connections does not fill the backlog
and turn the next ones away.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

READ_TIMEOUT = 20.0  # seconds to send one request whole, from its first byte
SHED_EVERY = 0.25  # seconds between two looks at every connection
ACCEPT_AT_ONCE = 256  # connections taken from the backlog in one turn, at most
HEADROOM = 64  # places always kept free below the connection limit for new connections
FILES_RESERVED = 128  # open files kept for the database, Slack, AWS, logs


def connection_limit(wanted: int) -> int:
    """``wanted``, or fewer when the open-files limit cannot hold that many connections (the
    soft limit is raised to the hard one first: an accept failing with EMFILE answers nobody)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted + FILES_RESERVED
    if soft != resource.RLIM_INFINITY and soft < target:
        raised = target if hard == resource.RLIM_INFINITY else min(target, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit (%s)", exc)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return wanted
    limit = max(HEADROOM * 2, soft - FILES_RESERVED)
    log.warning("ulimit -n is %d: at most %d connections held open at once", soft, limit)
    return limit


class Shedder:
    """Call once per turn of waitress's loop (in the loop's thread)."""

    def __init__(
        self, server: Any, limit: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.server = server  # a waitress server: ``active_channels`` by file descriptor
        self.limit = limit
        self.clock = clock
        self.reading: dict[int, tuple[int, float]] = {}  # fd -> (id of the request, seen at)
        self.next_look = 0.0

    def __call__(self) -> None:
        now = self.clock()
        if now < self.next_look and len(self.server.active_channels) < self.limit - HEADROOM:
            return
        self.next_look = now + SHED_EVERY
        idle = []  # (opened at, fd, channel): no request handled on it
        reading: dict[int, tuple[int, float]] = {}
        for fd, channel in list(self.server.active_channels.items()):
            if channel.requests or channel.total_outbufs_len or channel.will_close:
                continue  # being served, answering, or closing already
            partial = channel.request
            if partial is not None:
                known = self.reading.get(fd)
                since = known[1] if known and known[0] == id(partial) else now
                if now - since > READ_TIMEOUT:
                    self.close(channel, "a request not sent whole in time")
                    continue
                reading[fd] = (id(partial), since)
            idle.append((channel.creation_time, fd, channel))
        self.reading = reading
        excess = len(self.server.active_channels) - (self.limit - HEADROOM)
        if excess > 0:
            idle.sort(key=lambda item: item[0])
            for _opened, _fd, channel in idle[:excess]:
                self.close(channel, "room for new connections")

    def close(self, channel: Any, why: str) -> None:
        log.debug("closed a connection: %s", why)
        channel.handle_close()


def accept_many(server: Any) -> None:
    """Make ``server`` (waitress) take every waiting connection when its socket is ready, up
    to ``ACCEPT_AT_ONCE`` and never past its connection limit."""
    accept_one = server.handle_accept

    def handle_accept() -> None:
        for _ in range(ACCEPT_AT_ONCE):
            before = len(server._map)
            accept_one()
            if len(server._map) == before or before + 1 >= server.adj.connection_limit:
                return  # nothing was waiting, or the limit is reached

    server.handle_accept = handle_accept
