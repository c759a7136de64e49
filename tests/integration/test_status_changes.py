"""Each account's status changes, kept as audits are saved, on SQLite and PostgreSQL.

The digest's streaks and trend read ``audit_status_changes`` instead of every verdict, so it
must always equal a recount from the verdicts: after saves in order, after an audit saved after
a later one, and after an upgrade of a database that had verdicts before the table existed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.audit.models import AuditResult
from bot.store import Store
from bot.store.changes import CHANGES, changes_select
from tests.integration.test_store import T0, A, B, C, D, E, N, by_id, save, save_raw, verdict
from tests.support.database import BACKENDS, database, wipe


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(backend, tmp_path_factory.mktemp("changes")) as db_url:
        yield db_url


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = Store.open(url)
    wipe(opened.engine)
    yield opened
    opened.close()


def kept(store: Store) -> list[tuple[int, str, datetime, str]]:
    query = select(
        CHANGES.c.verdict_id, CHANGES.c.account_id, CHANGES.c.checked_at, CHANGES.c.status
    )
    with store.transaction() as conn:
        return sorted(tuple(row) for row in conn.execute(query))  # type: ignore[misc]


def recounted(store: Store) -> list[tuple[int, str, datetime, str]]:
    with store.transaction() as conn:
        rows = conn.execute(changes_select()).all()
    # the same column types as the table's (a raw SQLite datetime comes back as text)
    return sorted(
        (int(r[0]), r[1], r[2] if isinstance(r[2], datetime) else as_utc(r[2]), r[3]) for r in rows
    )


def as_utc(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def test_only_a_change_of_status_is_kept_and_it_equals_a_recount(store: Store) -> None:
    save(store, 0, {A: C, B: N, D: E})
    save(store, 1, {A: C, B: N, D: C})
    save(store, 2, {A: N, B: N, D: C})
    save(store, 3, {A: E, B: C})
    rows = kept(store)
    assert rows == recounted(store)
    assert [(account, status) for _, account, _, status in sorted(rows, key=lambda r: r[2])] == [
        (A, "compliant"),
        (B, "noncompliant"),
        (D, "error"),
        (D, "compliant"),
        (A, "noncompliant"),
        (A, "error"),
        (B, "compliant"),
    ]


def test_an_audit_saved_after_a_later_one_recounts_its_accounts(store: Store) -> None:
    save(store, 0, {A: C, B: C})
    save(store, 2, {A: N, B: C})
    save(store, 1, {A: N, B: N})  # its audit ended before the day-2 one but was saved after it
    assert kept(store) == recounted(store)
    a = [
        status for _, account, _, status in sorted(kept(store), key=lambda r: r[2]) if account == A
    ]
    assert a == ["compliant", "noncompliant"]  # day 2 is no longer a change: day 1 was
    states = by_id(store.latest())
    assert states[A].open_since == T0 + timedelta(days=1)
    assert states[B].status is C and states[B].last_change == T0 + timedelta(days=2)


def test_a_run_naming_one_account_twice_keeps_the_changes_of_both(store: Store) -> None:
    at = T0 + timedelta(days=1)
    result = AuditResult(
        verdicts=(verdict(A, C, at), verdict(A, N, at + timedelta(seconds=1))),
        scope="accounts",
        started_at=at,
        finished_at=at + timedelta(minutes=1),
    )
    save(store, 0, {A: N})
    store.save_run(result, "command")
    assert kept(store) == recounted(store)
    assert len(kept(store)) == 3


def test_an_upgrade_fills_the_changes_from_the_history_and_the_answers_follow(
    backend: str, tmp_path: Path
) -> None:
    with database(backend, tmp_path) as db_url:
        old = Store.open(db_url, migrate=False)
        try:
            old.migrate("0011")
            save_raw(old, 0, {A: C, B: N, D: N})
            save_raw(old, 1, {A: N, B: E, D: N})
            last = save_raw(old, 2, {A: N, B: C, D: N})
        finally:
            old.close()
        store = Store.open(db_url)
        try:
            assert store.schema_revision() == "0012"
            assert kept(store) == recounted(store)
            assert len(kept(store)) == 6  # A: C, N; B: N, E, C; D: N
            states = by_id(store.account_states(run_id=last, baseline=T0 + timedelta(hours=2)))
            assert states[A].open_since == T0 + timedelta(days=1)
            assert states[A].baseline_status is C
            assert states[B].last_change == T0 + timedelta(days=2)
            assert states[D].first_seen == T0 and states[D].last_change == T0
            save(store, 3, {A: C, B: C, D: N})  # saving goes on from the filled table
            assert kept(store) == recounted(store)
            trend = store.trend(4, now=T0 + timedelta(days=3, hours=1))
            assert [(t.compliant, t.noncompliant, t.error) for t in trend] == [
                (1, 2, 0),
                (0, 2, 1),
                (1, 2, 0),
                (2, 1, 0),
            ]
        finally:
            store.close()
