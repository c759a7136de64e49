"""`python -m bot db upgrade`: apply the store's migrations to ``DATABASE_URL`` and say where.

The bot also migrates at start-up; this is for deploy steps that want it done first.
``python -m bot db revision`` prints the revision the database is at.

PostgreSQL with two roles (docs/deploy.md, step 6): the owner of the tables runs ``db upgrade`` and
``db grant --role BOT_ROLE`` with its own URL; the bot runs with ``BOT_ROLE`` in
``DATABASE_URL``, which may read and write the other tables but only read and append to the
remediation log (no UPDATE, DELETE or TRUNCATE, and, not owning it, no ALTER TABLE to switch its
triggers off).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from dataclasses import replace

from bot.config import load_config
from bot.store import Store, StoreError

ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
LOG_TABLE = "remediation_log"
READ_ONLY = {"alembic_version"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("upgrade", "revision", "grant"),
        help="upgrade: apply the store's migrations to the database, then print its revision; "
        "revision: print the revision the database is at, changing nothing; "
        "grant: give --role the bot's rights (PostgreSQL, run as the owner of the tables)",
    )
    parser.add_argument(
        "--url", help="database URL (default: DATABASE_URL or sqlite:///rootkey.db)"
    )
    parser.add_argument(
        "--role",
        help="grant: the PostgreSQL role the bot connects as (not the owner of the tables)",
    )


def redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def grant_statements(role: str, schema: str, tables: list[str]) -> list[str]:
    """What the bot's role may do: everything on its working tables, SELECT and INSERT on the
    log, SELECT on the schema's revision, and the sequences behind the ids."""
    statements = [f"GRANT USAGE ON SCHEMA {schema} TO {role}"]
    for table in sorted(tables):
        statements.append(f"REVOKE ALL ON {schema}.{table} FROM {role}")
        if table == LOG_TABLE:
            statements.append(f"GRANT SELECT, INSERT ON {schema}.{table} TO {role}")
        elif table in READ_ONLY:
            statements.append(f"GRANT SELECT ON {schema}.{table} TO {role}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.{table} TO {role}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
    return statements


def grant(store: Store, role: str) -> str:
    """Grant ``role`` what the bot needs (PostgreSQL; run as the owner). Returns a summary."""
    from sqlalchemy import text

    from bot.store.engine import database_errors

    if store.dialect != "postgresql":
        raise StoreError("db grant is for PostgreSQL (SQLite has no roles)")
    with database_errors(), store.engine.begin() as conn:
        if not conn.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
        ).first():
            raise StoreError(f"no role {role!r} in this database cluster (CREATE ROLE it first)")
        owner = conn.execute(
            text(
                "SELECT tableowner FROM pg_tables "
                "WHERE tablename = :t AND schemaname = current_schema()"
            ),
            {"t": LOG_TABLE},
        ).scalar()
        if owner is None:
            raise StoreError("no remediation_log table here: run db upgrade first")
        if owner == role:
            raise StoreError(
                f"{role!r} owns the tables; the bot needs a role of its own that does not"
            )
        quote = conn.dialect.identifier_preparer.quote
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        tables = list(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
            ).scalars()
        )
        for statement in grant_statements(quote(role), quote(schema), [quote(t) for t in tables]):
            conn.execute(text(statement))
    return f"granted {role} the bot's rights on {len(tables)} tables (the log: SELECT, INSERT)"


def run(args: argparse.Namespace) -> int:
    from bot.wiring import build_services

    logging.getLogger().setLevel(logging.WARNING)  # the one line below says what happened
    config = load_config(os.environ)
    url = args.url or config.database_url
    if args.action == "grant" and not (args.role and ROLE.fullmatch(args.role)):
        print(
            "python -m bot db: error: grant needs --role NAME (a PostgreSQL role name: lower-case "
            "letters, digits, _)",
            file=sys.stderr,
        )
        return 2
    upgrade = args.action == "upgrade"
    try:
        # revision only reads: a database that does not exist is an error, never created
        store = Store.open(url, migrate=upgrade, create=upgrade)
        services = build_services(replace(config, database_url=url), store=store)
        try:
            if args.action == "grant":
                print(f"{redacted(url)}: {grant(services.store, args.role)}")
                return 0
            revision = services.store.schema_revision()
        finally:
            services.close()
    except StoreError as exc:
        print(f"error: {redacted(url)}: {exc}", file=sys.stderr)
        return 2
    print(f"{redacted(url)}: schema at revision {revision or 'none (run: db upgrade)'}")
    return 0
