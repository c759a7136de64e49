"""Who belongs to the Organization now (``Store.current_states``), on SQLite and PostgreSQL:
the latest Organization-wide audit's accounts plus those named audits saw after it, each by its
latest verdict from any audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.audit.models import AuditResult, Evidence, KeySlot, Status, Verdict
from bot.store import Store
from tests.support.database import BACKENDS, database, wipe

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
C, N, E = Status.COMPLIANT, Status.NONCOMPLIANT, Status.ERROR
A, B, D, X = "111111111111", "222222222222", "333333333333", "999999999999"


@pytest.fixture(scope="module", params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(str(request.param), tmp_path_factory.mktemp("members")) as db_url:
        yield db_url


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = Store.open(url)
    wipe(opened.engine)
    yield opened
    opened.close()


def save(store: Store, minutes: int, scope: str, statuses: dict[str, Status], took: int = 0) -> int:
    """An audit that finished ``minutes`` after T0, its verdicts taken ``took`` minutes
    before that (as a long named audit's are)."""
    end = T0 + timedelta(minutes=minutes)
    at = end - timedelta(minutes=took)
    verdicts = tuple(
        Verdict(
            account_id=account,
            status=status,
            reason=status.value,
            source="aws",
            keys=(KeySlot(slot=1, active=True),) if status is N else (),
            evidence=Evidence(),
            checked_at=at,
        )
        for account, status in statuses.items()
    )
    result = AuditResult(verdicts, scope=scope, started_at=at, finished_at=end)
    return store.save_run(result, "command" if scope != "org" else "schedule")


def current(store: Store) -> dict[str, Status]:
    return {s.account_id: s.status for s in store.current_states()[1]}


def test_a_one_account_check_does_not_shrink_the_organization(store: Store) -> None:
    org = save(store, 0, "org", {A: N, B: N, D: E})
    save(store, 5, "accounts", {A: C})
    whole, states = store.current_states()
    assert whole is not None and whole.id == org
    assert {s.account_id: s.status for s in states} == {A: C, B: N, D: E}
    assert next(s for s in states if s.account_id == A).checked_at == T0 + timedelta(minutes=5)


def test_an_account_gone_from_the_latest_listing_drops_out(store: Store) -> None:
    save(store, 0, "org", {A: N, B: N})
    save(store, 5, "accounts", {X: N})  # named before the next listing, not in it
    save(store, 10, "org", {A: C})
    assert current(store) == {A: C}


def test_an_account_named_after_the_listing_is_counted(store: Store) -> None:
    save(store, 0, "org", {A: C})
    save(store, 5, "accounts", {X: N})  # e.g. joined the Organization since
    assert current(store) == {A: C, X: N}


def test_without_a_whole_audit_every_account_audited_counts(store: Store) -> None:
    save(store, 0, "accounts", {A: N})
    save(store, 5, "accounts", {B: C})
    whole, _ = store.current_states()
    assert whole is None
    assert current(store) == {A: N, B: C}


def test_the_latest_verdict_wins_whatever_its_scope(store: Store) -> None:
    save(store, 0, "accounts", {A: C})
    save(store, 5, "org", {A: N, B: C})
    save(store, 10, "accounts", {B: N})
    assert current(store) == {A: N, B: N}


def test_a_named_audit_that_ran_across_the_listing_still_counts(store: Store) -> None:
    save(store, 10, "org", {A: C})
    save(store, 12, "accounts", {X: N}, took=30)  # began before the listing, ended after it
    assert current(store) == {A: C, X: N}
