"""What used an account's root keys, for the people about to delete them.

``KeyUsageLookup(reader, known)`` asks CloudTrail (through ``reader``, the audit role's
``LookupEvents``) for the root user's calls signed by a long-term key in the last 90 days, in
the keys' last-used regions (from the audit's verdict) and us-east-1, and lists the key ids
alerts have seen even when unused. It never raises: a failure is a report that says what it
could not read, so the request form and the request are never held up by it.

The credential report's last-used dates (the verdict's, or the latest audit's for a request
shown by another replica) within the 90 days are held against what the lookup found: a use no
recorded call matches (a data event, a region not read, a call older than the events read) is
in the report's ``unseen``, so the form never says "no recorded use" against the report.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.audit.models import KeySlot, Verdict
from bot.events.usage import DAYS, ReportedUse, UsageReport, not_found, regions_to_read
from bot.services.ports import UsageReader

log = logging.getLogger(__name__)


class KeyUsageLookup:
    def __init__(
        self,
        reader: UsageReader,
        known: Callable[[str, datetime], list[str]] = lambda _account, _since: [],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        latest: Callable[[str], Sequence[KeySlot]] = lambda _account: (),
    ) -> None:
        self.reader = reader
        self.known = known
        self.now = now
        self.latest = latest  # the latest audit's key slots of an account

    def __call__(self, verdict: Verdict) -> UsageReport:
        """For the request form: the keys' last-used regions and dates from the fresh audit."""
        return self.lookup(verdict.account_id, verdict.keys)

    def account(self, account_id: str) -> UsageReport:
        """For a request's thread when its form's lookup is not at hand: the latest audit's."""
        try:
            slots = tuple(self.latest(account_id))
        except Exception as exc:  # the store: the lookup goes on without the report's view
            log.warning("key usage: latest audit of %s not read: %s", account_id, exc)
            slots = ()
        return self.lookup(account_id, slots)

    def lookup(self, account_id: str, slots: Sequence[KeySlot]) -> UsageReport:
        since = self.now() - timedelta(days=DAYS)
        regions = [k.last_used_region for k in slots]
        try:
            known = self.known(account_id, since)
        except Exception as exc:  # the store: the lookup goes on without alert key ids
            log.warning("key usage: known keys of %s not read: %s", account_id, exc)
            known = []
        try:
            found = self.reader.read(account_id, last_used_regions=regions, known_keys=known)
        except Exception as exc:  # never hold up the form: say it could not be read
            log.warning("key usage of %s not read: %s", account_id, exc)
            found = UsageReport(
                account_id,
                regions_to_read(*regions),
                problems=(f"CloudTrail could not be read ({type(exc).__name__})",),
            )
        uses = [
            ReportedUse(k.slot, k.last_used_date, k.last_used_service, k.last_used_region)
            for k in slots
            if k.last_used_date is not None and k.last_used_date >= since
        ]
        return dataclasses.replace(found, unseen=not_found(found.keys, uses))
