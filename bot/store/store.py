"""The one store of rootkey: audit history and digest slots over SQLAlchemy 2.

Handlers, services and the scheduler call these methods; no SQL is written anywhere else.
``Store.open(url)`` connects and applies the Alembic migrations (``bot/store/migrations``),
so a fresh SQLite file or PostgreSQL database is ready to use.
"""

from __future__ import annotations

import logging
import sqlite3
import time as clock
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    Connection,
    Engine,
    Row,
    and_,
    case,
    cast,
    create_engine,
    event,
    func,
    insert,
    null,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from bot.audit.models import AuditResult, KeySlot, Status, Summary, utcnow
from bot.store.models import DigestSlotRow, RunRow, UtcDateTime, VerdictRow
from bot.store.records import (
    TRIGGERS,
    AccountState,
    Changes,
    DigestSlot,
    HistoryEntry,
    RunInfo,
    StoreError,
    TrendDay,
    UnknownRun,
)

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x726F6F746B6579  # pg_advisory_xact_lock key ("rootkey")
SQLITE_BUSY_TIMEOUT_MS = 30_000

RUNS = RunRow.__table__
VERDICTS = VerdictRow.__table__
SLOTS = DigestSlotRow.__table__


def normalise_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` use psycopg 3 (the driver rootkey installs)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def create_store_engine(url: str) -> Engine:
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)

    memory = parsed.database in (None, "", ":memory:")
    if not memory:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        # We issue BEGIN ourselves (below), so that transactions, savepoints and
        # BEGIN IMMEDIATE behave as written.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            enable_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def enable_wal(cursor: Any) -> None:
    """Switch the file to write-ahead logging. Several processes opening a new file at once
    race for the switch, and SQLite answers "locked" there without waiting for its busy
    timeout, so the switch is retried for as long as that timeout."""
    deadline = clock.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or clock.monotonic() > deadline:
                raise
            clock.sleep(0.02)


@contextmanager
def database_errors() -> Iterator[None]:
    """Any driver or SQLAlchemy failure leaves the store as one ``StoreError`` line."""
    try:
        yield
    except StoreError:
        raise
    except DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"database error: {detail}") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"database error: {str(exc).splitlines()[0]}") from exc


def status_of(value: str | None) -> Status | None:
    return Status(value) if value else None


def keys_of(data: Iterable[dict[str, Any]] | None) -> tuple[KeySlot, ...]:
    return tuple(KeySlot.from_dict(item) for item in data or ())


def slot_of(row: Row[Any]) -> DigestSlot:
    return DigestSlot(
        id=row.id,
        channel=row.channel,
        slot_time=row.slot_time,
        state=row.state,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        attempts=row.attempts,
        run_id=row.run_id,
        baseline_run_id=row.baseline_run_id,
        message_ts=row.message_ts,
        posted_at=row.posted_at,
        error=row.error,
    )


class Store:
    """Audit history, the questions asked of it, and the digest slot claims."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect to ``url`` (``sqlite:///...`` or ``postgresql+psycopg://...``), migrate."""
        store = cls(create_store_engine(url))
        if migrate:
            try:
                store.migrate()
            except BaseException:
                store.close()
                raise
        return store

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self, revision: str = "head") -> None:
        """Apply the Alembic migrations, one process at a time (several may start together)."""
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        with database_errors(), self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    lock = text("SELECT pg_advisory_xact_lock(:key)")
                    conn.execute(lock, {"key": MIGRATION_LOCK})
                config.attributes["connection"] = conn
                command.upgrade(config, revision)

    def schema_revision(self) -> str | None:
        with database_errors(), self.engine.connect() as conn:
            try:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except DBAPIError:
                return None

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, for store modules of other parts (same database)."""
        with database_errors(), self.engine.begin() as conn:
            yield conn

    # -- saving ---------------------------------------------------------------------------

    def save_run(
        self,
        result: AuditResult,
        trigger: str,
        requested_by: str | None = None,
        channel: str | None = None,
    ) -> int:
        """Save an audit and every account's verdict with its evidence; returns the run id."""
        if trigger not in TRIGGERS:
            raise ValueError(f"trigger must be one of {', '.join(TRIGGERS)}, not {trigger!r}")
        summary = result.summary
        with self.transaction() as conn:
            run_id = conn.execute(
                insert(RUNS)
                .values(
                    started_at=result.started_at,
                    finished_at=result.finished_at,
                    scope=result.scope,
                    trigger=trigger,
                    requested_by=requested_by,
                    channel=channel,
                    total=summary.total,
                    compliant=summary.compliant,
                    noncompliant=summary.noncompliant,
                    errors=summary.error,
                    features=result.features.to_dict(),
                )
                .returning(RUNS.c.id)
            ).scalar_one()
            rows = [
                {
                    "run_id": run_id,
                    "account_id": v.account_id,
                    "account_name": v.account_name,
                    "status": v.status.value,
                    "reason": v.reason,
                    "source": v.source,
                    "keys": [k.to_dict() for k in v.keys],
                    "root_mfa_active": v.root_mfa_active,
                    "evidence": v.evidence.to_dict(),
                    "checked_at": v.checked_at,
                }
                for v in result.verdicts
            ]
            for start in range(0, len(rows), 2000):
                conn.execute(insert(VERDICTS), rows[start : start + 2000])
        return int(run_id)

    # -- runs -----------------------------------------------------------------------------

    def get_run(self, run_id: int) -> RunInfo:
        with self.transaction() as conn:
            row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).first()
        if row is None:
            raise UnknownRun(run_id)
        return self.run_of(row)

    def last_run(self, *, trigger: str | None = None, scope: str | None = None) -> RunInfo | None:
        query = select(RUNS).order_by(RUNS.c.finished_at.desc(), RUNS.c.id.desc()).limit(1)
        if trigger:
            query = query.where(RUNS.c.trigger == trigger)
        if scope:
            query = query.where(RUNS.c.scope == scope)
        with self.transaction() as conn:
            row = conn.execute(query).first()
        return self.run_of(row) if row else None

    @staticmethod
    def run_of(row: Row[Any]) -> RunInfo:
        return RunInfo(
            id=row.id,
            started_at=row.started_at,
            finished_at=row.finished_at,
            scope=row.scope,
            trigger=row.trigger,
            requested_by=row.requested_by,
            channel=row.channel,
            summary=Summary(
                total=row.total,
                compliant=row.compliant,
                noncompliant=row.noncompliant,
                error=row.errors,
            ),
        )

    # -- accounts -------------------------------------------------------------------------

    def account_states(
        self,
        *,
        run_id: int | None = None,
        account_ids: Sequence[str] | None = None,
        baseline: datetime | None = None,
    ) -> list[AccountState]:
        """Each account's verdict in run ``run_id`` (default: its latest) with its history.

        History is read up to that verdict: first seen, last change of status, the start of the
        open noncompliant streak, and the status last seen at ``baseline``.
        """
        v = VERDICTS
        if run_id is not None:
            cur_q = select(v.c.id, v.c.account_id, v.c.status, v.c.checked_at).where(
                v.c.run_id == run_id
            )
            if account_ids is not None:
                cur_q = cur_q.where(v.c.account_id.in_(list(account_ids)))
        else:
            rank = (
                func.row_number()
                .over(
                    partition_by=v.c.account_id,
                    order_by=(v.c.checked_at.desc(), v.c.id.desc()),
                )
                .label("rank")
            )
            ranked_q = select(v.c.id, v.c.account_id, v.c.status, v.c.checked_at, rank)
            if account_ids is not None:
                ranked_q = ranked_q.where(v.c.account_id.in_(list(account_ids)))
            ranked = ranked_q.subquery("ranked")
            cur_q = select(
                ranked.c.id, ranked.c.account_id, ranked.c.status, ranked.c.checked_at
            ).where(ranked.c.rank == 1)
        cur = cur_q.cte("cur")

        # Pass 1 over each account's history up to its current verdict.
        h = v.alias("h")
        known_by_baseline = (
            and_(h.c.status != Status.ERROR.value, h.c.checked_at <= baseline)
            if baseline is not None
            else None
        )
        agg1 = (
            select(
                cur.c.account_id,
                func.min(h.c.checked_at).label("first_seen"),
                func.max(case((h.c.status == Status.COMPLIANT.value, h.c.checked_at))).label(
                    "last_compliant"
                ),
                func.max(case((h.c.status != cur.c.status, h.c.checked_at))).label("last_other"),
                (
                    func.max(case((known_by_baseline, h.c.checked_at)))
                    if known_by_baseline is not None
                    else cast(null(), UtcDateTime)
                ).label("base_known_at"),
                (
                    func.max(case((h.c.checked_at <= baseline, h.c.checked_at)))
                    if baseline is not None
                    else cast(null(), UtcDateTime)
                ).label("base_any_at"),
            )
            .select_from(cur)
            .join(h, and_(h.c.account_id == cur.c.account_id, h.c.checked_at <= cur.c.checked_at))
            .group_by(cur.c.account_id)
            .cte("agg1")
        )

        # Pass 2: the starts of the current streaks, and the statuses at the baseline.
        h2 = v.alias("h2")
        agg2 = (
            select(
                cur.c.account_id,
                func.min(
                    case(
                        (
                            and_(
                                h2.c.status == Status.NONCOMPLIANT.value,
                                or_(
                                    agg1.c.last_compliant.is_(None),
                                    h2.c.checked_at > agg1.c.last_compliant,
                                ),
                            ),
                            h2.c.checked_at,
                        )
                    )
                ).label("open_since"),
                func.min(
                    case(
                        (
                            and_(
                                h2.c.status == cur.c.status,
                                or_(
                                    agg1.c.last_other.is_(None),
                                    h2.c.checked_at > agg1.c.last_other,
                                ),
                            ),
                            h2.c.checked_at,
                        )
                    )
                ).label("last_change"),
                func.max(
                    case(
                        (
                            and_(
                                h2.c.checked_at == agg1.c.base_known_at,
                                h2.c.status != Status.ERROR.value,
                            ),
                            h2.c.status,
                        )
                    )
                ).label("base_status"),
                func.max(case((h2.c.checked_at == agg1.c.base_any_at, h2.c.status))).label(
                    "base_raw_status"
                ),
                func.min(agg1.c.first_seen).label("first_seen"),
            )
            .select_from(cur)
            .join(agg1, agg1.c.account_id == cur.c.account_id)
            .join(
                h2,
                and_(h2.c.account_id == cur.c.account_id, h2.c.checked_at <= cur.c.checked_at),
            )
            .group_by(cur.c.account_id)
            .cte("agg2")
        )

        query = (
            select(
                v.c.id,
                v.c.run_id,
                v.c.account_id,
                v.c.account_name,
                v.c.status,
                v.c.reason,
                v.c["keys"],
                v.c.root_mfa_active,
                v.c.checked_at,
                agg2.c.first_seen,
                agg2.c.open_since,
                agg2.c.last_change,
                agg2.c.base_status,
                agg2.c.base_raw_status,
            )
            .select_from(cur)
            .join(v, v.c.id == cur.c.id)
            .join(agg2, agg2.c.account_id == cur.c.account_id)
            .order_by(v.c.account_id)
        )
        with self.transaction() as conn:
            rows = conn.execute(query).all()
        states = []
        for row in rows:
            status = Status(row.status)
            states.append(
                AccountState(
                    account_id=row.account_id,
                    account_name=row.account_name,
                    status=status,
                    reason=row.reason,
                    checked_at=row.checked_at,
                    run_id=row.run_id,
                    keys=keys_of(row.keys),
                    root_mfa_active=row.root_mfa_active,
                    first_seen=row.first_seen or row.checked_at,
                    last_change=row.last_change or row.checked_at,
                    open_since=None if status is Status.COMPLIANT else row.open_since,
                    baseline_status=status_of(row.base_status),
                    baseline_raw_status=status_of(row.base_raw_status),
                )
            )
        return states

    def latest(self, account_ids: Sequence[str] | None = None) -> list[AccountState]:
        """The latest verdict of every account ever audited (or of those named)."""
        return self.account_states(account_ids=account_ids)

    def latest_state(self, account_id: str) -> AccountState | None:
        states = self.account_states(account_ids=[account_id])
        return states[0] if states else None

    def changes(self, *, run_id: int | None = None, baseline: datetime | None) -> Changes:
        """What changed between ``baseline`` and run ``run_id`` (default: latest verdicts).

        New: noncompliant now, with an open streak that began after the baseline. Fixed:
        compliant now, noncompliant when last seen before the baseline. Errors are listed
        apart, never counted as compliant. Without a baseline everything open is new.
        """
        states = self.account_states(run_id=run_id, baseline=baseline)
        return changes_of(states, baseline)

    def changes_since(self, since_run_id: int, *, run_id: int | None = None) -> Changes:
        """What changed since run ``since_run_id`` (as of its end) up to ``run_id``."""
        return self.changes(run_id=run_id, baseline=self.get_run(since_run_id).finished_at)

    def history(self, account_id: str, limit: int = 100) -> list[HistoryEntry]:
        """An account's verdicts, newest first."""
        v, r = VERDICTS, RUNS
        query = (
            select(
                v.c.run_id,
                v.c.checked_at,
                v.c.status,
                v.c.reason,
                v.c.account_name,
                v.c["keys"],
                v.c.root_mfa_active,
                r.c.trigger,
                r.c.requested_by,
            )
            .join(r, r.c.id == v.c.run_id)
            .where(v.c.account_id == account_id)
            .order_by(v.c.checked_at.desc(), v.c.id.desc())
            .limit(limit)
        )
        with self.transaction() as conn:
            rows = conn.execute(query).all()
        return [
            HistoryEntry(
                run_id=row.run_id,
                checked_at=row.checked_at,
                status=Status(row.status),
                reason=row.reason,
                account_name=row.account_name,
                keys=keys_of(row.keys),
                root_mfa_active=row.root_mfa_active,
                trigger=row.trigger,
                requested_by=row.requested_by,
            )
            for row in rows
        ]

    def trend(
        self, days: int = 30, *, now: datetime | None = None, zone: tzinfo = UTC
    ) -> list[TrendDay]:
        """Per calendar day (in ``zone``) of the last ``days``: accounts by their status at the
        end of that day (the last verdict seen by then), for accounts audited at least once."""
        now = now or utcnow()
        today = now.astimezone(zone).date()
        first_day = today - timedelta(days=days - 1)
        day_list = [first_day + timedelta(days=i) for i in range(days)]
        # Local midnights as UTC instants: the end of each day is the start of the next.
        ends = [
            datetime.combine(d + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
            for d in day_list
        ]
        start = datetime.combine(first_day, time.min, tzinfo=zone).astimezone(UTC)

        v = VERDICTS
        rank = (
            func.row_number()
            .over(partition_by=v.c.account_id, order_by=(v.c.checked_at.desc(), v.c.id.desc()))
            .label("rank")
        )
        before = select(v.c.account_id, v.c.status, rank).where(v.c.checked_at < start).subquery()
        state: dict[str, str] = {}
        counts = {s.value: 0 for s in Status}
        trend: list[TrendDay] = []
        with self.transaction() as conn:
            for account_id, status in conn.execute(
                select(before.c.account_id, before.c.status).where(before.c.rank == 1)
            ):
                state[account_id] = status
                counts[status] += 1
            # Only the verdicts that change an account's status move the counts: the database
            # finds them (LAG over the covering index), Python walks just those.
            previous = (
                func.lag(v.c.status)
                .over(partition_by=v.c.account_id, order_by=(v.c.checked_at, v.c.id))
                .label("previous")
            )
            window = (
                select(v.c.account_id, v.c.status, v.c.checked_at, previous)
                .where(v.c.checked_at >= start, v.c.checked_at <= now)
                .subquery()
            )
            rows = conn.execution_options(yield_per=5000).execute(
                select(window.c.account_id, window.c.status, window.c.checked_at)
                .where(or_(window.c.previous.is_(None), window.c.previous != window.c.status))
                .order_by(window.c.checked_at, window.c.account_id)
            )
            index = 0
            for account_id, status, checked_at in rows:
                while index < days and checked_at >= ends[index]:
                    trend.append(self.trend_day(day_list[index], counts))
                    index += 1
                old = state.get(account_id)
                if old != status:
                    if old is not None:
                        counts[old] -= 1
                    counts[status] += 1
                    state[account_id] = status
        while index < days:
            trend.append(self.trend_day(day_list[index], counts))
            index += 1
        return trend

    @staticmethod
    def trend_day(day: date, counts: dict[str, int]) -> TrendDay:
        return TrendDay(
            day=day,
            compliant=counts[Status.COMPLIANT.value],
            noncompliant=counts[Status.NONCOMPLIANT.value],
            error=counts[Status.ERROR.value],
        )

    # -- digest slots ---------------------------------------------------------------------

    def claim_slot(
        self,
        channel: str,
        slot_time: datetime,
        owner: str,
        *,
        lease: timedelta = timedelta(minutes=5),
        now: datetime | None = None,
    ) -> DigestSlot | None:
        """Claim the digest of ``slot_time`` for ``channel``; None when another has it.

        A slot is free when it was never claimed, when its posting failed, or when its claim
        went stale (no heartbeat for ``lease``: the process that held it died). The insert and
        the update are atomic, so of several processes exactly one gets the slot.
        """
        now = now or utcnow()
        slot_time = slot_time.astimezone(UTC).replace(microsecond=0)
        values = {
            "channel": channel,
            "slot_time": slot_time,
            "state": "claimed",
            "claimed_by": owner,
            "claimed_at": now,
            "attempts": 1,
        }
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self.transaction() as conn:
            slot_id = conn.execute(
                dialect_insert(SLOTS)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["slot_time", "channel"])
                .returning(SLOTS.c.id)
            ).scalar()
            if slot_id is None:
                slot_id = conn.execute(
                    update(SLOTS)
                    .where(
                        SLOTS.c.channel == channel,
                        SLOTS.c.slot_time == slot_time,
                        or_(
                            SLOTS.c.state == "failed",
                            and_(SLOTS.c.state == "claimed", SLOTS.c.claimed_at < now - lease),
                        ),
                    )
                    .values(
                        state="claimed",
                        claimed_by=owner,
                        claimed_at=now,
                        attempts=SLOTS.c.attempts + 1,
                        error=None,
                    )
                    .returning(SLOTS.c.id)
                ).scalar()
            if slot_id is None:
                return None
            row = conn.execute(select(SLOTS).where(SLOTS.c.id == slot_id)).one()
        return slot_of(row)

    def heartbeat_slot(self, slot_id: int, owner: str) -> bool:
        """Keep a claim fresh while its digest is being built and posted."""
        return self.finish_slot(slot_id, owner, state="claimed")

    def mark_slot_posted(
        self,
        slot_id: int,
        owner: str,
        *,
        run_id: int | None,
        baseline_run_id: int | None,
        message_ts: str | None,
    ) -> bool:
        return self.finish_slot(
            slot_id,
            owner,
            state="posted",
            run_id=run_id,
            baseline_run_id=baseline_run_id,
            message_ts=message_ts,
            posted_at=utcnow(),
        )

    def mark_slot_failed(
        self, slot_id: int, owner: str, error: str, *, run_id: int | None = None
    ) -> bool:
        return self.finish_slot(slot_id, owner, state="failed", error=error[:2000], run_id=run_id)

    def finish_slot(self, slot_id: int, owner: str, *, state: str, **values: Any) -> bool:
        with self.transaction() as conn:
            changed = conn.execute(
                update(SLOTS)
                .where(
                    SLOTS.c.id == slot_id,
                    SLOTS.c.claimed_by == owner,
                    SLOTS.c.state == "claimed",
                )
                .values(state=state, claimed_at=utcnow(), **values)
                .returning(SLOTS.c.id)
            ).scalar()
        return changed is not None

    def last_posted_slot(
        self, channel: str | None = None, *, with_run: bool = False
    ) -> DigestSlot | None:
        """The newest posted digest (of ``channel``, or of any channel; with an audit run)."""
        query = (
            select(SLOTS)
            .where(SLOTS.c.state == "posted")
            .order_by(SLOTS.c.slot_time.desc(), SLOTS.c.id.desc())
            .limit(1)
        )
        if channel is not None:
            query = query.where(SLOTS.c.channel == channel)
        if with_run:
            query = query.where(SLOTS.c.run_id.is_not(None))
        with self.transaction() as conn:
            row = conn.execute(query).first()
        return slot_of(row) if row else None

    def unfinished_slot(self, channel: str) -> DigestSlot | None:
        """The newest failed (or abandoned) slot of ``channel`` later than its last post."""
        posted = self.last_posted_slot(channel)
        query = (
            select(SLOTS)
            .where(SLOTS.c.channel == channel, SLOTS.c.state.in_(("failed", "claimed")))
            .order_by(SLOTS.c.slot_time.desc())
            .limit(1)
        )
        if posted is not None:
            query = query.where(SLOTS.c.slot_time > posted.slot_time)
        with self.transaction() as conn:
            row = conn.execute(query).first()
        return slot_of(row) if row else None

    def get_slot(self, channel: str, slot_time: datetime) -> DigestSlot | None:
        slot_time = slot_time.astimezone(UTC).replace(microsecond=0)
        query = select(SLOTS).where(SLOTS.c.channel == channel, SLOTS.c.slot_time == slot_time)
        with self.transaction() as conn:
            row = conn.execute(query).first()
        return slot_of(row) if row else None

    def has_slots(self, channel: str) -> bool:
        """Whether a digest was ever scheduled for ``channel``."""
        with self.transaction() as conn:
            found = conn.execute(select(SLOTS.c.id).where(SLOTS.c.channel == channel).limit(1))
            return found.first() is not None

    def slots(self, channel: str | None = None) -> list[DigestSlot]:
        query = select(SLOTS).order_by(SLOTS.c.slot_time, SLOTS.c.id)
        if channel is not None:
            query = query.where(SLOTS.c.channel == channel)
        with self.transaction() as conn:
            return [slot_of(row) for row in conn.execute(query)]


def changes_of(states: Sequence[AccountState], baseline: datetime | None) -> Changes:
    def new(state: AccountState) -> bool:
        return baseline is None or (state.open_since is not None and state.open_since > baseline)

    open_now = [s for s in states if s.status is Status.NONCOMPLIANT]
    errors = sorted((s for s in states if s.status is Status.ERROR), key=lambda s: s.account_id)
    return Changes(
        baseline=baseline,
        new_noncompliant=tuple(sorted((s for s in open_now if new(s)), key=lambda s: s.account_id)),
        fixed=tuple(
            sorted(
                (
                    s
                    for s in states
                    if s.status is Status.COMPLIANT and s.baseline_status is Status.NONCOMPLIANT
                ),
                key=lambda s: s.account_id,
            )
        ),
        still_open=tuple(
            sorted(open_now, key=lambda s: (s.open_since or s.checked_at, s.account_id))
        ),
        errors=tuple(errors),
        new_errors=tuple(s for s in errors if s.baseline_raw_status is not Status.ERROR),
    )
