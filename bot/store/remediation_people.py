"""Who asked for a request and who approved it, as its hashed log lines recorded them
(``bot.remediation.chain``).

``remediation_requests.requester`` and ``remediation_approvals`` stay working copies, written
in the same transaction as the lines; the bot's database role may insert, change or delete
their rows, never the log's lines. So:

* a request's requester is the actor of its first move line (to ``requested``);
* its approvals are its ``approval`` lines: one per person (their first), the requester's
  never, in the order they were written;
* the two-person rule (``ROOTKEY_REQUIRED_APPROVALS`` distinct approvers, never the
  requester), an approval's count and "you already approved" read these, never the tables:
  a row inserted in ``remediation_approvals`` counts for nobody, a row deleted does not let
  its approver approve twice, and a requester renamed in the table is still the requester;
* ``python -m bot log --verify`` names each request whose tables name other people
  (``people_disagreements``).

Since revision 0002 every request wrote its row and its first line, and every approval its
row and its line, in one transaction: chains from before this rule agree with their tables.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, and_, delete, insert, or_, select

from bot.remediation.models import Approval, Request
from bot.remediation.states import State
from bot.store.remediation_moves import MOVE
from bot.store.remediation_rows import Unchanged
from bot.store.remediation_tables import A, L, R
from bot.store.remediation_terms import Disagreement

APPROVAL = "approval"  # the event of an approval's line


@dataclass(frozen=True)
class People:
    """A request's requester and approvals as logged, with the lines that recorded them."""

    requester: str | None  # None: no line recorded the request (rootkey did not make it)
    request_line: int | None
    approvals: tuple[Approval, ...] = ()
    last_approval_line: int | None = None

    @property
    def approvers(self) -> tuple[str, ...]:
        return tuple(a.user for a in self.approvals)


def logged_people(conn: Connection, request_ids: Collection[int] | None) -> dict[int, People]:
    """Request id -> its requester and approvals as logged (``None``: of every request); a
    request without a line is left out."""
    query = (
        select(L.c.request_id, L.c.id, L.c.actor, L.c.at, L.c.event)
        .where(
            or_(
                L.c.event == APPROVAL,
                and_(L.c.event == MOVE, L.c.to_state == State.REQUESTED.value),
            )
        )
        .order_by(L.c.id)
    )
    if request_ids is not None:
        if not request_ids:
            return {}
        query = query.where(L.c.request_id.in_(sorted(set(request_ids))))
    found: dict[int, People] = {}
    for line in conn.execute(query):
        rid = int(line.request_id)
        people = found.get(rid, People(None, None))
        if line.event == MOVE:
            if people.requester is None:
                people = replace(people, requester=line.actor, request_line=int(line.id))
        elif line.actor != people.requester and line.actor not in people.approvers:
            approval = Approval(line.actor, line.at)
            people = replace(
                people, approvals=(*people.approvals, approval), last_approval_line=int(line.id)
            )
        found[rid] = people
    return found


def with_people(request: Request, people: People | None) -> Request:
    """``request`` with its logged requester (when a line recorded one) and its logged
    approvals (none without a line), in place of its tables'."""
    if people is None:
        return replace(request, approvals=())
    requester = people.requester if people.requester is not None else request.requester
    return replace(request, requester=requester, approvals=people.approvals)


def with_logged_people(conn: Connection, requests: Sequence[Request]) -> list[Request]:
    """``requests``, each with its logged requester and approvals (``with_people``)."""
    found = logged_people(conn, [r.id for r in requests])
    return [with_people(r, found.get(r.id)) for r in requests]


def counted_with(
    conn: Connection, request_id: int, user: str, approvers: Collection[str] | None
) -> int:
    """Inside an approval's transaction: how many approvals the request has with ``user``'s
    (only those of ``approvers``, when given, count). ``Unchanged`` (the approval rolls back)
    when ``user`` asked for it or already approved it, as logged, or no line recorded it."""
    people = logged_people(conn, [request_id]).get(request_id)
    if people is None or people.requester in (None, user) or user in people.approvers:
        raise Unchanged
    return sum(1 for u in (*people.approvers, user) if approvers is None or u in approvers)


def record_approval(conn: Connection, request_id: int, user: str, now: datetime) -> None:
    """The working copy of an approval: ``user``'s row, in place of any row the table held
    for them without a line (which counted for nothing)."""
    conn.execute(delete(A).where(A.c.request_id == request_id, A.c.user == user))
    conn.execute(insert(A).values(request_id=request_id, user=user, at=now))


def _names(users: Collection[str]) -> str:
    return ", ".join(sorted(users)) or "nobody"


def people_disagreements(conn: Connection) -> list[Disagreement]:
    """Every request whose ``requester`` or approvals rows name other people than its lines,
    in request id order."""
    logged = logged_people(conn, None)
    rows: dict[int, set[str]] = {}
    for a in conn.execute(select(A.c.request_id, A.c.user)):
        rows.setdefault(int(a.request_id), set()).add(a.user)
    found: list[Disagreement] = []
    for r in conn.execute(select(R.c.id, R.c.requester).order_by(R.c.id)):
        rid, people = int(r.id), logged.get(int(r.id))
        if people is None or people.requester is None:
            continue  # no line recorded the request: named with its terms, if open
        if r.requester != people.requester:
            what = f"remediation_requests.requester is {r.requester}, the line {people.requester}"
            found.append(Disagreement(rid, people.request_line, (what,), "its request"))
        table = rows.get(rid, set())
        if table != set(people.approvers):
            what = (
                f"remediation_approvals has {_names(table)}, the lines {_names(people.approvers)}"
            )
            if people.last_approval_line is None:
                found.append(Disagreement(rid, people.request_line, (what,), "no approval"))
            else:
                found.append(Disagreement(rid, people.last_approval_line, (what,), "its approvals"))
    return found
