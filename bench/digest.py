"""How long building a digest takes, and its peak memory, at 10,000 accounts x 30 days.

    .venv/bin/python bench/digest.py                       # SQLite file in a temp dir
    ROOTKEY_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/digest.py                   # a throw-away database on that server

It saves 30 daily audit runs of 10,000 accounts (about 3% with a root key, in streaks that
start and end over the month; 1% that could not be audited) through the store, then times
``DigestService.build`` (the store's queries: latest verdicts, open streaks, changes since the
last digest, the 30-day trend), the Block Kit message, the CSV and the trend chart, and prints
each part and their total ("digest ready"), each run ``--repeat`` times (5): the median
wall-clock time with its minimum, maximum and sample count, the median CPU time of this
process and, for a PostgreSQL server on this machine, of its backends, and the first (cold)
run apart; and the machine (cores, load average) before and after, since the wall clock
stretches when other work shares the CPUs. Peak memory is
measured in a second pass under tracemalloc (Python allocations), and as the process's maximum
resident size (ru_maxrss). Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.figures import machine, repeated
from bot.audit.models import (
    AccountSummary,
    AuditResult,
    Evidence,
    KeySlot,
    RootRow,
    Status,
    Verdict,
)
from bot.services.digest import DigestService, digest_csv
from bot.slack.blocks.digest import digest_message
from bot.slack.chart import trend_png
from bot.store import Store

T = TypeVar("T")
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="rootkey-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'rootkey.db'}"
        return
    server = make_url(os.environ["ROOTKEY_BENCH_POSTGRES_URL"])
    name = f"rootkey_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def verdict(account: str, status: Status, at: datetime) -> Verdict:
    keys: tuple[KeySlot, ...] = ()
    if status is Status.NONCOMPLIANT:
        keys = (
            KeySlot(
                slot=1,
                active=True,
                last_rotated=at - timedelta(days=500),
                last_used_date=at - timedelta(days=3),
                last_used_region="us-east-1",
                last_used_service="s3",
                age_days=500,
            ),
        )
    errors = ("GetAccountSummary: AccessDenied",) if status is Status.ERROR else ()
    summary = (
        None
        if errors
        else AccountSummary(access_keys_present=bool(keys), mfa_enabled=True, password_present=True)
    )
    root = (
        None
        if errors
        else RootRow(
            arn=f"arn:aws:iam::{account}:root",
            account_id=account,
            password_enabled=True,
            password_last_used=at - timedelta(days=40),
            mfa_active=True,
            keys=keys,
        )
    )
    return Verdict(
        account_id=account,
        status=status,
        reason={
            Status.COMPLIANT: "no root access key",
            Status.NONCOMPLIANT: "root access key in slot 1 (active, 500 days old)",
            Status.ERROR: "could not read the account: GetAccountSummary AccessDenied",
        }[status],
        source="aws",
        account_name=f"workload-{account[-5:]}",
        keys=keys,
        root_mfa_active=None if errors else True,
        evidence=Evidence(summary=summary, root=root, report_generated_at=at, errors=errors),
        checked_at=at,
    )


def fill(store: Store, accounts: int, days: int, seed: int) -> tuple[int, int]:
    """``days`` daily runs of ``accounts``; returns (last run id, the run of the day before)."""
    rng = random.Random(seed)
    ids = [f"{100000000000 + i:012d}" for i in range(accounts)]
    state = {a: Status.NONCOMPLIANT if rng.random() < 0.02 else Status.COMPLIANT for a in ids}
    run_ids = []
    for day in range(days):
        at = START + timedelta(days=day)
        verdicts = []
        for account in ids:
            roll = rng.random()
            if state[account] is Status.NONCOMPLIANT and roll < 0.04:
                state[account] = Status.COMPLIANT  # fixed
            elif state[account] is Status.COMPLIANT and roll < 0.002:
                state[account] = Status.NONCOMPLIANT  # a new key
            shown = Status.ERROR if rng.random() < 0.01 else state[account]
            verdicts.append(verdict(account, shown, at))
        result = AuditResult(
            verdicts=tuple(verdicts),
            scope="org",
            started_at=at - timedelta(minutes=4),
            finished_at=at,
        )
        run_ids.append(store.save_run(result, "schedule"))
    return run_ids[-1], run_ids[-2]


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds on the clock
    cpu: float  # CPU seconds of this process (SQLite runs in it)
    server: float | None  # CPU seconds of the PostgreSQL backends (None: SQLite or unreadable)

    def __add__(self, other: Timing) -> Timing:
        server = None if self.server is None or other.server is None else self.server + other.server
        return Timing(self.wall + other.wall, self.cpu + other.cpu, server)


PARTS = ("build (store)", "block kit", "csv", "trend chart")


def summary(name: str, timings: list[Timing], note: str) -> str:
    """One part's wall clock over its runs (median, min, max, n) and its median CPU."""
    wall = repeated([t.wall for t in timings], "s")
    cpu = statistics.median(t.cpu for t in timings)
    servers = [t.server for t in timings if t.server is not None]
    server = f" + {statistics.median(servers):.3f} s PostgreSQL CPU" if servers else ""
    return f"{name:15s} wall {wall}; CPU {cpu:.3f} s{server}  {note}".rstrip()


