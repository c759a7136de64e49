"""How many calls of one AWS API are in flight: found at run time, per API (AIMD).

A ``Gate`` starts low and grows while calls succeed and their latency holds: by one per success
until the first sign of trouble (doubling each round trip, as TCP's slow start), then by one per
round of ``limit`` successes. A throttling answer halves it, at most once per round trip (a
burst of throttled answers is one signal). ``ceiling`` (``ROOTKEY_CONCURRENCY``) is never
passed; ``1`` is the floor.

``Pacer.call`` runs one call through its API's gate. A throttled call is tried again, after a
pause, while other calls of the same quota have succeeded since it started (the API is rate
limited, not shut) and its account's time limit allows; an API that answers nothing but
throttling fails as before, after botocore's own attempts. The clock and sleep are injected.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from bot.aws.errors import AwsReadError
from bot.aws.iam import AWS_CALL_ERRORS, THROTTLING_CODES, Deadline, error_code

T = TypeVar("T")

START = 16  # calls in flight per API before anything is known
SLOW_LATENCY = 2.0  # a call this many times slower than the fastest seen: do not grow
MAX_PAUSE = 5.0  # seconds, before a throttled call is tried again


class Gate:
    """The concurrency of one API: ``acquire`` before a call, ``release`` after it."""

    def __init__(
        self,
        name: str,
        ceiling: int,
        start: int = START,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.ceiling = max(1, ceiling)
        self.limit = float(min(self.ceiling, max(1, start)))
        self.clock = clock
        self.cond = threading.Condition()
        self.in_flight = 0
        self.slow_start = True
        self.fastest: float | None = None
        self.cut_at = -1e9
        self.successes = 0
        self.throttles = 0
        self.peak = int(self.limit)

    def acquire(self) -> float:
        with self.cond:
            while self.in_flight >= int(self.limit):
                self.cond.wait()
            self.in_flight += 1
            return self.clock()

    def release(self, started: float, throttled: bool = False) -> None:
        now = self.clock()
        with self.cond:
            self.in_flight -= 1
            took = now - started
            if throttled:
                self.throttled_at(now, took)
            else:
                self.successes += 1
                self.fastest = took if self.fastest is None else min(self.fastest, took)
                if took <= SLOW_LATENCY * self.fastest + 0.05:
                    step = 1.0 if self.slow_start else 1.0 / self.limit
                    self.limit = min(float(self.ceiling), self.limit + step)
                    self.peak = max(self.peak, int(self.limit))
                else:
                    self.slow_start = False  # latency no longer holds: grow gently
            self.cond.notify_all()

    def throttled_at(self, now: float, took: float) -> None:
        """Halve the limit, once per round trip (lock held)."""
        self.throttles += 1
        self.slow_start = False
        if now - self.cut_at >= max(took, self.fastest or 0.0):
            self.limit = max(1.0, self.limit / 2)
            self.cut_at = now

    def throttled(self) -> None:
        """A throttling answer that botocore retries by itself (seen through its events)."""
        now = self.clock()
        with self.cond:
            self.throttled_at(now, 0.0)


class Pacer:
    """One ``Gate`` per API name, all under the same ceiling."""

    def __init__(
        self,
        ceiling: int,
        start: int = START,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ceiling = ceiling
        self.start = start
        self.clock = clock
        self.sleep = sleep
        self.lock = threading.Lock()
        self.gates: dict[str, Gate] = {}

    def gate(self, api: str) -> Gate:
        with self.lock:
            gate = self.gates.get(api)
            if gate is None:
                gate = self.gates[api] = Gate(api, self.ceiling, self.start, self.clock)
            return gate

    def call(
        self,
        api: str,
        fn: Callable[[], T],
        *,
        shared_quota: bool = True,
        deadline: Deadline | None = None,
    ) -> T:
        """``fn()`` through the gate of ``api``. ``shared_quota``: the API's rate is shared by
        all the calls of this audit (STS and Organizations in the bot's account), so a throttled
        call is retried while the others get through; a member account's IAM has its own."""
        gate = self.gate(api)
        pause = 0.25
        while True:
            seen = gate.successes
            started = gate.acquire()
            try:
                result = fn()
            except (*AWS_CALL_ERRORS, AwsReadError) as exc:
                code = exc.code if isinstance(exc, AwsReadError) else error_code(exc)
                throttled = code in THROTTLING_CODES
                gate.release(started, throttled=throttled)
                if not (throttled and shared_quota and gate.successes > seen):
                    raise
                wait = random.uniform(pause / 2, pause)
                if deadline is not None and deadline.remaining() <= wait:
                    raise
                self.sleep(wait)
                pause = min(pause * 2, MAX_PAUSE)
                continue
            except BaseException:
                gate.release(started)
                raise
            gate.release(started)
            return result

    def summary(self) -> dict[str, int]:
        """The highest concurrency each API reached, for the benchmark's figures."""
        with self.lock:
            return {name: gate.peak for name, gate in self.gates.items()}
