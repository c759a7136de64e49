"""Real time, for the bot (``bot.services.ports.Clock``); tests move a
``simulator.clock.ManualClock`` by hand instead."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

LONGEST_WAIT = 60.0  # seconds: the wall clock is looked at again at least this often


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, when: datetime | None, wake: threading.Event) -> bool:
        """Wait until ``when`` by the wall clock (for ever when None) or until ``wake`` is set;
        True when the time came. Waits are cut into pieces of at most ``LONGEST_WAIT``, so a
        wall clock set forward or back (NTP) is followed."""
        while True:
            if when is None:
                if wake.wait(LONGEST_WAIT):
                    return False
                continue
            left = (when - self.now()).total_seconds()
            if left <= 0:
                return True
            if wake.wait(min(left, LONGEST_WAIT)):
                return False
