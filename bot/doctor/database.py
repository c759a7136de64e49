"""The database checks: reachable, its schema at the bot's migrations' head, and the bot's
role unable to rewrite the remediation log. Nothing is created or migrated here."""

from __future__ import annotations

from collections.abc import Iterator

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from bot.config import Config
from bot.doctor.findings import Finding, fail, ok, warn
from bot.store import Store, StoreError
from bot.store.store import MIGRATIONS

AREA = "database"
UPGRADE = "python -m bot db upgrade --url <the owner's URL> (it also runs at the bot's start)"


def head_revision() -> str | None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def check_database(config: Config) -> Iterator[Finding]:
    try:
        store = Store.open(config.database_url, migrate=False, create=False)
    except StoreError as exc:
        yield fail(
            AREA,
            "reachable",
            f"DATABASE_URL cannot be opened ({exc})",
            "check DATABASE_URL (postgresql+psycopg://user:password@host/db) and that the "
            "server accepts the bot's connections",
        )
        return
    try:
        yield from store_findings(store)
    finally:
        store.close()


def store_findings(store: Store) -> Iterator[Finding]:
    try:
        revision = store.schema_revision()
        rewrites = store.can_rewrite_log()
    except StoreError as exc:
        yield fail(AREA, "reachable", f"the database does not answer ({exc})", "check DATABASE_URL")
        return
    yield ok(AREA, "reachable", f"{store.dialect}")
    head = head_revision()
    if revision == head:
        yield ok(AREA, "schema", f"at revision {revision}, the bot's newest")
    else:
        yield fail(
            AREA, "schema", f"at revision {revision or 'none'}, the bot needs {head}", UPGRADE
        )
    if store.dialect != "postgresql":
        yield warn(
            AREA,
            "log append-only",
            "SQLite: whoever can write the file can rewrite the log (log --verify still tells)",
            "for production use PostgreSQL with two roles (docs/deploy.md, step 6)",
        )
    elif rewrites:
        yield fail(
            AREA,
            "log append-only",
            "the bot's role owns the remediation log or is a superuser: it could switch the "
            "append-only trigger off and rewrite the log",
            "run the bot as a role of its own: python -m bot db grant --role rootkey_bot --url "
            "<the owner's URL>, then DATABASE_URL=postgresql+psycopg://rootkey_bot:…@host/db "
            "(deploy/postgres-roles.sql makes both roles)",
        )
    else:
        yield ok(AREA, "log append-only", "the bot's role may only read and append to the log")
