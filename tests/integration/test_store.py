"""The store on SQLite and PostgreSQL: saved audits answer the questions a digest asks."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect

from bot.audit.models import (
    AccountSummary,
    AuditResult,
    Evidence,
    KeySlot,
    Status,
    Verdict,
)
from bot.cli import main
from bot.store import Store, UnknownRun
from bot.store.models import RunRow, VerdictRow, table_of
from simulator.slack import SlackStandin
from tests.support.database import BACKENDS, database, wipe

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
C, N, E = Status.COMPLIANT, Status.NONCOMPLIANT, Status.ERROR
A, B, D = "111111111111", "222222222222", "333333333333"
RUNS = table_of(RunRow)
VERDICTS = table_of(VerdictRow)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(backend, tmp_path_factory.mktemp("store")) as db_url:
        yield db_url


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = Store.open(url)
    wipe(opened.engine)
    yield opened
    opened.close()


def verdict(account: str, status: Status, at: datetime, name: str | None = None) -> Verdict:
    keys = (KeySlot(slot=1, active=True, age_days=400),) if status is N else ()
    errors = ("GetAccountSummary: AccessDenied",) if status is E else ()
    return Verdict(
        account_id=account,
        status=status,
        reason={C: "no root access key", N: "root key in slot 1", E: "AccessDenied"}[status],
        source="aws",
        account_name=name,
        keys=keys,
        root_mfa_active=status is not E,
        evidence=Evidence(summary=AccountSummary(access_keys_present=status is N), errors=errors),
        checked_at=at,
    )


def save(store: Store, day: float, statuses: dict[str, Status], trigger: str = "schedule") -> int:
    at = T0 + timedelta(days=day)
    result = AuditResult(
        verdicts=tuple(verdict(a, s, at, name=f"acct-{a[:3]}") for a, s in statuses.items()),
        scope="org",
        started_at=at - timedelta(minutes=1),
        finished_at=at + timedelta(minutes=1),
    )
    return store.save_run(result, trigger, "U0001" if trigger == "command" else None, "C0001")


def save_raw(store: Store, day: float, statuses: dict[str, Status]) -> int:
    """A run and its verdicts written as a release before the changes table wrote them."""
    at = T0 + timedelta(days=day)
    with store.transaction() as conn:
        run_id = conn.execute(
            insert(RUNS)
            .values(
                started_at=at - timedelta(minutes=1),
                finished_at=at + timedelta(minutes=1),
                scope="org",
                trigger="schedule",
                channel="C0001",
                total=len(statuses),
                compliant=sum(s is C for s in statuses.values()),
                noncompliant=sum(s is N for s in statuses.values()),
                errors=sum(s is E for s in statuses.values()),
                features={},
            )
            .returning(RUNS.c.id)
        ).scalar_one()
        for account, status in statuses.items():
            v = verdict(account, status, at, name=f"acct-{account[:3]}")
            conn.execute(
                insert(VERDICTS).values(
                    run_id=run_id,
                    account_id=account,
                    account_name=v.account_name,
                    status=status.value,
                    reason=v.reason,
                    source=v.source,
                    keys=[k.to_dict() for k in v.keys],
                    root_mfa_active=v.root_mfa_active,
                    evidence=v.evidence.to_dict(),
                    checked_at=at,
                )
            )
    return int(run_id)


def by_id(states: list) -> dict:
    return {s.account_id: s for s in states}


def test_a_saved_run_comes_back_with_its_verdicts_and_evidence(store: Store) -> None:
    run_id = save(store, 0, {A: N, B: C, D: E}, trigger="command")
    run = store.get_run(run_id)
    assert (run.trigger, run.requested_by, run.channel, run.scope) == (
        "command",
        "U0001",
        "C0001",
        "org",
    )
    assert (run.summary.total, run.summary.noncompliant, run.summary.error) == (3, 1, 1)
    states = by_id(store.account_states(run_id=run_id))
    assert states[A].status is N and states[A].keys[0].active
    assert states[D].status is E and states[D].reason == "AccessDenied"
    assert states[B].account_name == "acct-222"
    with pytest.raises(UnknownRun):
        store.get_run(run_id + 1000)


def test_open_streak_starts_after_the_last_compliant_verdict_and_survives_errors(
    store: Store,
) -> None:
    save(store, 0, {A: N})  # an earlier streak, fixed on day 2
    save(store, 1, {A: N})
    save(store, 2, {A: C})
    save(store, 3, {A: N})  # the current streak starts here
    save(store, 4, {A: E})  # could not look: the streak goes on
    last = save(store, 10, {A: N})
    state = store.account_states(run_id=last)[0]
    assert state.open_since == T0 + timedelta(days=3)
    assert state.days_open(T0 + timedelta(days=10, hours=1)) == 7
    assert state.first_seen == T0
    assert state.last_change == T0 + timedelta(days=10)  # error -> noncompliant on day 10


def test_latest_is_the_newest_verdict_per_account_and_compliant_has_nothing_open(
    store: Store,
) -> None:
    save(store, 0, {A: N, B: N})
    save(store, 1, {A: C})
    states = by_id(store.latest())
    assert states[A].status is C and states[A].open_since is None
    assert states[A].last_change == T0 + timedelta(days=1)
    assert states[B].status is N and states[B].checked_at == T0
    assert store.latest_state("999999999999") is None


def test_changes_since_a_run_name_new_fixed_and_errors_apart(store: Store) -> None:
    base = save(store, 0, {A: N, B: C, D: C, "444444444444": N})
    save(store, 1, {A: C, B: N, D: E, "444444444444": E, "555555555555": N})
    changes = store.changes_since(base)
    assert [s.account_id for s in changes.new_noncompliant] == [B, "555555555555"]
    assert [s.account_id for s in changes.fixed] == [A]
    assert [s.account_id for s in changes.errors] == [D, "444444444444"]
    assert [s.account_id for s in changes.new_errors] == [D, "444444444444"]
    # an error is never compliant, and an error after noncompliant is not "fixed"
    assert "444444444444" not in {s.account_id for s in changes.fixed}


def test_an_account_fixed_while_it_errored_at_the_baseline_counts_as_fixed(store: Store) -> None:
    save(store, 0, {A: N})
    base = save(store, 1, {A: E})
    save(store, 2, {A: C})
    assert [s.account_id for s in store.changes_since(base).fixed] == [A]


def test_still_open_is_oldest_first(store: Store) -> None:
    save(store, 0, {A: N, B: C, D: C})
    save(store, 5, {A: N, B: N, D: C})
    last = save(store, 6, {A: N, B: N, D: N})
    changes = store.changes(run_id=last, baseline=T0 + timedelta(days=5, hours=12))
    assert [s.account_id for s in changes.still_open] == [A, B, D]
    assert [s.account_id for s in changes.new_noncompliant] == [D]


def test_history_is_newest_first_with_the_trigger(store: Store) -> None:
    save(store, 0, {A: C})
    save(store, 1, {A: N}, trigger="command")
    save(store, 2, {B: N})
    entries = store.history(A)
    assert [(e.status, e.trigger) for e in entries] == [(N, "command"), (C, "schedule")]
    assert entries[0].requested_by == "U0001"
    assert store.history(A, limit=1)[0].status is N


def test_trend_carries_each_account_forward_day_by_day(store: Store) -> None:
    save(store, -40, {A: N})  # before the window: counts from day one of it
    save(store, 0, {B: C})
    save(store, 2, {A: C, D: E})
    trend = store.trend(5, now=T0 + timedelta(days=3, hours=1))
    assert [t.day.isoformat() for t in trend] == [
        "2026-09-30",
        "2026-10-01",
        "2026-10-02",
        "2026-10-03",
        "2026-10-04",
    ]
    assert [(t.compliant, t.noncompliant, t.error) for t in trend] == [
        (0, 1, 0),
        (1, 1, 0),
        (1, 1, 0),
        (2, 0, 1),
        (2, 0, 1),
    ]


def test_an_unknown_trigger_is_refused(store: Store) -> None:
    result = AuditResult(verdicts=(verdict(A, C, T0),))
    with pytest.raises(ValueError, match="trigger"):
        store.save_run(result, "whenever")


def test_the_schema_is_migrated_on_open_and_reopening_changes_nothing(url: str) -> None:
    first = Store.open(url)
    revision = first.schema_revision()
    first.close()
    second = Store.open(url)
    try:
        assert second.schema_revision() == revision
        tables = set(inspect(second.engine).get_table_names())
        assert {"audit_runs", "audit_verdicts", "digest_slots", "alembic_version"} <= tables
    finally:
        second.close()


# -- digest slots -------------------------------------------------------------------------


def test_of_many_claimants_of_a_slot_exactly_one_gets_it(url: str, store: Store) -> None:
    slot = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    stores = [Store.open(url, migrate=False) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    won: list[str] = []

    def claim(i: int) -> None:
        barrier.wait()
        if stores[i].claim_slot("C0001", slot, f"proc-{i}") is not None:
            won.append(f"proc-{i}")

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(won) == 1
    assert [s.claimed_by for s in store.slots("C0001")] == won
    # another channel's slot at the same time is a different slot
    assert store.claim_slot("C0002", slot, "proc-x") is not None


def test_a_posted_slot_is_never_claimed_again_a_failed_one_is(store: Store) -> None:
    slot = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    claim = store.claim_slot("C0001", slot, "a")
    assert claim is not None
    assert store.mark_slot_failed(claim.id, "a", "DeliveryError: ratelimited")
    assert store.unfinished_slot("C0001").state == "failed"
    retry = store.claim_slot("C0001", slot, "b")
    assert retry is not None and retry.attempts == 2 and retry.error is None
    assert not store.mark_slot_posted(
        retry.id, "a", run_id=None, baseline_run_id=None, message_ts="1"
    )
    assert store.mark_slot_posted(retry.id, "b", run_id=None, baseline_run_id=None, message_ts="2")
    assert store.claim_slot("C0001", slot, "c") is None
    assert store.last_posted_slot("C0001").message_ts == "2"
    assert store.unfinished_slot("C0001") is None


def test_a_stale_claim_is_taken_over_a_fresh_one_is_not(store: Store) -> None:
    slot = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    now = datetime(2026, 11, 30, 9, 0, 5, tzinfo=UTC)
    assert store.claim_slot("C0001", slot, "dead", now=now) is not None
    lease = timedelta(minutes=5)
    assert store.claim_slot("C0001", slot, "b", lease=lease, now=now + timedelta(minutes=1)) is None
    taken = store.claim_slot("C0001", slot, "b", lease=lease, now=now + timedelta(minutes=6))
    assert taken is not None and taken.claimed_by == "b"
    # the dead process cannot record anything on a slot it lost
    assert not store.mark_slot_posted(
        taken.id, "dead", run_id=None, baseline_run_id=None, message_ts="x"
    )


def test_db_upgrade_command_migrates_an_empty_database(
    url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the command line's entry point in this process (no .env where it runs)
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    root = logging.getLogger()
    level = root.level
    try:
        code = main(["db", "upgrade", "--url", url])
    finally:
        root.setLevel(level)  # the command sets its own log level
    done = capsys.readouterr()
    assert code == 0, done.err
    assert "schema at revision" in done.out
    assert "none" not in done.out


def test_processes_starting_together_migrate_a_fresh_database_once(
    backend: str, tmp_path: Path
) -> None:
    with database(backend, tmp_path) as fresh:
        barrier = threading.Barrier(4)
        opened: list[Store] = []
        failures: list[BaseException] = []

        def start() -> None:
            barrier.wait()
            try:
                opened.append(Store.open(fresh))
            except BaseException as exc:  # collected and asserted below
                failures.append(exc)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        try:
            assert failures == []
            assert len({s.schema_revision() for s in opened}) == 1
        finally:
            for s in opened:
                s.close()


@pytest.mark.parametrize(
    ("args", "says"),
    [(("db", "upgrade"), "database error"), (("run",), "configuration error: DATABASE_URL")],
)
def test_an_unreachable_database_is_one_line_and_exit_2(args: tuple[str, ...], says: str) -> None:
    with SlackStandin() as slack:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": "postgresql+psycopg://rootkey:secret-pw@127.0.0.1:1/rootkey",
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": "not-a-real-secret",
            "SLACK_API_URL": slack.base_url,
            "PYTHONPATH": str(ROOT),
        }
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
        )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "secret-pw" not in done.stderr + done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert says in last and "127.0.0.1" in last


def test_an_upgrade_from_0007_reindexes_the_history_and_keeps_its_answers(
    backend: str, tmp_path: Path
) -> None:
    with database(backend, tmp_path) as db_url:
        old = Store.open(db_url, migrate=False)
        try:
            old.migrate("0007")
            save_raw(old, 0, {A: C, B: N})
            save_raw(old, 1, {A: N, B: E})
            last = save_raw(old, 2, {A: N, B: C})
        finally:
            old.close()
        store = Store.open(db_url)
        try:
            indexes = {
                i["name"]: i["column_names"]
                for i in inspect(store.engine).get_indexes("audit_verdicts")
            }
            assert indexes["ix_audit_verdicts_account_history"] == [
                "account_id",
                "checked_at",
                "id",
                "status",
            ]
            assert "ix_audit_verdicts_account_time" not in indexes
            after = by_id(
                store.account_states(run_id=last, baseline=T0 + timedelta(days=1, hours=2))
            )
            day = timedelta(days=1)
            seen = [(s.status, s.first_seen, s.last_change, s.open_since) for s in after.values()]
            at_baseline = [(s.baseline_status, s.baseline_raw_status) for s in after.values()]
            assert list(after) == [A, B]
            assert [(*a, *b) for a, b in zip(seen, at_baseline, strict=True)] == [
                (N, T0, T0 + day, T0 + day, N, N),
                (C, T0, T0 + 2 * day, None, N, E),
            ]
        finally:
            store.close()


def test_an_org_audit_starts_from_the_last_org_audits_accounts(store: Store) -> None:
    """The audit service hands the auditor the accounts of the last audit of the whole
    Organization (not of a named audit's), so the scan need not wait for the listing."""
    from bot.audit.models import Scope
    from bot.services.audit import AuditService
    from bot.services.digest import DigestService

    save(store, 0, {A: C, B: N})
    save(store, 1, {A: C, B: C, D: E})
    named = AuditResult(
        verdicts=(verdict("444444444444", C, T0 + timedelta(days=2)),),
        scope="accounts",
        started_at=T0 + timedelta(days=2),
        finished_at=T0 + timedelta(days=2, minutes=1),
    )
    store.save_run(named, "recheck", None, None)
    asked: list[Scope] = []

    class Auditor:
        def audit(self, scope: Scope) -> AuditResult:
            asked.append(scope)
            return AuditResult(verdicts=(), scope=scope.kind, started_at=T0, finished_at=T0)

    service = AuditService(Auditor(), store)
    service.run(Scope("org"), "schedule")
    service.run(Scope("accounts", (A,)), "recheck")
    assert sorted(asked[0].known) == [A, B, D]
    assert asked[1].known == ()
    # the digest's own audit goes the same way (its org audit above had no accounts)
    save(store, 3, {A: C, D: C})
    DigestService(store, auditor=Auditor(), scope=Scope("org")).audit("schedule", None, None)
    assert sorted(asked[2].known) == [A, D]
