"""``ROOTKEY_OWNERS``: who owns each account, re-read when the file changes."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from bot.config import ConfigError
from bot.remediation.progress import parse_owners

log = logging.getLogger(__name__)


class Owners:
    """``ROOTKEY_OWNERS``: account id -> Slack user, re-read when the file changes."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self.lock = threading.Lock()
        self.stamp: float | None = None
        self.mapping: dict[str, str] = {}
        if self.path is not None:
            self.read()  # a broken file stops start-up with one line

    def read(self) -> dict[str, str]:
        assert self.path is not None
        try:
            stamp = self.path.stat().st_mtime
            if stamp != self.stamp:
                self.mapping = parse_owners(self.path.read_text(encoding="utf-8"))
                self.stamp = stamp
        except (OSError, ValueError) as exc:
            if self.stamp is None:
                raise ConfigError("ROOTKEY_OWNERS", f"could not read {self.path}: {exc}") from None
            log.error("ROOTKEY_OWNERS: %s; keeping the last good mapping", exc)
        return self.mapping

    def get(self, account_id: str) -> str | None:
        if self.path is None:
            return None
        with self.lock:
            return self.read().get(account_id)
