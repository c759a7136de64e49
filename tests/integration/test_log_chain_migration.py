"""Revision 0006 chains the log lines written before it: account and kind from their request,
hashes in id order; ``python -m bot log --verify`` then holds, and new lines continue the chain."""

from __future__ import annotations

import contextlib
import io
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bot.cli import main
from bot.remediation import keys
from bot.remediation.chain import GENESIS, LineContent, line_hash
from bot.remediation.keys import KeyPrint
from bot.remediation.states import Kind
from bot.store import Store
from bot.store.remediation import RemediationStore
from bot.store.remediation_tables import R, X


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def verify(url: str) -> Done:
    """``python -m bot log --verify --url URL`` through the command line's entry point, in this
    process, with its output captured."""
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    level = root.level
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["log", "--verify", "--url", url])
    finally:
        root.setLevel(level)  # a command may set its own log level
    return Done(code, out.getvalue(), err.getvalue())


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

    # two old lines, the line of the request's terms (revision 0010: it is open), the note
    assert [(line.account_id, line.kind) for line in lines] == [("111111111111", "remediation")] * 4
    assert [line.event for line in lines[2:]] == ["terms", "note"]
    assert len({line.hash for line in lines}) == 4
    done = verify(url)
    assert done.returncode == 0, done.stderr
    assert "ok: 4 log lines, hash chain intact" in done.stdout


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
    assert [line.actor_name for line in lines] == [None, None, "Avery A", None]  # 0010's line
    done = verify(url)
    assert done.returncode == 0, done.stderr
    assert "ok: 4 log lines, hash chain intact" in done.stdout

    # The name is part of the line: emptying it (the triggers dropped) breaks the chain there.
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("DROP TRIGGER remediation_log_no_update")
        conn.execute("UPDATE remediation_log SET actor_name = NULL WHERE id = ?", (lines[2].id,))
    finally:
        conn.close()
    tampered = verify(url)
    assert tampered.returncode == 1
    assert f"log line {lines[2].id} does not match" in tampered.stderr


def test_open_requests_get_their_terms_logged_by_the_upgrade(tmp_path: Path) -> None:
    """Revision 0010: a request still open (an accepted risk in force, a remediation waiting)
    gets one line with its terms as the tables held them; a closed one gets none. The chain
    still verifies, the accepted risk is read from that line, and a later change to its end
    in the tables is named by ``--verify``."""
    url = f"sqlite:///{tmp_path / 'terms.db'}"
    old = Store.open(url, migrate=False)
    old.migrate("0009")
    now = datetime.now(UTC).replace(microsecond=0)
    until = now + timedelta(days=30)
    key = KeyPrint(created=now - timedelta(days=400), active=True, slot=1)
    previous = GENESIS

    def request(kind: Kind, account: str, *moves: str) -> int:
        """A request and its lines (its request, then each move), as rootkey wrote them before
        revision 0010: every move of its state is a ``transition`` line."""
        nonlocal previous
        with old.engine.begin() as conn:
            request_id = int(
                conn.execute(
                    insert(R).values(
                        kind=kind.value, account_id=account, state=moves[-1],
                        requester="U0ALICE001", reason="old", channel="C0ROOTKEY1",
                        owner="U0OWNER001" if kind is Kind.EXCEPTION else None,
                        exception_until=until if kind is Kind.EXCEPTION else None,
                        created_at=now, expires_at=now + timedelta(days=1), state_since=now,
                        version=0, dry_run=False, key_prints=keys.encode([key]),
                    ).returning(R.c.id)
                ).scalar_one()
            )  # fmt: skip
            for before, state in zip((None, *moves), moves, strict=False):
                content = LineContent(
                    request_id, account, kind.value, now, "U0ALICE001", "transition", before,
                    state, state,
                )  # fmt: skip
                previous = line_hash(previous, content)
                conn.execute(
                    text(
                        "INSERT INTO remediation_log (request_id, at, actor, event, from_state, "
                        "to_state, detail, account_id, kind, hash) VALUES (:id, :at, "
                        "'U0ALICE001', 'transition', :before, :state, :state, :account, :kind, "
                        ":hash)"
                    ),
                    {"id": request_id, "at": now.replace(tzinfo=None), "before": before,
                     "state": state, "account": account, "kind": kind.value, "hash": previous},
                )  # fmt: skip
        return request_id

    risk = request(Kind.EXCEPTION, "111111111111", "requested", "approved")
    waiting = request(Kind.REMEDIATION, "222222222222", "requested")
    request(Kind.REMEDIATION, "333333333333", "requested", "rejected")  # closed: nothing to record
    with old.engine.begin() as conn:
        conn.execute(
            insert(X).values(
                request_id=risk, account_id="111111111111", owner="U0OWNER001", reason="old",
                starts_at=now, expires_at=until,
            )
        )  # fmt: skip
    old.close()

    store = Store.open(url)  # 0010: the terms of the open requests are logged
    remediation = RemediationStore(store.engine)
    lines = remediation.log()
    assert [(line.request_id, line.event) for line in lines[5:]] == [
        (risk, "terms"),
        (waiting, "terms"),
    ]
    assert verify(url).returncode == 0
    [accepted] = remediation.active_exceptions(now)
    assert (accepted.request_id, accepted.expires_at, accepted.key_prints) == (risk, until, (key,))
    assert remediation.get(waiting).key_prints == (key,)

    with store.engine.begin() as conn:
        conn.execute(text("UPDATE risk_exceptions SET expires_at = '2099-01-01 00:00:00'"))
    [accepted] = remediation.active_exceptions(now)
    assert accepted.expires_at == until
    store.close()
    caught = verify(url)
    assert caught.returncode == 1
    assert f"request {risk}: the database disagrees with log line {lines[5].id}" in caught.stderr
    assert "risk_exceptions.expires_at is 2099-01-01 00:00:00 UTC" in caught.stderr


