"""What the remediation log's hash chain costs: appends per second and `log --verify` speed.

    .venv/bin/python bench/log_chain.py                   # SQLite file, 2,000 lines
    .venv/bin/python bench/log_chain.py --lines 10000 --url postgresql+psycopg://...

Each append is one write transaction of the store (lock, read the last hash, insert), as the
bot writes a log line; ``--verify`` is the command line's, run as a subprocess over the whole
log. Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.remediation.models import Conversation  # noqa: E402
from bot.remediation.states import Kind  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.remediation import NewRequest, RemediationStore  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store.open(url)
        remediation = RemediationStore(store.engine)
        now = datetime.now(UTC)
        request = remediation.create(
            NewRequest(
                kind=Kind.REMEDIATION,
                account_id="111111111111",
                requester="U0BENCH001",
                reason="benchmark",
                where=Conversation("C0BENCH001"),
                expires_at=now + timedelta(days=1),
            ),
            now,
        )
        started = time.perf_counter()
        for n in range(args.lines):
            remediation.note(request.id, "U0BENCH001", "note", f"line {n}", datetime.now(UTC))
        appended = time.perf_counter() - started
        total = len(remediation.log())
        store.close()

        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bot", "log", "--verify", "--url", url],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        verified = time.perf_counter() - started

    print(f"database: {url.split(':', 1)[0]}")
    print(f"appends: {args.lines} in {appended:.2f} s = {args.lines / appended:.0f} lines/s")
    print(f"verify: {total} lines in {verified:.2f} s (process start included)")
    print(f"exit code {done.returncode}")
    print((done.stdout or done.stderr).strip()[:120])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
