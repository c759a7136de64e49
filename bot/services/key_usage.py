"""What used an account's root keys, for the people about to delete them.

``KeyUsageLookup(reader, known)`` asks CloudTrail (through ``reader``, the audit role's
``LookupEvents``) for the root user's calls signed by a long-term key in the last 90 days, in
the keys' last-used regions (from the audit's verdict) and us-east-1, and lists the key ids
alerts have seen even when unused. It never raises: a failure is a report that says what it
could not read, so the request form and the request are never held up by it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.audit.models import Verdict
from bot.events.usage import DAYS, UsageReport, regions_to_read

log = logging.getLogger(__name__)


class UsageReader(Protocol):
    def read(
        self,
        account_id: str,
        *,
        last_used_regions: Sequence[str | None] = (),
        known_keys: Sequence[str] = (),
    ) -> UsageReport: ...


class KeyUsageLookup:
    def __init__(
        self,
        reader: UsageReader,
        known: Callable[[str, datetime], list[str]] = lambda _account, _since: [],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reader = reader
        self.known = known
        self.now = now

    def __call__(self, verdict: Verdict) -> UsageReport:
        """For the request form: the keys' last-used regions come from the fresh audit."""
        return self.account(verdict.account_id, [k.last_used_region for k in verdict.keys])

    def account(self, account_id: str, regions: Sequence[str | None] = ()) -> UsageReport:
        try:
            known = self.known(account_id, self.now() - timedelta(days=DAYS))
        except Exception as exc:  # the store: the lookup goes on without alert key ids
            log.warning("key usage: known keys of %s not read: %s", account_id, exc)
            known = []
        try:
            return self.reader.read(account_id, last_used_regions=regions, known_keys=known)
        except Exception as exc:  # never hold up the form: say it could not be read
            log.warning("key usage of %s not read: %s", account_id, exc)
            return UsageReport(
                account_id,
                regions_to_read(*regions),
                problems=(f"CloudTrail could not be read ({type(exc).__name__})",),
            )
