"""Exactly-once under contention: many approvers clicking many requests at the same moment.

    python bench/remediation_contention.py                     # SQLite file in a temp dir
    python bench/remediation_contention.py --url postgresql+psycopg://postgres@127.0.0.1/test

For each of ``--requests`` requests, ``--clickers`` threads approve at once (half of them the
same person, so double clicks are in the mix) with ``ROOTKEY_REQUIRED_APPROVALS``-style
``--required`` distinct approvals, then ``--clickers`` threads race to move it to executing.
Prints clicks per second and, what matters, how many requests were approved and started more
than once (must be 0). On PostgreSQL a throw-away database is created and dropped.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.remediation.models import Conversation
from bot.remediation.states import Kind, Mode, State
from bot.store import Store
from bot.store.engine import create_store_engine
from bot.store.remediation import NewRequest, RemediationStore


def race(n: int, job: object) -> list[object]:
    barrier = threading.Barrier(n)
    out: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        out[i] = job(i)  # type: ignore[operator]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def bench(url: str, requests: int, clickers: int, required: int) -> int:
    engine = create_store_engine(url)
    Store(engine).migrate()
    store = RemediationStore(engine)
    now = datetime.now(UTC)
    approved_twice = started_twice = clicks = 0
    started = time.perf_counter()
    for _ in range(requests):
        req = store.create(
            NewRequest(
                kind=Kind.REMEDIATION, account_id="111111111111", requester="UREQ",
                reason="bench", where=Conversation("C1"), expires_at=now + timedelta(hours=1),
                mode=Mode.ASSUME_ROOT,
            ),
            now,
        )  # fmt: skip
        outcomes = race(
            clickers, lambda i, r=req.id: store.approve(r, f"UAPP{i % required}", required, now)
        )
        clicks += clickers
        approved_twice += max(0, sum(1 for o in outcomes if o.approved) - 1)  # type: ignore[attr-defined]
        moves = race(
            clickers,
            lambda i, r=req.id: store.transition(r, State.APPROVED, State.EXECUTING, "b", "", now),
        )
        clicks += clickers
        started_twice += max(0, sum(1 for m in moves if m is not None) - 1)
        log = [e.to_state for e in store.log(req.id) if e.event == "transition"]
        if log != ["requested", "approved", "executing"]:
            print(f"request #{req.id}: unexpected moves {log}", file=sys.stderr)
            started_twice += 1
    seconds = time.perf_counter() - started
    engine.dispose()
    print(
        f"{make_url(url).get_backend_name()}: {requests} requests x {clickers} concurrent clicks "
        f"({required} approvals needed): {clicks / seconds:.0f} clicks/s; "
        f"approved more than once: {approved_twice}; started more than once: {started_twice}"
    )
    return 1 if approved_twice or started_twice else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="PostgreSQL server URL (default: a SQLite file)")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--clickers", type=int, default=8)
    parser.add_argument("--required", type=int, default=2)
    args = parser.parse_args()
    if not args.url:
        with tempfile.TemporaryDirectory() as tmp:
            return bench(f"sqlite:///{tmp}/bench.db", args.requests, args.clickers, args.required)
    name = f"rootkey_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
        return bench(url, args.requests, args.clickers, args.required)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
