"""The one store of rootkey: audit history and digest slots over SQLAlchemy 2.

Handlers, services and the scheduler call these methods; no SQL is written anywhere else.
``Store.open(url)`` connects and applies the Alembic migrations (``bot/store/migrations``),
so a fresh SQLite file or PostgreSQL database is ready to use.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    CompoundSelect,
    Connection,
    Row,
    Select,
    and_,
    case,
    cast,
    func,
    insert,
    inspect,
    null,
    or_,
    select,
    text,
)

from bot.audit.models import AuditResult, Status, Summary, parse_iso
from bot.store.changes import CHANGES, record_run
from bot.store.current import MembershipStore
from bot.store.engine import (
    create_store_engine,
    database_errors,
    missing_database,
    sqlite_file_url,
)
from bot.store.models import RunRow, UtcDateTime, VerdictRow, table_of
from bot.store.records import (
    TRIGGERS,
    AccountState,
    Changes,
    RunInfo,
    StoreError,
    UnknownRun,
    changes_of,
)
from bot.store.schema import SchemaStore
from bot.store.slots import SlotStore
from bot.store.timeline import TimelineStore, keys_of

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x726F6F746B6579  # pg_advisory_xact_lock key ("rootkey")

RUNS = table_of(RunRow)
VERDICTS = table_of(VerdictRow)


def revision_of(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def status_of(value: str | None) -> Status | None:
    return Status(value) if value else None


class Store(SlotStore, TimelineStore, MembershipStore, SchemaStore):
    """Audit history, the questions asked of it, and the digest slot claims."""

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, migrate: bool = True, create: bool = True) -> Store:
        """Connect to ``url`` (``sqlite:///...`` or ``postgresql+psycopg://...``), migrate.

        ``create=False`` (commands that only read) never makes a database: a SQLite file that
        does not exist, or (when migrating) a database without rootkey's tables, is a
        ``StoreError`` and nothing is written.
        """
        if not create and (path := missing_database(url)) is not None:
            raise StoreError(f"no database at {path} (nothing was created)")
        store = cls(create_store_engine(url))
        try:
            if migrate and not create and store.schema_revision() is None:
                raise StoreError(
                    "the database has no rootkey tables "
                    "(create them with: python -m bot db upgrade)"
                )
            if migrate:
                store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    def file_url(self) -> str | None:
        """This database's SQLite file as a URL that works from any directory (for a command
        to suggest, e.g. the digest's ``log --verify``); None for a server database."""
        return sqlite_file_url(self.engine.url.render_as_string(hide_password=True))

    def migrate(self, revision: str = "head") -> None:
        """Apply the Alembic migrations, one process at a time (several may start together)."""
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        # Alembic narrates every step at INFO; the store says what changed in one line.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        try:
            self.upgrade(config, revision)
        except StoreError as exc:
            cause = getattr(exc.__cause__, "orig", None)
            if getattr(cause, "sqlstate", None) == "42501":  # insufficient_privilege
                raise StoreError(
                    "this database role may not change the schema, which is behind the bot's: "
                    "run python -m bot db upgrade (and db grant) with the owner's URL"
                ) from exc
            raise

    def upgrade(self, config: AlembicConfig, revision: str) -> None:
        with database_errors(), self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                if self.dialect == "postgresql":
                    lock = text("SELECT pg_advisory_xact_lock(:key)")
                    conn.execute(lock, {"key": MIGRATION_LOCK})
                config.attributes["connection"] = conn
                before = revision_of(conn)
                command.upgrade(config, revision)
                after = revision_of(conn)
        if after != before:
            log.info("database schema upgraded from %s to revision %s", before or "empty", after)

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
            record_run(conn, run_id)
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

    def baseline_run(self, run: RunInfo, before: datetime) -> RunInfo | None:
        """The audit of ``run``'s scope that changes are counted from when no digest was posted
        before: the last one finished by ``before``, else the first one (a history shorter
        than the look-back); None when ``run`` is the first audit of its scope."""
        same = and_(RUNS.c.scope == run.scope, RUNS.c.id != run.id)
        same = and_(same, RUNS.c.finished_at <= run.finished_at)
        last_before = (
            select(RUNS)
            .where(same, RUNS.c.finished_at <= before)
            .order_by(RUNS.c.finished_at.desc(), RUNS.c.id.desc())
            .limit(1)
        )
        first = select(RUNS).where(same).order_by(RUNS.c.finished_at, RUNS.c.id).limit(1)
        with self.transaction() as conn:
            row = conn.execute(last_before).first() or conn.execute(first).first()
        return self.run_of(row) if row else None

    def statuses_in(self, run_id: int) -> dict[str, Status]:
        """Each account's verdict in one audit run."""
        query = select(VERDICTS.c.account_id, VERDICTS.c.status).where(VERDICTS.c.run_id == run_id)
        with self.transaction() as conn:
            return {row.account_id: Status(row.status) for row in conn.execute(query)}

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
        among: Select[Any] | CompoundSelect | None = None,
        since: datetime | None = None,
    ) -> list[AccountState]:
        """Each account's verdict in run ``run_id`` (default: its latest) with its history;
        ``among``: only the accounts that query of account ids selects; ``since``: no
        account's latest verdict is older (the window reads only the verdicts after it).

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
            if among is not None:
                ranked_q = ranked_q.where(v.c.account_id.in_(among))
            if since is not None:
                ranked_q = ranked_q.where(v.c.checked_at >= since)
            ranked = ranked_q.subquery("ranked")
            cur_q = select(
                ranked.c.id, ranked.c.account_id, ranked.c.status, ranked.c.checked_at
            ).where(ranked.c.rank == 1)
        cur = cur_q.cte("cur")

        # One pass over each account's status changes up to its current verdict (the history
        # in a few rows, ``bot.store.changes``; each answer below is the same over the changes
        # as over every verdict): aggregates only.
        h = CHANGES.alias("h")
        known_by_baseline = (
            and_(h.c.status != Status.ERROR.value, h.c.checked_at <= baseline)
            if baseline is not None
            else None
        )
        agg = (
            select(
                cur.c.account_id,
                cur.c.id.label("verdict_id"),
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
            .group_by(cur.c.account_id, cur.c.id)
            .subquery("agg")
        )
        # The rest is read from the changes only where the history is not one status
        # throughout (last_other set) or a key is open: a few index lookups per such account.
        p = CHANGES.alias("p")

        def lookup(value: Any, *where: Any) -> Any:
            """``value`` over this account's verdicts up to the current one, where ``where``."""
            return (
                select(value)
                .where(p.c.account_id == v.c.account_id, p.c.checked_at <= v.c.checked_at, *where)
                .scalar_subquery()
            )

        unchanged = agg.c.last_other.is_(None)
        open_since = case(
            (v.c.status == Status.COMPLIANT.value, cast(null(), UtcDateTime)),
            else_=lookup(
                func.min(p.c.checked_at),
                p.c.status == Status.NONCOMPLIANT.value,
                or_(agg.c.last_compliant.is_(None), p.c.checked_at > agg.c.last_compliant),
            ),
        )
        last_change = case(
            (unchanged, agg.c.first_seen),
            else_=lookup(
                func.min(p.c.checked_at),
                p.c.status == v.c.status,
                p.c.checked_at > agg.c.last_other,
            ),
        )
        base_status = case(
            (agg.c.base_known_at.is_(None), null()),
            (unchanged, v.c.status),
            else_=lookup(
                func.max(p.c.status),
                p.c.checked_at == agg.c.base_known_at,
                p.c.status != Status.ERROR.value,
            ),
        )
        base_raw_status = case(
            (agg.c.base_any_at.is_(None), null()),
            (unchanged, v.c.status),
            else_=lookup(func.max(p.c.status), p.c.checked_at == agg.c.base_any_at),
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
                # the one field of the evidence read here: no JSON document parsed per row
                v.c.evidence["report_generated_at"].as_string().label("report_generated_at"),
                v.c.checked_at,
                agg.c.first_seen,
                open_since.label("open_since"),
                last_change.label("last_change"),
                base_status.label("base_status"),
                base_raw_status.label("base_raw_status"),
            )
            .select_from(v)
            .order_by(v.c.account_id)
        )
        # The wide rows of one run come straight from the run's index (joined to the CTE by
        # id, PostgreSQL would scan the whole table's primary key for them); the latest ones
        # each by its id, which the aggregate carries (joined by account, SQLite would walk
        # every verdict of each account to find it).
        query = (
            query.join(agg, agg.c.account_id == v.c.account_id).where(cur_q.whereclause)
            if run_id is not None and cur_q.whereclause is not None
            else query.join(agg, agg.c.verdict_id == v.c.id)
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
                    report_generated_at=parse_iso(row.report_generated_at),
                )
            )
        return states

    def latest(self, account_ids: Sequence[str] | None = None) -> list[AccountState]:
        """The latest verdict of every account ever audited (or of those named)."""
        return self.account_states(account_ids=account_ids)

    def current_states(
        self, baseline: datetime | None = None
    ) -> tuple[RunInfo | None, list[AccountState]]:
        """(the latest whole audit, the latest verdict of each account of the Organization
        now, with its history up to ``baseline``): what ``bot.services.org_state`` reads."""
        row = self.whole_audit_row()
        if row is None:
            return None, self.account_states(baseline=baseline)
        whole = self.run_of(row)
        among, since = self.members_query(whole), self.members_since(whole)
        return whole, self.account_states(baseline=baseline, among=among, since=since)

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
