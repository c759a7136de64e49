"""Connecting to the store's database (SQLite or PostgreSQL) and the one way its errors surface."""

from __future__ import annotations

import sqlite3
import time as clock
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from bot.store.records import StoreError

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` use psycopg 3 (the driver rootkey installs)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def missing_database(url: str) -> str | None:
    """The path of a SQLite file ``url`` names that does not exist (else None; a server
    database that does not exist is reported by the server when connecting)."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or Path(database).is_file():
        return None
    return database


def sqlite_file_url(url: str) -> str | None:
    """``sqlite:////abs/path`` for a SQLite database file: the URL that names it from any
    directory. None for an in-memory database and for a server database, whose URL may hold a
    password and is never repeated."""
    parsed = make_url(normalise_url(url))
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    return f"sqlite:///{Path(database).resolve()}"


def create_store_engine(url: str) -> Engine:
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)

    database = parsed.database or ""
    memory = database in ("", ":memory:")
    if not memory:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
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


class StoreBase:
    """An engine and its transactions: what every part of the store builds on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in a transaction, for store modules of other parts (same database)."""
        with database_errors(), self.engine.begin() as conn:
            yield conn
