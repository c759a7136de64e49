"""Revision 0006 chains the log lines written before it: account and kind from their request,
hashes in id order; ``python -m bot log --verify`` then holds, and new lines continue the chain."""

from __future__ import annotations

import sqlite3
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


def verify(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "log", "--verify", "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_lines_with_names_continue_a_chain_of_lines_without_and_history_is_kept(
    tmp_path: Path,
) -> None:
    """Revision 0009: new lines name their actor (hashed with them); the lines written before,
    Slack mentions and all, keep their content and hash, and the whole chain verifies."""
    db = tmp_path / "mixed.db"
    url = f"sqlite:///{db}"
    old = Store.open(url, migrate=False)
    old.migrate("0005")
    when = datetime(2026, 5, 1, 9, 30, 0, 123456, tzinfo=UTC).replace(tzinfo=None)
    old_detail = "approve refused: Only approvers can approve request #1: <@U0APPROVE1>."
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
        conn.execute(
            text(
                "INSERT INTO remediation_log (request_id, at, actor, event, detail) "
                "VALUES (1, :at, 'U0MALLORY1', 'refused', :detail)"
            ),
            {"at": when, "detail": old_detail},
        )
    old.migrate("0007")  # chained in the nine-field format
    with old.engine.connect() as conn:
        before = conn.execute(text("SELECT id, detail, hash FROM remediation_log")).all()
    old.close()

    store = Store.open(url)  # to the latest revision
    remediation = RemediationStore(store.engine)
    remediation.note(1, "U0APPROVE1", "note", "asked to verify now", datetime.now(UTC), "Avery A")
    remediation.note(1, "rootkey", "step", "Re-auditing the account.", datetime.now(UTC))
    lines = remediation.log()
    store.close()

    assert [(line.id, line.detail, line.hash) for line in lines[:1]] == [tuple(before[0])]
    assert [line.actor_name for line in lines] == [None, "Avery A", None]
    done = verify(url)
    assert done.returncode == 0, done.stderr
    assert "ok: 3 log lines, hash chain intact" in done.stdout

    # The name is part of the line: emptying it (the triggers dropped) breaks the chain there.
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER remediation_log_no_update")
        conn.execute("UPDATE remediation_log SET actor_name = NULL WHERE id = ?", (lines[1].id,))
    finally:
        conn.close()
    tampered = verify(url)
    assert tampered.returncode == 1
    assert f"log line {lines[1].id} does not match" in tampered.stderr
