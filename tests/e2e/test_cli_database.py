"""The command line and the database it is pointed at: commands that only read (``log``,
``digest --print --no-audit``, ``db revision``) never create one, and stderr carries only what
the user needs (no migration chatter)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.botproc import run_bot_once

READERS = [
    ("log", "--format", "csv"),
    ("digest", "--print", "--no-audit"),
    ("db", "revision"),
]


def with_url(args: tuple[str, ...], url: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """``--url`` where the command has it, else DATABASE_URL (as a user would)."""
    if args[0] == "digest":
        return args, {"DATABASE_URL": url}
    return (*args, "--url", url), {}


def lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.mark.parametrize("args", READERS, ids=lambda a: " ".join(a))
@pytest.mark.parametrize("where", ["missing.db", "no/such/folder/rootkey.db"])
def test_a_database_that_does_not_exist_is_an_error_and_nothing_is_created(
    args: tuple[str, ...], where: str, tmp_path: Path
) -> None:
    path = tmp_path / where
    argv, env = with_url(args, f"sqlite:///{path}")

    done = run_bot_once(env, *argv)

    assert done.returncode == 2, (done.stdout, done.stderr)
    [line] = lines(done.stderr)
    assert "no database at" in line and str(path) in line, line
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert list(tmp_path.iterdir()) == [], "nothing was created"


@pytest.mark.parametrize("args", READERS[:2], ids=lambda a: " ".join(a))
def test_a_database_without_rootkey_tables_is_an_error_and_left_alone(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    argv, env = with_url(args, f"sqlite:///{path}")

    done = run_bot_once(env, *argv)

    assert done.returncode == 2, (done.stdout, done.stderr)
    [line] = lines(done.stderr)
    assert "no rootkey tables" in line and "db upgrade" in line, line
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"notes"}, "no table was added"


def test_db_upgrade_then_log_say_only_what_the_user_asked_for(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rootkey.db'}"

    upgraded = run_bot_once({}, "db", "upgrade", "--url", url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stderr == "", "no migration lines on stderr"
    [said] = lines(upgraded.stdout)
    assert "schema at revision" in said

    revision = run_bot_once({}, "db", "revision", "--url", url)
    assert revision.returncode == 0 and revision.stderr == ""
    assert revision.stdout == upgraded.stdout

    exported = run_bot_once({}, "log", "--format", "csv", "--url", url)
    assert exported.returncode == 0 and exported.stderr == ""
    assert exported.stdout.startswith('"id","at","request_id"')


def test_a_postgresql_database_that_does_not_exist_is_an_error() -> None:
    base = os.environ.get("ROOTKEY_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("ROOTKEY_TEST_POSTGRES_URL is not set")
    name = f"rootkey_missing_{uuid.uuid4().hex[:10]}"
    url = make_url(base).set(database=name).render_as_string(hide_password=False)

    done = run_bot_once({}, "log", "--url", url)

    assert done.returncode == 2
    [line] = lines(done.stderr)
    assert name in line and "does not exist" in line, line
    engine = create_engine(base)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
    finally:
        engine.dispose()
    assert found == 0
