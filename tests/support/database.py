"""Throw-away databases for the store tests: a SQLite file, or a fresh PostgreSQL database.

PostgreSQL comes from ``ROOTKEY_TEST_POSTGRES_URL`` (CI sets it). Unset: the PostgreSQL case is
skipped with a visible reason. Set but unreachable: the test fails (a skip would hide that CI
is not testing PostgreSQL). Each use gets ``CREATE DATABASE rootkey_t_<random>`` on that server,
dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import Engine, make_url

POSTGRES_ENV = "ROOTKEY_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: the PostgreSQL variant of this test is skipped")
    return url


@contextmanager
def postgres_database(prefix: str = "rootkey_t") -> Iterator[str]:
    """A new, empty database on the test server; its SQLAlchemy URL."""
    server = make_url(postgres_server_url())
    if server.drivername in ("postgresql", "postgres"):
        server = server.set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:  # unreachable server: raises, the test fails
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'rootkey-{uuid.uuid4().hex[:8]}.db'}"
    else:
        with postgres_database() as url:
            yield url


def wipe(engine: Engine) -> None:
    """Empty every table but the migration version (tests of one module share a database).

    Tables whose rows the database refuses to delete (an append-only log) are left alone.
    """
    meta = MetaData()
    meta.reflect(engine)
    for table in reversed(meta.sorted_tables):
        if table.name in ("alembic_version", "remediation_log"):
            continue
        with engine.begin() as conn:
            conn.execute(table.delete())
