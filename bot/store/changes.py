"""Each account's status changes, kept as verdicts are saved (part of ``Store``).

``audit_status_changes`` holds a row for every verdict whose status differs from the verdict
before it of the same account (by ``checked_at``, then id), and for each account's first
verdict. An account audited every day for a month with one status has one row, not 30, so the
digest's history questions (first seen, the last change, the open streak, the status at the
baseline, the 30-day trend) read a few rows per account instead of its every verdict.

The rule is one SQL expression, ``changes_select``: a verdict's status against the status
``LAG`` finds before it. ``record_run`` applies it to the verdicts of a run just saved; an
account whose saved verdict is older than one it already had (two audits saved out of their
order) has its rows recomputed whole, so the table always equals a recount
(``recount`` rebuilds it, which is how revision 0012 fills it from the existing history).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, literal, or_, select

from bot.store.models import StatusChangeRow, VerdictRow, table_of

VERDICTS = table_of(VerdictRow)
CHANGES = table_of(StatusChangeRow)
COLUMNS = ("verdict_id", "account_id", "checked_at", "status")


def changes_select(accounts: Any = None) -> Any:
    """The change rows of every account's verdicts (only of ``accounts``, a query of account
    ids, when given)."""
    v = VERDICTS
    previous = (
        func.lag(v.c.status)
        .over(partition_by=v.c.account_id, order_by=(v.c.checked_at, v.c.id))
        .label("previous")
    )
    history = select(v.c.id, v.c.account_id, v.c.checked_at, v.c.status, previous)
    if accounts is not None:
        history = history.where(v.c.account_id.in_(accounts))
    window = history.subquery("history")
    return select(window.c.id, window.c.account_id, window.c.checked_at, window.c.status).where(
        or_(window.c.previous.is_(None), window.c.previous != window.c.status)
    )


def recount(conn: Connection, accounts: Any = None) -> None:
    """Rebuild the change rows (of ``accounts`` only, when given) from the verdicts."""
    wipe = delete(CHANGES)
    if accounts is not None:
        wipe = wipe.where(CHANGES.c.account_id.in_(accounts))
    conn.execute(wipe)
    conn.execute(insert(CHANGES).from_select(COLUMNS, changes_select(accounts)))


def later(p: Any, v: Any) -> Any:
    """``p`` comes after ``v`` in an account's history (checked_at, then id)."""
    return or_(
        p.c.checked_at > v.c.checked_at, and_(p.c.checked_at == v.c.checked_at, p.c.id > v.c.id)
    )


def record_run(conn: Connection, run_id: int) -> None:
    """Add the change rows of run ``run_id``'s verdicts (saved in this transaction)."""
    v, p = VERDICTS, VERDICTS.alias("p")
    before = (
        select(p.c.status)
        .where(p.c.account_id == v.c.account_id, later(v, p))
        .order_by(p.c.checked_at.desc(), p.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    new = select(v.c.id, v.c.account_id, v.c.checked_at, v.c.status).where(
        v.c.run_id == run_id,
        or_(before.is_(None), before != v.c.status),
    )
    conn.execute(insert(CHANGES).from_select(COLUMNS, new))
    # A verdict saved before a later one of its account changes what that later one is:
    # those accounts (none, unless audits were saved out of their order) are recounted.
    behind = (
        select(literal(1))
        .where(p.c.account_id == v.c.account_id, p.c.run_id != run_id, later(p, v))
        .exists()
    )
    late = select(v.c.account_id).where(v.c.run_id == run_id, behind).distinct()
    accounts = list(conn.execute(late).scalars())
    if accounts:
        recount(conn, accounts)
