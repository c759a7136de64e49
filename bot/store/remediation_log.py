"""Appending to the remediation log: one line, hashed and chained to the line before it.

Appends take one lock (PostgreSQL: a transaction-level advisory lock; SQLite: the write lock
of the caller's ``BEGIN IMMEDIATE``) so the chain has no forks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, text

from bot.remediation.chain import GENESIS, LineContent, line_hash
from bot.remediation.models import LogEntry
from bot.remediation.states import State
from bot.remediation.terms import Terms
from bot.store.remediation_tables import L, R

LOG_CHAIN_LOCK = 7_306_001  # pg_advisory_xact_lock key: one log append at a time


def append_line(
    conn: Connection,
    request_id: int,
    actor: str,
    event: str,
    now: datetime,
    detail: str,
    from_state: State | None = None,
    to_state: State | None = None,
    actor_name: str | None = None,
    terms: Terms | None = None,
) -> LogEntry:
    """Write one line, chained to the last one. ``detail`` and ``actor_name`` are plain
    text for auditors (names and ids, never Slack markup): the hash covers them as they
    are, so markup is rendered only where a line is shown in Slack. ``terms``: what this
    line decides (a request's keys, an accepted risk's owner and dates), hashed with it."""
    if conn.dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE holds the write lock
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOG_CHAIN_LOCK})
    request = conn.execute(select(R.c.account_id, R.c.kind).where(R.c.id == request_id)).one()
    previous = conn.execute(select(L.c.hash).order_by(L.c.id.desc()).limit(1)).scalar()
    content = LineContent(
        request_id=request_id,
        account_id=request.account_id,
        kind=request.kind,
        at=now,
        actor=actor,
        event=event,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value if to_state else None,
        detail=detail,
        actor_name=actor_name,
        terms=terms.encode() if terms is not None else None,
    )
    digest = line_hash(previous or GENESIS, content)
    values = {
        "request_id": request_id,
        "account_id": content.account_id,
        "kind": content.kind,
        "at": now,
        "actor": actor,
        "event": event,
        "from_state": content.from_state,
        "to_state": content.to_state,
        "detail": detail,
        "hash": digest,
        "actor_name": actor_name,
        "terms": content.terms,
    }
    new_id = conn.execute(insert(L).values(**values).returning(L.c.id)).scalar_one()
    return LogEntry(
        id=int(new_id),
        request_id=request_id,
        at=now,
        actor=actor,
        event=event,
        from_state=content.from_state,
        to_state=content.to_state,
        detail=detail,
        account_id=content.account_id,
        kind=content.kind,
        hash=digest,
        actor_name=actor_name,
        terms=content.terms,
    )
