"""Claims on Slack request keys, shared by every bot process on one database.

Slack retries a request it thinks was not acknowledged (``X-Slack-Retry-Num``), and the same
signed body may be replayed; behind a load balancer the repeat can reach another replica than
the first delivery. ``RequestClaims.claim`` inserts the request's key into ``request_claims``
(the key is the primary key): of any number of processes, exactly one insert succeeds, so
exactly one starts the work. Rows older than a day are pruned now and then; a repeat is only
ever minutes late (Slack's signatures are valid for five).

The key is stored as its SHA-256, so the table holds no Slack data. A claim runs before Slack's
3-second ack, so it is one autocommitted statement on PostgreSQL, and on SQLite it waits at
most ``CLAIM_WAIT_MS`` for the write lock (then ``StoreError``: the caller falls back to its
own process's memory).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Index, String, delete, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from bot.audit.models import utcnow
from bot.store.engine import SQLITE_BUSY_TIMEOUT_MS, database_errors
from bot.store.models import Base, UtcDateTime, table_of

log = logging.getLogger(__name__)

KEEP = timedelta(days=1)
PRUNE_EVERY = timedelta(minutes=10)
CLAIM_WAIT_MS = 1000


class RequestClaimRow(Base):
    """One Slack request (command, click, form, event) that some process has taken on."""

    __tablename__ = "request_claims"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the request key
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index("ix_request_claims_created_at", "created_at"),)


CLAIMS = table_of(RequestClaimRow)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class RequestClaims:
    """``claim(key)``: True for the one process that saw ``key`` first, on any replica."""

    def __init__(
        self,
        engine: Engine,
        *,
        keep: timedelta = KEEP,
        prune_every: timedelta = PRUNE_EVERY,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.keep = keep
        self.prune_every = prune_every
        self.now = now
        self.lock = threading.Lock()
        # SQLite has one writer at a time: this process's claims queue here, in order, instead
        # of in SQLite's busy handler, which sleeps in steps of up to 100 ms.
        self.writer = threading.Lock()
        self.pruned_at: datetime | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def claim(self, key: str) -> bool:
        """Record ``key``; False when any process (this one included) recorded it before.

        Raises ``StoreError`` when the database cannot answer (SQLite: within ``CLAIM_WAIT_MS``).
        """
        now = self.now()
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = (
            insert(CLAIMS)
            .values(key=digest(key), created_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(CLAIMS.c.key)
        )
        if self.dialect != "sqlite":
            # One statement in autocommit: one round trip, and no transaction left open that a
            # concurrent claim of the same key would have to wait for.
            with database_errors(), self.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                first = conn.execute(statement).scalar() is not None
        else:
            with self.writer, database_errors(), self.engine.connect() as conn:
                self.bounded(conn, CLAIM_WAIT_MS)
                try:
                    with conn.begin():
                        first = conn.execute(statement).scalar() is not None
                finally:
                    self.bounded(conn, SQLITE_BUSY_TIMEOUT_MS)
        if self.due(now):
            self.prune(now)
        return first

    def bounded(self, conn: Connection, wait_ms: int) -> None:
        """SQLite: how long this connection waits for the write lock (the pool reuses it)."""
        driver = conn.connection.driver_connection
        if self.dialect == "sqlite" and driver is not None:  # no transaction begins for it
            driver.execute(f"PRAGMA busy_timeout={int(wait_ms)}")

    def due(self, now: datetime) -> bool:
        with self.lock:
            if self.pruned_at is not None and now - self.pruned_at < self.prune_every:
                return False
            self.pruned_at = now
            return True

    def prune(self, now: datetime | None = None) -> int:
        """Delete claims older than ``keep``; the number deleted."""
        cutoff = (now or self.now()) - self.keep
        with database_errors(), self.engine.begin() as conn:
            deleted = conn.execute(delete(CLAIMS).where(CLAIMS.c.created_at < cutoff)).rowcount
        if deleted:
            log.info("pruned %d request claims older than %s", deleted, self.keep)
        return int(deleted or 0)

    def count(self) -> int:
        with database_errors(), self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM request_claims")).scalar() or 0)
