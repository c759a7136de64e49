"""The demo's month of history: a believable story that agrees with the Organization today,
so the digest, the trend chart and /rootkey history show streaks from the first minute."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.audit.models import Status
from bot.demo.history import seed
from bot.demo.scenario import MEMBERS, MISSING_ROLE, ROOT_KEYS
from bot.services.digest import DigestService
from bot.store import Store

NOW = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
ACCOUNTS = [(f"{100000000000 + i}", name) for i, name in enumerate(MEMBERS)]
ID = {name: account for account, name in ACCOUNTS}


def test_a_month_of_daily_audits_that_ends_where_the_organization_is_today(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'rootkey.db'}"
    assert seed(url, ACCOUNTS, NOW) == 30
    store = Store.open(url)
    try:
        trend = store.trend(30, now=NOW)
        assert len(trend) == 30 and all(day.total == len(MEMBERS) for day in trend[:-1])
        assert len({day.noncompliant for day in trend}) > 1, "keys appear and get fixed"

        latest = {s.account_id: s for s in store.latest()}
        for account, name in ACCOUNTS:
            expected = (
                Status.ERROR
                if name == MISSING_ROLE
                else Status.NONCOMPLIANT
                if name in ROOT_KEYS
                else Status.COMPLIANT
            )
            assert latest[account].status is expected, name
        assert latest[ID["legacy-billing"]].days_open(NOW) == 29  # open all month

        staging = [e.status for e in reversed(store.history(ID["staging"]))]
        assert Status.NONCOMPLIANT in staging and staging[-1] is Status.COMPLIANT

        run = store.last_run()
        assert run is not None
        digest = DigestService(store, clock=lambda: NOW).build(run.id)
        assert {s.account_id for s in digest.still_open} == {ID[n] for n in ROOT_KEYS}
    finally:
        store.close()
