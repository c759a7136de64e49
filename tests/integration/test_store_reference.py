"""The store's history questions against a straightforward count, on SQLite and PostgreSQL.

A seeded, irregular history (runs at odd hours, several a day, some days without any, each
run auditing a different subset of accounts, streaks broken by errors) is saved through the
store; every account's streaks and baseline statuses, and the day-by-day trend, must equal
what a plain walk over the same verdicts in Python says.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from bot.audit.models import AuditResult, Evidence, KeySlot, Status, Verdict
from bot.store import Store
from tests.support.database import BACKENDS, database

T0 = datetime(2026, 9, 20, 7, 0, tzinfo=UTC)
C, N, E = Status.COMPLIANT, Status.NONCOMPLIANT, Status.ERROR
ACCOUNTS = [f"{100000000000 + i:012d}" for i in range(14)]


@dataclass(frozen=True)
class Saved:
    run_id: int
    account_id: str
    status: Status
    checked_at: datetime


def verdict(account: str, status: Status, at: datetime) -> Verdict:
    return Verdict(
        account_id=account,
        status=status,
        reason=status.value,
        source="aws",
        keys=(KeySlot(slot=1, active=True, age_days=90),) if status is N else (),
        root_mfa_active=None if status is E else True,
        evidence=Evidence(errors=("AccessDenied",) if status is E else ()),
        checked_at=at,
    )


def random_history(store: Store, seed: int) -> list[Saved]:
    """About 40 runs over 30 days; each account moves compliant -> open -> fixed, with errors."""
    rng = random.Random(seed)
    state = {a: N if rng.random() < 0.3 else C for a in ACCOUNTS}
    saved: list[Saved] = []
    at = T0
    for _ in range(40):
        at += timedelta(hours=rng.choice([3, 7, 18, 24, 24, 31, 50]), minutes=rng.randrange(60))
        chosen = [a for a in ACCOUNTS if rng.random() < 0.8] or ACCOUNTS[:1]
        verdicts = []
        for offset, account in enumerate(chosen):
            roll = rng.random()
            if roll < 0.15:
                state[account] = N if state[account] is C else C
            shown = E if rng.random() < 0.12 else state[account]
            verdicts.append(verdict(account, shown, at + timedelta(seconds=offset)))
        result = AuditResult(
            verdicts=tuple(verdicts),
            scope="org",
            started_at=at,
            finished_at=at + timedelta(minutes=1),
        )
        run_id = store.save_run(result, "schedule")
        saved += [Saved(run_id, v.account_id, v.status, v.checked_at) for v in verdicts]
    return saved


def expected_state(history: list[Saved], current: Saved, baseline: datetime | None) -> tuple:
    """(first seen, last change, open since, baseline status, raw baseline status), by hand."""
    mine = sorted(
        (s for s in history if s.account_id == current.account_id),
        key=lambda s: s.checked_at,
    )
    mine = [s for s in mine if s.checked_at <= current.checked_at]
    last_change = mine[-1].checked_at
    for s in reversed(mine):
        if s.status is not current.status:
            break
        last_change = s.checked_at
    open_since = None
    if current.status is not C:
        for s in reversed(mine):
            if s.status is C:
                break
            if s.status is N:
                open_since = s.checked_at
    before = [s for s in mine if baseline is not None and s.checked_at <= baseline]
    known = [s for s in before if s.status is not E]
    return (
        mine[0].checked_at,
        last_change,
        open_since,
        known[-1].status if known else None,
        before[-1].status if before else None,
    )


def expected_trend(history: list[Saved], days: int, now: datetime, zone: tzinfo) -> list:
    today = now.astimezone(zone).date()
    out = []
    for back in range(days - 1, -1, -1):
        day: date = today - timedelta(days=back)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
        last: dict[str, Status] = {}
        for s in sorted(history, key=lambda s: s.checked_at):
            if s.checked_at < end and s.checked_at <= now:
                last[s.account_id] = s.status
        counts = [sum(1 for x in last.values() if x is status) for status in (C, N, E)]
        out.append((day, *counts))
    return out


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    with database(str(request.param), tmp_path_factory.mktemp("reference")) as url:
        opened = Store.open(url)
        yield opened
        opened.close()


@pytest.fixture(scope="module")
def history(store: Store) -> list[Saved]:
    return random_history(store, seed=16)


def test_streaks_and_baselines_equal_a_walk_over_each_accounts_verdicts(
    store: Store, history: list[Saved]
) -> None:
    runs = sorted({s.run_id for s in history})
    baselines = [None, T0, T0 + timedelta(days=6, hours=5), T0 + timedelta(days=21)]
    checked = 0
    for run_id in runs[5::6] + runs[-1:]:
        current = {s.account_id: s for s in history if s.run_id == run_id}
        for baseline in baselines:
            states = store.account_states(run_id=run_id, baseline=baseline)
            assert sorted(s.account_id for s in states) == sorted(current)
            for state in states:
                got = (
                    state.first_seen,
                    state.last_change,
                    state.open_since,
                    state.baseline_status,
                    state.baseline_raw_status,
                )
                want = expected_state(history, current[state.account_id], baseline)
                assert got == want, (run_id, baseline, state.account_id)
                checked += 1
    assert checked > 200
    # the history is varied enough to exercise every branch
    assert {s.status for s in history} == {C, N, E}


@pytest.mark.parametrize("zone", [UTC, ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Kolkata")])
@pytest.mark.parametrize("days", [30, 12])
def test_the_trend_equals_a_count_of_each_accounts_last_verdict_by_each_day_end(
    store: Store, history: list[Saved], zone: tzinfo, days: int
) -> None:
    now = max(s.checked_at for s in history) - timedelta(days=2, hours=3)
    trend = store.trend(days, now=now, zone=zone)
    got = [(t.day, t.compliant, t.noncompliant, t.error) for t in trend]
    assert got == expected_trend(history, days, now, zone)
    assert any(n for _, _, n, _ in got) and len({g[1:] for g in got}) > 3


def test_the_latest_verdicts_equal_each_accounts_newest(store: Store, history: list[Saved]) -> None:
    newest = {s.account_id: s for s in sorted(history, key=lambda s: s.checked_at)}
    baseline = T0 + timedelta(days=12)
    for state in store.account_states(baseline=baseline):
        current = newest[state.account_id]
        assert (state.status, state.checked_at) == (current.status, current.checked_at)
        want = expected_state(history, current, baseline)
        got = (
            state.first_seen,
            state.last_change,
            state.open_since,
            state.baseline_status,
            state.baseline_raw_status,
        )
        assert got == want
