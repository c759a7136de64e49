"""Revision 0006 chains the log lines written before it: account and kind from their request,
hashes in id order; ``python -m bot log --verify`` then holds, and new lines continue the chain."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bot.store import Store
from bot.store.remediation import RemediationStore

ROOT = Path(__file__).resolve().parents[2]


def test_lines_written_before_the_chain_are_chained_by_the_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store.open(url, migrate=False)
    old.migrate("0005")
    when = datetime(2026, 5, 1, 9, 30, 0, 123456, tzinfo=UTC).replace(tzinfo=None)
    with old.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO remediation_requests (id, kind, account_id, state, requester, "
                "reason, channel, created_at, expires_at, state_since, version, dry_run) VALUES "
                "(1, 'remediation', '111111111111', 'requested', 'U0ALICE001', 'old', "
                "'C0ROOTKEY1', :at, :at, :at, 0, 0)"
            ),
            {"at": when},
        )
        for detail in ("remediation requested", "a note"):
            conn.execute(
                text(
                    "INSERT INTO remediation_log (request_id, at, actor, event, detail) "
                    "VALUES (1, :at, 'U0ALICE001', 'transition', :detail)"
                ),
                {"at": when, "detail": detail},
            )
    old.close()

    store = Store.open(url)
    remediation = RemediationStore(store.engine)
    remediation.note(1, "U0APPROVE1", "note", "after the upgrade", datetime.now(UTC))
    lines = remediation.log()
    store.close()

    assert [(line.account_id, line.kind) for line in lines] == [("111111111111", "remediation")] * 3
    assert len({line.hash for line in lines}) == 3
    done = subprocess.run(
        [sys.executable, "-m", "bot", "log", "--verify", "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "ok: 3 log lines, hash chain intact" in done.stdout
