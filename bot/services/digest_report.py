"""The digest as plain data (``Digest``), and its CSV: what ``DigestService`` builds from the
store and hands to its notifier (``DigestNotifier``), which words and posts it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from bot.audit.models import Status, iso
from bot.records.history import AccountState, RunInfo, TrendDay
from bot.remediation.chain import Anchor
from bot.rules import csv_cell
from bot.services.org_state import Counts
from bot.services.ports import OpenRequestView

# -- what the remediation part supplies ----------------------------------------------------


# -- the digest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Excepted:
    state: AccountState
    owner: str
    reason: str
    expires_at: datetime


@dataclass(frozen=True)
class Digest:
    run: RunInfo  # the audit the digest was built after (its time is shown)
    generated_at: datetime
    zone: tzinfo
    baseline: datetime  # changes are counted from here
    baseline_run_id: int | None  # the run of the previous digest, None when there was none
    # Every account of the Organization now, each by its latest verdict (``org_state``).
    states: tuple[AccountState, ...]
    new_noncompliant: tuple[AccountState, ...]
    fixed: tuple[AccountState, ...]
    still_open: tuple[AccountState, ...]  # oldest open streak first; excepted ones are apart
    errors: tuple[AccountState, ...]
    new_errors: tuple[AccountState, ...]
    excepted: tuple[Excepted, ...] = ()
    open_requests: tuple[OpenRequestView, ...] = ()
    trend: tuple[TrendDay, ...] = ()
    slot_time: datetime | None = None  # the schedule slot it was posted for, None when asked
    # The audit changes are counted against: the previous digest's, else the look-back's
    # (None when this is the first audit of its scope).
    baseline_audit_id: int | None = None
    # The remediation log's head as the digest was built: posted, it is kept outside the
    # database (``python -m bot log --verify --anchor``).
    log_head: Anchor | None = None
    # The database's SQLite file as a URL (``Store.file_url``), so the suggested
    # ``log --verify`` names it and works from any directory; None for a server database.
    log_database: str | None = None
    # The Organization's numbers (``bot.services.org_state.counts``): every figure shown.
    counts: Counts = field(default_factory=Counts)

    @property
    def total(self) -> int:
        return self.counts.total

    @property
    def compliant(self) -> int:
        return self.counts.compliant

    @property
    def noncompliant(self) -> int:
        """Accounts with a root key, accepted risks not included (they are counted apart)."""
        return self.counts.noncompliant

    @property
    def percent_compliant(self) -> float:
        return self.counts.share

    @property
    def all_clear(self) -> bool:
        """Every audited account compliant: nothing open, nothing we could not look at."""
        c = self.counts
        return c.total > 0 and c.total == c.compliant

    def days_open(self, state: AccountState) -> int | None:
        return state.days_open(self.generated_at)

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.zone)

    @property
    def first_digest(self) -> bool:
        return self.baseline_run_id is None


@dataclass(frozen=True)
class Published:
    run_id: int | None  # None when the audit could not run at all (the message says so)
    channel: str
    ts: str | None
    baseline_run_id: int | None
    all_clear: bool


# -- the CSV -------------------------------------------------------------------------------

CSV_COLUMNS = (
    "account_id",
    "account_name",
    "status",
    "new_since_last_digest",
    "open_since",
    "days_open",
    "last_change",
    "first_seen",
    "keys_present",
    "keys_active",
    "root_mfa_active",
    "excepted_until",
    "reason",
    "checked_at",
)


def digest_csv(digest: Digest) -> str:
    """Every account of the digest, worst first (open oldest first, errors, excepted, fixed)."""
    excepted = {e.state.account_id: e for e in digest.excepted}
    new = {s.account_id for s in digest.new_noncompliant}
    order = {s.account_id: i for i, s in enumerate(digest.still_open)}
    rank = {Status.NONCOMPLIANT: 0, Status.ERROR: 2, Status.COMPLIANT: 3}

    def key(state: AccountState) -> tuple[int, int, str]:
        group = 1 if state.account_id in excepted else rank[state.status]
        return group, order.get(state.account_id, 0), state.account_id

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    for s in sorted(digest.states, key=key):
        exc = excepted.get(s.account_id)
        writer.writerow(
            [
                csv_cell(s.account_id),
                csv_cell(s.account_name),
                csv_cell("excepted" if exc else s.status.value),
                "yes" if s.account_id in new else "",
                iso(s.open_since) or "",
                "" if s.open_since is None else digest.days_open(s),
                iso(s.last_change),
                iso(s.first_seen),
                len(s.keys),
                sum(1 for k in s.keys if k.active),
                "" if s.root_mfa_active is None else str(s.root_mfa_active).lower(),
                iso(exc.expires_at) if exc else "",
                csv_cell(s.reason),
                iso(s.checked_at),
            ]
        )
    return out.getvalue()
