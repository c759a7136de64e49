"""Remediation requests, approvals, risk exceptions and their append-only audit log.

Every state change is a conditional ``UPDATE ... WHERE id = :id AND state = :expected``; only the
caller whose update touched the row has made the move, so double clicks, Slack retries, two
approvers at once and two bot processes never move a request twice. The log line of a move is
written in the same transaction as the move.

The log has no update or delete method here, and the migrations add database triggers that
refuse ``UPDATE`` and ``DELETE`` on it (SQLite and PostgreSQL) and, on SQLite, an ``INSERT`` over
an existing line (``INSERT OR REPLACE``). Each line stores the request's account and kind as
they were, and a SHA-256 chaining it to the line before (``bot.remediation.chain``): appends
take one lock (PostgreSQL: a transaction-level advisory lock; SQLite: the write lock) so the
chain has no forks.

What a request is about (its keys; an accepted risk's owner, start and end) is hashed into the
line of the request and of its approval (``bot.remediation.terms``); every request and accepted
risk this store returns carries those logged terms, never the tables' copies, which the bot's
own database role could change. Its state too is the one its last logged move recorded
(``bot.store.remediation_moves``): the rules select requests by it, and a request moves only
when its row and its last move agree on where it is. Its requester and its approvals are those
its lines recorded (``bot.store.remediation_people``): the approvals table counts for nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.records.remediation import BOT_ACTOR, OPEN_FOR_ACCOUNT, ApprovalOutcome, NewRequest
from bot.remediation import keys
from bot.remediation.chain import Anchor
from bot.remediation.errors import AlreadyOpen, RequestNotFound
from bot.remediation.models import Conversation, LogEntry, Request, RiskException
from bot.remediation.states import TRACKED_STATES, Kind, State, require
from bot.remediation.terms import Terms, applied
from bot.store.engine import database_errors
from bot.store.records import StoreError
from bot.store.remediation_log import append_line
from bot.store.remediation_moves import (
    MOVE,
    in_states,
    last_moves,
    moved,
    require_logged,
    with_last_moves,
)
from bot.store.remediation_people import (
    APPROVAL,
    counted_with,
    logged_people,
    people_disagreements,
    record_approval,
    with_logged_people,
    with_people,
)
from bot.store.remediation_rows import (
    Unchanged,
    row_to_log,
    row_to_request,
)
from bot.store.remediation_tables import L, R, X
from bot.store.remediation_terms import (
    Disagreement,
    approved_exceptions,
    logged_terms,
    table_disagreements,
    with_logged_terms,
)

__all__ = ["BOT_ACTOR", "OPEN_FOR_ACCOUNT", "NewRequest", "RemediationStore"]


class RemediationStore:
    """The only code that reads or writes the remediation tables."""

    UPDATABLE = frozenset(
        {"assignee", "checked_at", "message_ts", "thread_ts", "lease_owner", "lease_until"}
    )

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with database_errors(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction; on SQLite ``BEGIN IMMEDIATE`` so no read goes stale before the
        write lock is taken (PostgreSQL ignores the option and locks rows as it updates)."""
        with database_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    # -- reading -------------------------------------------------------------------------------

    def get(self, request_id: int) -> Request:
        with self.reading() as conn:
            return self.load(conn, request_id)

    def load(self, conn: Connection, request_id: int) -> Request:
        row = conn.execute(select(R).where(R.c.id == request_id)).first()
        if row is None:
            raise RequestNotFound(request_id)
        request = applied(row_to_request(row), logged_terms(conn, [request_id]).get(request_id))
        request = with_people(request, logged_people(conn, [request_id]).get(request_id))
        return moved(request, last_moves(conn, [request_id]).get(request_id))

    def find(
        self,
        states: Iterable[State] | None = None,
        kind: Kind | None = None,
        account_id: str | None = None,
    ) -> list[Request]:
        query = select(R).order_by(R.c.id)
        if states is not None:
            query = query.where(in_states(states))
        if kind is not None:
            query = query.where(R.c.kind == kind.value)
        if account_id is not None:
            query = query.where(R.c.account_id == account_id)
        with self.reading() as conn:
            rows = conn.execute(query).all()
            if not rows:
                return []
            found = with_logged_terms(conn, [row_to_request(r) for r in rows])
            return with_last_moves(conn, with_logged_people(conn, found))

    def open_requests(self) -> list[Request]:
        """Requests still waiting for a decision or a fix (not active exceptions)."""
        remediation = self.find(
            [State.REQUESTED, State.APPROVED, State.EXECUTING, *TRACKED_STATES],
            kind=Kind.REMEDIATION,
        )
        waiting = self.find([State.REQUESTED], kind=Kind.EXCEPTION)
        return sorted(remediation + waiting, key=lambda r: r.id)

    def overdue(self, now: datetime) -> list[Request]:
        """Requests still waiting for approval past their deadline."""
        with self.reading() as conn:
            ids = conn.execute(
                select(R.c.id).where(in_states([State.REQUESTED]), R.c.expires_at <= now)
            ).scalars()
            return [self.load(conn, i) for i in ids]

    def due_rechecks(self, now: datetime, interval: timedelta) -> list[Request]:
        with self.reading() as conn:
            ids = conn.execute(
                select(R.c.id).where(
                    in_states(TRACKED_STATES),
                    or_(R.c.checked_at.is_(None), R.c.checked_at <= now - interval),
                )
            ).scalars()
            return [self.load(conn, i) for i in ids]

    def active_exceptions(self, now: datetime) -> list[RiskException]:
        """Accepted risks in force at ``now``, each on the terms its approval logged (its keys,
        owner, start and end), whatever the tables say now (``bot.remediation.terms``)."""
        with self.reading() as conn:
            return [risk for risk, until in approved_exceptions(conn) if until > now]

    def lapsed_exceptions(self, now: datetime) -> list[Request]:
        """Approved accepted risks whose logged end has come."""
        with self.reading() as conn:
            ended = [risk.request_id for risk, until in approved_exceptions(conn) if until <= now]
            return [self.load(conn, i) for i in ended]

    def log(self, request_id: int | None = None) -> list[LogEntry]:
        return list(self.iter_log(request_id))

    def iter_log(self, request_id: int | None = None) -> Iterator[LogEntry]:
        query = select(L).order_by(L.c.id)
        if request_id is not None:
            query = query.where(L.c.request_id == request_id)
        with self.reading() as conn:
            for row in conn.execution_options(yield_per=500).execute(query):
                yield row_to_log(row)

    def log_head(self) -> Anchor | None:
        """The last log line's id and hash (None while the log is empty): kept outside the
        database, it shows lines cut off the end or a rewritten chain (``Anchor``)."""
        query = select(L.c.id, L.c.hash).order_by(L.c.id.desc()).limit(1)
        with self.reading() as conn:
            row = conn.execute(query).first()
        return Anchor(int(row.id), str(row.hash)) if row is not None and row.hash else None

    def disagreements(self) -> list[Disagreement]:
        """Requests whose tables disagree with the log lines of their terms, their last move,
        their requester or their approvals (``log --verify``), in request id order."""
        with self.reading() as conn:
            found = table_disagreements(conn) + people_disagreements(conn)
            return sorted(found, key=lambda d: d.request_id)

    # -- writing -------------------------------------------------------------------------------

    def create(self, new: NewRequest, now: datetime) -> Request:
        """Save a new request; ``AlreadyOpen`` when the account has an open one of this kind
        (checked by the database's unique index, so two at the same moment cannot both pass)."""
        try:
            return self.insert(new, now)
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise AlreadyOpen(new.account_id, new.kind.value) from None
            raise

    def insert(self, new: NewRequest, now: datetime) -> Request:
        with self.writing() as conn:
            request_id = conn.execute(
                insert(R)
                .values(
                    kind=new.kind.value,
                    account_id=new.account_id,
                    account_name=new.account_name,
                    state=State.REQUESTED.value,
                    mode=new.mode.value if new.mode else None,
                    requester=new.requester,
                    reason=new.reason,
                    ticket_url=new.ticket_url,
                    channel=new.where.place,
                    thread_ts=new.where.thread,
                    owner=new.owner,
                    exception_until=new.exception_until,
                    dry_run=new.dry_run,
                    key_prints=keys.encode(new.key_prints),
                    created_at=now,
                    expires_at=new.expires_at,
                    state_since=now,
                    version=0,
                )
                .returning(R.c.id)
            ).scalar_one()
            what = "remediation" if new.kind is Kind.REMEDIATION else "risk exception"
            asked = Terms.asked(
                new.kind, new.key_prints, new.owner, new.exception_until,
                reason=new.reason, ticket=new.ticket_url,
            )  # fmt: skip
            self.append(
                conn, request_id, new.requester, MOVE, now, f"{what} requested",
                to_state=State.REQUESTED, actor_name=new.requester_name, terms=asked,
            )  # fmt: skip
            return self.load(conn, request_id)

    def transition(
        self,
        request_id: int,
        from_state: State,
        to_state: State,
        actor: str,
        detail: str,
        now: datetime,
        holder: str | None = None,
        actor_name: str | None = None,
        **fields: Any,
    ) -> Request | None:
        """Move the request if (and only if) it is still in ``from_state``.

        Returns the moved request, or None when another click or process moved it first.
        A move out of ``executing`` also needs ``holder`` to be the lease owner: a process whose
        lease was taken over cannot finish the request under the one now running it.
        ``fields`` may also set a few columns in the same update (assignee, checked_at, ...).
        ``actor_name`` is the actor's name for the log line (plain text), when known.
        """
        unknown = set(fields) - self.UPDATABLE
        if unknown:
            raise ValueError(f"cannot set {sorted(unknown)} in a transition")
        try:
            with self.writing() as conn:
                kind = conn.execute(select(R.c.kind).where(R.c.id == request_id)).scalar()
                if kind is None:
                    raise RequestNotFound(request_id)
                require(Kind(kind), from_state, to_state)
                conditions = [R.c.id == request_id, R.c.state == from_state.value]
                if from_state is State.EXECUTING:
                    if holder is None:
                        raise ValueError("a move out of executing needs the lease holder")
                    conditions.append(R.c.lease_owner == holder)
                done = conn.execute(
                    update(R)
                    .where(*conditions)
                    .values(
                        state=to_state.value, state_since=now, version=R.c.version + 1, **fields
                    )
                )
                if done.rowcount != 1:
                    return None
                require_logged(conn, request_id, from_state)
                self.append(
                    conn, request_id, actor, MOVE, now, detail,
                    from_state=from_state, to_state=to_state, actor_name=actor_name,
                )  # fmt: skip
                return self.load(conn, request_id)
        except Unchanged:
            return None

    def approve(
        self,
        request_id: int,
        user: str,
        required: int,
        now: datetime,
        detail: str = "",
        approvers: Collection[str] | None = None,
        user_name: str | None = None,
    ) -> ApprovalOutcome:
        """Count ``user``'s approval once; the click that reaches ``required`` approves.

        ``approvers`` are the people who are approvers at this moment: only their approvals
        count towards ``required`` (someone removed since keeps their log line, not their say).
        Who asked and who approved are read from the log (``remediation_people.counted_with``):
        the requester is refused, and so is a second approval by the same person.

        The first statement takes the request's row lock (PostgreSQL) or the write lock
        (SQLite), so concurrent approvals are counted one after the other.
        """
        try:
            with self.writing() as conn:
                locked = conn.execute(
                    update(R)
                    .where(
                        R.c.id == request_id,
                        R.c.state == State.REQUESTED.value,
                        R.c.expires_at > now,  # too late: the request is (about to be) expired
                    )
                    .values(version=R.c.version + 1)
                )
                if locked.rowcount != 1:
                    raise Unchanged  # rolls back the version bump: a refused click changes nothing
                require_logged(conn, request_id, State.REQUESTED)
                count = counted_with(conn, request_id, user, approvers)  # as logged
                record_approval(conn, request_id, user, now)
                self.append(
                    conn, request_id, user, APPROVAL, now,
                    detail or f"approval {count} of {required}",
                    from_state=State.REQUESTED, to_state=State.REQUESTED, actor_name=user_name,
                )  # fmt: skip
                if count < required:
                    return ApprovalOutcome(True, False, self.load(conn, request_id))
                asked = self.load(conn, request_id)  # with the terms its request line logged
                terms = Terms.asked(
                    asked.kind, asked.key_prints, asked.owner, asked.exception_until,
                    reason=asked.reason, ticket=asked.ticket_url,
                ).approved(asked.kind, asked.requester, now)  # fmt: skip
                conn.execute(
                    update(R)
                    .where(R.c.id == request_id, R.c.state == State.REQUESTED.value)
                    .values(state=State.APPROVED.value, state_since=now, version=R.c.version + 1)
                )
                self.append(
                    conn, request_id, user, MOVE, now,
                    f"approved ({count} of {required} approvals)",
                    from_state=State.REQUESTED, to_state=State.APPROVED, actor_name=user_name,
                    terms=terms,
                )  # fmt: skip
                if asked.kind is Kind.EXCEPTION:
                    conn.execute(
                        insert(X).values(
                            request_id=request_id,
                            account_id=asked.account_id,
                            account_name=asked.account_name,
                            owner=terms.owner,
                            reason=asked.reason,
                            starts_at=now,
                            expires_at=terms.until,
                        )
                    )
                return ApprovalOutcome(True, True, self.load(conn, request_id))
        except Unchanged:
            return ApprovalOutcome(False, False, self.get(request_id))

    def set_place(self, request_id: int, where: Conversation) -> None:
        """Remember where the request message (with its buttons) and its thread are, as the
        notifier posted it (the conversation itself does not change)."""
        with self.writing() as conn:
            conn.execute(
                update(R)
                .where(R.c.id == request_id)
                .values(message_ts=where.message, thread_ts=where.thread)
            )

    def take_over(self, request: Request, owner: str, until: datetime) -> bool:
        """Take an executing request from a process that is gone (its lease as last seen)."""
        condition = (
            R.c.lease_owner.is_(None)
            if request.lease_owner is None
            else R.c.lease_owner == request.lease_owner
        )
        with self.writing() as conn:
            done = conn.execute(
                update(R)
                .where(R.c.id == request.id, R.c.state == State.EXECUTING.value, condition)
                .values(lease_owner=owner, lease_until=until, version=R.c.version + 1)
            )
            return done.rowcount == 1

    def renew_lease(self, request_id: int, owner: str, until: datetime) -> bool:
        """Extend ``owner``'s lease on an executing request; False when it is not ``owner``'s
        any more (another process took it over, or the request left executing)."""
        with self.writing() as conn:
            done = conn.execute(
                update(R)
                .where(
                    R.c.id == request_id,
                    R.c.state == State.EXECUTING.value,
                    R.c.lease_owner == owner,
                )
                .values(lease_until=until)
            )
            return done.rowcount == 1

    def release_lease(self, request_id: int, owner: str, now: datetime) -> bool:
        """End ``owner``'s lease on an executing request at once, so the resume path (of any
        process) re-audits it; False when ``owner`` does not hold it any more."""
        with self.writing() as conn:
            done = conn.execute(
                update(R)
                .where(
                    R.c.id == request_id,
                    R.c.state == State.EXECUTING.value,
                    R.c.lease_owner == owner,
                )
                .values(lease_until=now, version=R.c.version + 1)
            )
            return done.rowcount == 1

    def executing(self) -> list[Request]:
        return self.find([State.EXECUTING], kind=Kind.REMEDIATION)

    def claim_recheck(self, request: Request, now: datetime) -> bool:
        """Take the next re-audit of a tracked request; False when another process took it."""
        previous = request.checked_at
        condition = R.c.checked_at.is_(None) if previous is None else R.c.checked_at == previous
        with self.writing() as conn:
            done = conn.execute(
                update(R).where(R.c.id == request.id, condition).values(checked_at=now)
            )
            return done.rowcount == 1

    def claim_reminder(self, request_id: int, who: str, now: datetime) -> bool:
        """Claim the one reminder to ``assignee`` or ``approvers`` for this request."""
        column = {"assignee": R.c.reminded_assignee_at, "approvers": R.c.reminded_approvers_at}[who]
        with self.writing() as conn:
            done = conn.execute(
                update(R).where(R.c.id == request_id, column.is_(None)).values({column.key: now})
            )
            if done.rowcount != 1:
                return False
            self.append(conn, request_id, BOT_ACTOR, "reminder", now, f"reminded the {who}")
            return True

    def note(
        self,
        request_id: int,
        actor: str,
        event: str,
        detail: str,
        now: datetime,
        actor_name: str | None = None,
    ) -> LogEntry:
        """Append a log line that is not a state change (a step, a refusal, a note)."""
        with self.writing() as conn:
            state = conn.execute(select(R.c.state).where(R.c.id == request_id)).scalar()
            if state is None:
                raise RequestNotFound(request_id)
            move = last_moves(conn, [request_id]).get(request_id)
            state = move.state if move is not None else State(state)  # as logged, not as set
            return self.append(
                conn, request_id, actor, event, now, detail,
                from_state=state, to_state=state, actor_name=actor_name,
            )  # fmt: skip

    append = staticmethod(append_line)
