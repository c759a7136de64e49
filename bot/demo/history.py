"""Thirty days of audit history for the demo's Organization, saved before the bot starts, so
the digest, its trend chart and ``/rootkey history`` show real streaks from the first minute.

The story agrees with the accounts as the simulation lays them out today (``scenario``):

- legacy-billing and analytics have had their keys all month; marketing-site's key was
  deactivated ten days ago but never deleted (still noncompliant);
- dev-sandbox's key was created 30 days ago (compliant until then);
- prod-data had an old key that was deleted 18 days ago; staging got a key 25 days ago that was
  deleted 14 days ago (both compliant now);
- ml-research could never be audited (its audit role is missing);
- everything else has been compliant.

One scheduled audit a day at 09:00 UTC, the last one yesterday.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.audit.models import AuditResult, KeySlot, Status, Verdict
from bot.demo.scenario import MISSING_ROLE, NO_MFA, ROOT_KEYS
from bot.store import Store

DAYS = 30
FIXED_ON = {"prod-data": 18}  # days ago its key was deleted (it had one before)
APPEARED = {"dev-sandbox": 30, "staging": 25}  # days ago a key was created
GONE = {"staging": 14}  # days ago that key was deleted
DEACTIVATED = {"marketing-site": 10}  # days ago its key was deactivated


def keys_on(name: str, days_ago: int) -> tuple[KeySlot, ...]:
    """The root keys of ``name`` as an audit ``days_ago`` days before today saw them."""
    if name in FIXED_ON:
        return (KeySlot(1, True, age_days=1200 - days_ago),) if days_ago > FIXED_ON[name] else ()
    if name in GONE:
        alive = APPEARED[name] >= days_ago > GONE[name]
        return (KeySlot(1, True, age_days=APPEARED[name] - days_ago),) if alive else ()
    if name in APPEARED and days_ago > APPEARED[name]:
        return ()
    slots = []
    for key in ROOT_KEYS.get(name, ()):
        active = key.active or days_ago > DEACTIVATED.get(name, DAYS + 1)
        slots.append(KeySlot(key.slot, active, age_days=key.age - days_ago))
    return tuple(slots)


def verdict_of(account_id: str, name: str, days_ago: int, at: datetime) -> Verdict:
    if name == MISSING_ROLE:
        return Verdict(
            account_id, Status.ERROR, "could not audit: AssumeRole RootkeyAudit: AccessDenied",
            "aws", name, checked_at=at,
        )  # fmt: skip
    keys = keys_on(name, days_ago)
    mfa = name not in NO_MFA
    if not keys:
        return Verdict(
            account_id, Status.COMPLIANT, "no root access key", "aws", name,
            root_mfa_active=mfa, checked_at=at,
        )  # fmt: skip
    active = [k for k in keys if k.active]
    word = "active" if active else "deactivated; delete it to finish"
    reason = f"root access key {word}: key {keys[0].slot} is {keys[0].age_days} days old"
    return Verdict(
        account_id, Status.NONCOMPLIANT, reason, "aws", name, keys=keys,
        root_mfa_active=mfa, checked_at=at,
    )  # fmt: skip


def seed(database_url: str, accounts: Iterable[tuple[str, str]], now: datetime) -> int:
    """Save the month of daily audits of ``accounts`` ((account id, name) pairs); the number
    of runs saved."""
    accounts = list(accounts)
    today = now.replace(hour=9, minute=0, second=0, microsecond=0)
    if today >= now:
        today -= timedelta(days=1)
    store = Store.open(database_url)
    try:
        for days_ago in range(DAYS, 0, -1):
            at = today - timedelta(days=days_ago - 1)
            verdicts = tuple(verdict_of(i, n, days_ago, at) for i, n in accounts)
            result = AuditResult(verdicts=verdicts, scope="org", started_at=at, finished_at=at)
            store.save_run(result, "schedule")
    finally:
        store.close()
    return DAYS
