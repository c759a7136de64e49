"""A request's state, as the last move its hashed log recorded (``bot.remediation.chain``).

Every move of a request (its creation, each transition, its approval) is one log line with the
event ``transition`` and the new state (``to_state``), written in the same transaction as the
``UPDATE`` of ``remediation_requests.state``. That column stays the working copy the
conditional updates lock on; the bot's database role may change it, the log it cannot. So:

* the state every rule acts on (the accepted risks in force or lapsed, the approved
  remediations that run, the requests open, overdue or tracked) is the ``to_state`` of the
  request's last move line, and it holds since that line's time;
* a request moves only when its row and its last move both say it is in the state it moves
  from (a row set back to ``approved`` after a rejection or a revocation moves nowhere);
* ``python -m bot log --verify`` names each request whose row disagrees with its last move.

A request no move line was written for was not made by rootkey: no rule selects it and it
cannot move. Chains from before this rule verify as they are: each of their moves was logged.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, func, select

from bot.remediation.models import Request
from bot.remediation.states import State
from bot.store.remediation_rows import Unchanged
from bot.store.remediation_tables import L, R

log = logging.getLogger(__name__)

MOVE = "transition"  # the event of every line that moves a request
MOVED = and_(L.c.event == MOVE, L.c.to_state.is_not(None))  # a line that moved a request


def logged_state() -> ColumnElement[str | None]:
    """The ``to_state`` of the last move line of the ``remediation_requests`` row in the
    query (NULL: none)."""
    return (
        select(L.c.to_state)
        .where(L.c.request_id == R.c.id, MOVED)
        .order_by(L.c.id.desc())
        .limit(1)
        .correlate(R)
        .scalar_subquery()
    )


def in_states(states: Iterable[State]) -> ColumnElement[bool]:
    """A condition on ``remediation_requests`` rows: the last logged move is to one of
    ``states``."""
    return logged_state().in_(sorted(s.value for s in states))


@dataclass(frozen=True)
class Move:
    """A request's last move: its log line, the state it moved to and when."""

    line_id: int
    state: State
    at: datetime


def last_moves(conn: Connection, request_ids: Collection[int] | None) -> dict[int, Move]:
    """Request id -> its last move (``None``: of every request); a request without one is
    left out."""
    last = select(func.max(L.c.id)).where(MOVED).group_by(L.c.request_id)
    if request_ids is not None:
        if not request_ids:
            return {}
        last = last.where(L.c.request_id.in_(sorted(set(request_ids))))
    rows = conn.execute(
        select(L.c.request_id, L.c.id, L.c.to_state, L.c.at).where(L.c.id.in_(last))
    )
    return {int(r.request_id): Move(int(r.id), State(r.to_state), r.at) for r in rows}


def moved(request: Request, move: Move | None) -> Request:
    """``request`` in the state of its last move, since that move (unchanged without one)."""
    if move is None:
        return request
    return replace(request, state=move.state, state_since=move.at)


def with_last_moves(conn: Connection, requests: Sequence[Request]) -> list[Request]:
    """``requests``, each in the state of its last move (``moved``)."""
    found = last_moves(conn, [r.id for r in requests])
    return [moved(r, found.get(r.id)) for r in requests]


def require_logged(conn: Connection, request_id: int, state: State) -> None:
    """Inside a move's transaction, once the row is locked: ``Unchanged`` (the move rolls
    back) unless the request's last logged move also left it in ``state``. Its row was set
    there by hand: the move is refused and logged, ``log --verify`` names the request."""
    move = last_moves(conn, [request_id]).get(request_id)
    if move is None or move.state is not state:
        log.warning(
            "request #%d: its row says %s, its last logged move %s; not moved "
            "(python -m bot log --verify names it)",
            request_id,
            state.value,
            f"says {move.state.value}" if move else "is missing",
        )
        raise Unchanged


def state_disagreement(table_state: str, move: Move) -> str | None:
    """In words, where ``remediation_requests.state`` is not the last move's state."""
    if table_state == move.state.value:
        return None
    return f"remediation_requests.state is {table_state}, the line {move.state.value}"
