"""Waiting for something the bot does in its own time, with a deadline (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from bot.remediation.models import Request
from bot.remediation.states import State
from bot.store.remediation import RemediationStore

T = TypeVar("T")


def wait_until(probe: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy and return that; fail after
    ``timeout`` seconds, naming ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met in {timeout} s")
        time.sleep(0.05)


def wait_state(
    store: RemediationStore,
    request_id: int,
    state: State,
    timeout: float = 30.0,
    logs: Callable[[], str] = lambda: "",
) -> Request:
    """The request once it is in ``state``; fail after ``timeout`` seconds with the state it
    is in (and ``logs()``, the bot's log so far)."""
    deadline = time.monotonic() + timeout
    while True:
        req = store.get(request_id)
        if req.state is state:
            return req
        if time.monotonic() > deadline:
            raise AssertionError(f"request #{request_id} is {req.state}, not {state}\n{logs()}")
        time.sleep(0.05)
