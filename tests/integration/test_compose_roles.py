"""The two PostgreSQL roles of compose.yaml, made by deploy/postgres-roles.sql and used as the
compose file uses them: the owner migrates and grants, the bot's role cannot rewrite the log.
Run with psql against the test server (the postgres image runs the file the same way)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from tests.support.database import postgres_database

REPO = Path(__file__).resolve().parents[2]
ROLES = ("rootkey_owner", "rootkey_bot")

pytestmark = pytest.mark.postgres


def drop_roles(server_url: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for role in ROLES:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


def test_the_compose_roles_migrate_as_owner_and_keep_the_log_append_only() -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed")
    server = ""
    with postgres_database("rootkey_roles") as url:
        database = make_url(url)
        server = database.set(database="postgres").render_as_string(hide_password=False)
        drop_roles(server)
        env = {
            **os.environ,
            "ROOTKEY_OWNER_PASSWORD": "owner-local-only",
            "ROOTKEY_BOT_PASSWORD": "bot-local-only",
            "PGPASSWORD": database.password or "",
        }
        made = subprocess.run(
            [
                psql,
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                database.host or "127.0.0.1",
                "-p",
                str(database.port or 5432),
                "-U",
                database.username or "postgres",
                "-d",
                database.database or "",
                "-f",
                str(REPO / "deploy" / "postgres-roles.sql"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0, made.stderr
        owner = database.set(username="rootkey_owner", password="owner-local-only")
        owner_url = owner.render_as_string(hide_password=False)
        for step in (["upgrade"], ["grant", "--role", "rootkey_bot"]):
            proc = subprocess.run(
                [sys.executable, "-m", "bot", "db", *step, "--url", owner_url],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert proc.returncode == 0, proc.stderr
        bot = create_engine(database.set(username="rootkey_bot", password="bot-local-only"))
        try:
            with bot.connect() as conn:
                conn.execute(text("SELECT count(*) FROM remediation_log"))
            for statement in (
                "UPDATE remediation_log SET detail = 'rewritten'",
                "DELETE FROM remediation_log",
                "ALTER TABLE remediation_log DISABLE TRIGGER ALL",
            ):
                with pytest.raises(ProgrammingError), bot.begin() as conn:
                    conn.execute(text(statement))
        finally:
            bot.dispose()
    drop_roles(server)  # the database, and so everything the roles held, is gone