def test_approvals_logged_before_the_chain_are_read_from_their_lines(tmp_path: Path) -> None:
    """Approvals given before the log was chained (revision 0005: a row in
    ``remediation_approvals`` and an ``approval`` line, written together) are read from their
    lines once upgraded: ``--verify`` holds, an approver of a waiting request cannot approve it
    twice and the second approver completes it."""
    url = f"sqlite:///{tmp_path / 'approvals.db'}"
    old = Store.open(url, migrate=False)
    old.migrate("0005")
    when = datetime(2026, 5, 1, 9, 30, 0, 123456, tzinfo=UTC).replace(tzinfo=None)
    # (request, account, state, its lines as rootkey wrote them: actor, event, from, to, detail)
    history = [
        (1, "111111111111", "approved", [
            ("U0ALICE001", "transition", None, "requested", "remediation requested"),
            ("U0APPROVE1", "approval", "requested", "requested", "approval 1 of 2"),
            ("U0APPROVE3", "approval", "requested", "requested", "approval 2 of 2"),
            ("U0APPROVE3", "transition", "requested", "approved", "approved (2 of 2 approvals)"),
        ]),
        (2, "222222222222", "requested", [
            ("U0ALICE001", "transition", None, "requested", "remediation requested"),
            ("U0APPROVE1", "approval", "requested", "requested", "approval 1 of 2"),
        ]),
    ]  # fmt: skip
    with old.engine.begin() as conn:
        for request_id, account, state, lines in history:
            conn.execute(
                text(
                    "INSERT INTO remediation_requests (id, kind, account_id, state, requester, "
                    "reason, channel, created_at, expires_at, state_since, version, dry_run) "
                    "VALUES (:id, 'remediation', :account, :state, 'U0ALICE001', 'old', "
                    "'C0ROOTKEY1', :at, :until, :at, 0, 0)"
                ),
                {"id": request_id, "account": account, "state": state, "at": when,
                 "until": datetime(2099, 1, 1)},
            )  # fmt: skip
            for actor, event, before, after, detail in lines:
                values = {"id": request_id, "at": when, "actor": actor, "event": event,
                          "before": before, "after": after, "detail": detail}  # fmt: skip
                conn.execute(
                    text(
                        "INSERT INTO remediation_log (request_id, at, actor, event, from_state, "
                        "to_state, detail) VALUES (:id, :at, :actor, :event, :before, :after, "
                        ":detail)"
                    ),
                    values,
                )
                if event == "approval":
                    conn.execute(
                        text(
                            'INSERT INTO remediation_approvals (request_id, "user", at) '
                            "VALUES (:id, :actor, :at)"
                        ),
                        values,
                    )
    old.close()

    store = Store.open(url)
    remediation = RemediationStore(store.engine)
    try:
        done = verify(url)
        assert done.returncode == 0, done.stderr
        assert remediation.get(1).approvers_so_far == ("U0APPROVE1", "U0APPROVE3")
        assert remediation.get(2).approvers_so_far == ("U0APPROVE1",)
        now = datetime.now(UTC)
        approvers = {"U0APPROVE1", "U0APPROVE3"}
        again = remediation.approve(2, "U0APPROVE1", 2, now, approvers=approvers)
        assert not again.counted and again.request.state.value == "requested"
        second = remediation.approve(2, "U0APPROVE3", 2, now, approvers=approvers)
        assert second.approved and second.request.approvers_so_far == ("U0APPROVE1", "U0APPROVE3")
        assert [e.detail for e in remediation.log(2)][-2:] == [
            "approval 2 of 2",
            "approved (2 of 2 approvals)",
        ]
    finally:
        store.close()
    assert verify(url).returncode == 0
