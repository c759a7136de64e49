"""A clock moved by hand (``bot.services.ports.Clock``): tests set the time, and every
``sleep_until`` waiting for a time now reached returns at once, so a test that moves the clock
past a digest slot sees the digest fire without waiting for real time to pass."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class ManualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        if self.at.tzinfo is None:
            raise ValueError("a ManualClock keeps UTC time: give an aware datetime")
        self.lock = threading.Lock()
        self.sleepers: set[threading.Event] = set()

    def now(self) -> datetime:
        with self.lock:
            return self.at

    def __call__(self) -> datetime:
        """The clock as a ``now`` callable (what services that take ``now=`` expect)."""
        return self.now()

    def set(self, when: datetime) -> None:
        """Move the clock to ``when`` (forward or back) and wake every sleeper to look."""
        with self.lock:
            self.at = when.astimezone(UTC)
            sleepers = list(self.sleepers)
        for wake in sleepers:
            wake.set()

    def advance(self, delta: timedelta | float) -> datetime:
        """Move the clock on by ``delta`` (seconds, or a timedelta); the new time."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self.lock:
            when = self.at + step
        self.set(when)
        return when

    def sleep_until(self, when: datetime | None, wake: threading.Event) -> bool:
        """Wait until the clock is moved to ``when`` or past it, or until ``wake`` is set. A
        move of the clock sets ``wake`` (the port's contract: a wake is a cue to look again)."""
        with self.lock:
            if when is not None and self.at >= when:
                return True
            self.sleepers.add(wake)
        try:
            wake.wait()
        finally:
            with self.lock:
                self.sleepers.discard(wake)
        with self.lock:
            return when is not None and self.at >= when
