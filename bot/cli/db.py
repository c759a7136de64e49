"""`python -m bot db upgrade`: apply the store's migrations to ``DATABASE_URL`` and say where.

The bot also migrates at start-up; this is for deploy steps that want it done first.
``python -m bot db revision`` prints the revision the database is at.
"""

from __future__ import annotations

import argparse
import os
import sys

from bot.config import load_config
from bot.store import Store, StoreError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("upgrade", "revision"),
        help="upgrade: apply the store's migrations to the database, then print its revision; "
        "revision: print the revision the database is at, changing nothing",
    )
    parser.add_argument(
        "--url", help="database URL (default: DATABASE_URL or sqlite:///rootkey.db)"
    )


def redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def run(args: argparse.Namespace) -> int:
    url = args.url or load_config(os.environ).database_url
    try:
        store = Store.open(url, migrate=args.action == "upgrade")
        try:
            revision = store.schema_revision()
        finally:
            store.close()
    except StoreError as exc:
        print(f"error: {redacted(url)}: {exc}", file=sys.stderr)
        return 2
    print(f"{redacted(url)}: schema at revision {revision or 'none (run: db upgrade)'}")
    return 0