class Clock:
    """Times a call: wall clock, this process's CPU, and (PostgreSQL on this machine) the CPU
    its backends serving the bench database used, read from /proc (parallel workers, which
    come and go within a query, are not counted)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def server_cpu(self) -> float | None:
        if self.store.dialect != "postgresql":
            return None
        query = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        with self.store.engine.connect() as conn:
            pids = list(conn.execute(query).scalars())
        total = 0.0
        try:
            for pid in pids:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None  # a server elsewhere, or its processes hidden from us
        return total

    def __call__(self, fn: Callable[[], T]) -> tuple[T, Timing]:
        server = self.server_cpu()
        wall, cpu = time.perf_counter(), time.process_time()
        value = fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        after = self.server_cpu()
        used = None if server is None or after is None else after - server
        return value, Timing(wall, cpu, used)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each part (default 5)")
    args = parser.parse_args()
    kind = "postgresql" if os.environ.get("ROOTKEY_BENCH_POSTGRES_URL") else "sqlite"

    with database(kind) as url:
        store = Store.open(url)
        try:
            fill_started = time.perf_counter()
            last, previous = fill(store, args.accounts, args.days, args.seed)
            fill_s = time.perf_counter() - fill_started
            if kind == "postgresql":
                # As autovacuum leaves a table after a large insert: statistics for the planner
                # and a visibility map, so the covering indexes are read without the heap.
                with store.engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                        text("VACUUM ANALYZE audit_verdicts")
                    )
            # the previous day's digest was posted: changes are counted from its audit
            claim = store.claim_slot("CBENCH", START + timedelta(days=args.days - 2), "bench")
            assert claim is not None
            store.mark_slot_posted(
                claim.id, "bench", run_id=previous, baseline_run_id=None, message_ts="1"
            )
            now = START + timedelta(days=args.days - 1, hours=1)
            service = DigestService(store, clock=lambda: now)
            clock = Clock(store)

            print(f"machine: {machine()}", flush=True)
            parts: dict[str, list[Timing]] = {name: [] for name in PARTS}
            for _ in range(args.repeat):
                digest, build_t = clock(lambda: service.build(last, channel="CBENCH"))
                message, blocks_t = clock(partial(digest_message, digest))
                report, csv_t = clock(partial(digest_csv, digest))
                png, chart_t = clock(partial(trend_png, digest.trend))
                for name, timing in zip(PARTS, (build_t, blocks_t, csv_t, chart_t), strict=True):
                    parts[name].append(timing)

            tracemalloc.start()
            service.build(last, channel="CBENCH")
            build_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            digest_message(digest)
            digest_csv(digest)
            render_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        finally:
            store.close()

    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = args.accounts * args.days
    print(f"database        {kind}")
    print(f"history         {args.accounts:,} accounts x {args.days} days = {rows:,} verdicts")
    print(f"fill (saving)   {fill_s:8.2f} s  ({rows / fill_s:,.0f} verdicts/s)")
    if kind == "postgresql":
        print("                then VACUUM ANALYZE audit_verdicts (what autovacuum does after it)")
    print(
        f"digest          {digest.total:,} accounts, {digest.noncompliant} open, "
        f"{len(digest.new_noncompliant)} new, {len(digest.fixed)} fixed, "
        f"{len(digest.errors)} not audited"
    )
    totals = [
        sum(run, Timing(0.0, 0.0, 0.0 if run[0].server is not None else None))
        for run in zip(*parts.values(), strict=True)
    ]
    notes = {
        "build (store)": "latest verdicts, streaks, changes, 30-day trend",
        "block kit": f"{len(message.blocks)} blocks",
        "csv": f"{len(report) / 1024:,.0f} KiB",
        "trend chart": f"{len(png) / 1024:,.0f} KiB PNG",
    }
    print(f"each part run {args.repeat} times in a row (the first one cold); per part:")
    for name, timings in parts.items():
        print(summary(name, timings, notes[name]))
    print(summary("digest ready", totals, "the four parts above, each run's sum"))
    print(f"first run (cold) {totals[0].wall:.3f} s wall, {totals[0].cpu:.3f} s CPU")
    print(f"machine after: {machine()}")
    print(
        f"peak (tracemalloc) build {build_peak / 2**20:6.1f} MiB, "
        f"render {render_peak / 2**20:6.1f} MiB"
    )
    print(f"max RSS         {rss_mib:8.1f} MiB (whole process, including the fill)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
