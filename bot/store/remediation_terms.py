"""Reading a request's terms from its hashed log line (``bot.remediation.terms``), and finding
the requests whose tables say something else.

The requests and exceptions tables stay the working copies the bot queries by state and date;
what a request is about (its keys, its reason and ticket, an accepted risk's owner and dates)
is taken from its log.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from bot.records.remediation import OPEN_FOR_ACCOUNT
from bot.remediation.models import Request, RiskException
from bot.remediation.states import Kind, State
from bot.remediation.terms import Logged, applied, decided, disagreements
from bot.store.remediation_moves import in_states, last_moves, state_disagreement
from bot.store.remediation_rows import row_to_request
from bot.store.remediation_tables import L, R, X


def logged_terms(conn: Connection, request_ids: Collection[int] | None) -> dict[int, Logged]:
    """Request id -> its terms as logged (``terms.decided``); None: of every request."""
    query = (
        select(L.c.request_id, L.c.id, L.c.to_state, L.c.terms)
        .where(L.c.terms.is_not(None))
        .order_by(L.c.id)
    )
    if request_ids is not None:
        if not request_ids:
            return {}
        query = query.where(L.c.request_id.in_(sorted(set(request_ids))))
    lines: dict[int, list[tuple[int, str | None, str]]] = {}
    for row in conn.execute(query):
        lines.setdefault(int(row.request_id), []).append((int(row.id), row.to_state, row.terms))
    return {rid: found for rid, ls in lines.items() if (found := decided(ls)) is not None}


def with_logged_terms(conn: Connection, requests: Sequence[Request]) -> list[Request]:
    """``requests`` with their logged terms in place of their tables' (``terms.applied``)."""
    found = logged_terms(conn, [r.id for r in requests])
    return [applied(r, found.get(r.id)) for r in requests]


def approved_exceptions(conn: Connection) -> list[tuple[RiskException, datetime]]:
    """Every approved accepted risk whose approval logged its terms, as those terms say, with
    its end (the ``expires_at`` of the line, whatever ``risk_exceptions`` holds). Approved is
    the state of its last logged move (``remediation_moves``): one revoked or expired is no
    accepted risk whatever its row says, nor one approved without a line of terms."""
    rows = conn.execute(
        select(X.c.request_id, X.c.reason, X.c.account_name, R.c.account_id)
        .join(R, R.c.id == X.c.request_id)
        .where(in_states([State.APPROVED]), R.c.kind == Kind.EXCEPTION.value)
    ).all()
    found = logged_terms(conn, [int(r.request_id) for r in rows])
    risks: list[tuple[RiskException, datetime]] = []
    for r in rows:
        logged = found.get(int(r.request_id))
        if logged is None or not logged.approved:
            continue
        terms = logged.terms
        if terms.owner is None or terms.starts is None or terms.until is None:
            continue
        risk = RiskException(
            request_id=int(r.request_id),
            account_id=r.account_id,
            account_name=r.account_name,
            owner=terms.owner,
            reason=terms.reason if terms.reason is not None else r.reason,
            starts_at=terms.starts,
            expires_at=terms.until,
            key_prints=terms.keys,
        )
        risks.append((risk, terms.until))
    return sorted(risks, key=lambda pair: (pair[1], pair[0].request_id))


@dataclass(frozen=True)
class Disagreement:
    """A request whose tables say something else than the log line of its terms, or of its
    last move (``line_id``; None: an open request no line recorded terms for)."""

    request_id: int
    line_id: int | None
    what: tuple[str, ...]
    recorded: str = "its terms"  # what the line recorded: "its terms", "its last move"

    def __str__(self) -> str:
        if self.line_id is None:
            return (
                f"request {self.request_id} is open in the database, but no log line "
                "recorded its terms: rootkey did not make it"
            )
        return (
            f"request {self.request_id}: the database disagrees with log line {self.line_id}, "
            f"which recorded {self.recorded}: {'; '.join(self.what)}"
        )


def table_disagreements(conn: Connection) -> list[Disagreement]:
    """Every request whose tables disagree with its logged terms or its last logged move, in
    request id order."""
    logged = logged_terms(conn, None)
    moves = last_moves(conn, None)
    exceptions = {
        int(x.request_id): (x.owner, x.starts_at, x.expires_at, x.reason)
        for x in conn.execute(
            select(X.c.request_id, X.c.owner, X.c.starts_at, X.c.expires_at, X.c.reason)
        )
    }
    found: list[Disagreement] = []
    for row in conn.execute(select(R).order_by(R.c.id)):
        request = row_to_request(row)
        terms = logged.get(request.id)
        if terms is None:
            if request.state in OPEN_FOR_ACCOUNT:
                found.append(Disagreement(request.id, None, ()))
        elif what := disagreements(terms.terms, request, exceptions.get(request.id)):
            found.append(Disagreement(request.id, terms.line_id, tuple(what)))
        move = moves.get(request.id)
        if move is not None and (state := state_disagreement(row.state, move)):
            found.append(Disagreement(request.id, move.line_id, (state,), "its last move"))
    return found
