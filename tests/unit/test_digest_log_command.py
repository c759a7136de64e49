"""The digest's suggested ``python -m bot log --verify --anchor …`` works as printed, from any
directory: a SQLite database is named in it (``DATABASE_URL=sqlite:////abs/path``), as the demo's,
kept in a temporary folder, must be; a server database's URL (it may hold a password) never is."""

from __future__ import annotations

import json
import logging
import re
import shlex
from pathlib import Path

import pytest

from bot.cli import main
from bot.slack.blocks.digest import digest_message
from bot.store import Store
from bot.store.engine import create_store_engine
from tests.unit.test_digest import HEAD, C, N, Remediation, save, service


def suggestion(store: Store) -> str:
    run = save(store, 0, {"111111111111": N, "333333333333": C})
    digest = service(store, 3, remediation=Remediation()).build(run)
    (footer,) = [
        b for b in digest_message(digest).blocks if b.block_id == "rootkey_digest_log_head"
    ]
    text = json.dumps(footer.to_dict())
    found = re.search(r"`([^`]*python -m bot log --verify --anchor [^`]*)`", text)
    assert found, text
    return found.group(1)


def test_a_sqlite_database_is_named_in_the_suggested_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative URL, as the default sqlite:///rootkey.db
    store = Store.open("sqlite:///data/rootkey.db")
    try:
        printed = suggestion(store)
    finally:
        store.close()
    wanted = f"DATABASE_URL=sqlite:///{tmp_path / 'data' / 'rootkey.db'} "
    assert printed.startswith(wanted), printed
    assert printed.endswith(f"--anchor {HEAD.line_id}:{HEAD.hash}")


def test_the_printed_command_reads_that_database_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'rootkey.db'}")
    try:
        printed = suggestion(store)
    finally:
        store.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The command as a POSIX shell reads it (shlex splits words as sh does): one variable
    # assignment, then ``python -m bot`` and its arguments, run here through the command line's
    # own entry point from another directory.
    assignment, *command = shlex.split(printed)
    name, _, value = assignment.partition("=")
    assert name == "DATABASE_URL" and value, printed
    assert command[:3] == ["python", "-m", "bot"], printed
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv(name, value)
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    root = logging.getLogger()
    level = root.level
    try:
        main(command[3:])
    finally:
        root.setLevel(level)  # a command may set its own log level
    done = capsys.readouterr()
    # The database was found and read: the anchor (the test's own) names a line it lacks.
    assert "no database at" not in done.err, done.err
    assert f"log line {HEAD.line_id} of the anchor is gone" in done.out + done.err, done


def test_a_server_databases_url_is_never_shown() -> None:
    url = "postgresql+psycopg://rootkey:s3cret@db.internal:5432/rootkey"
    assert Store(create_store_engine(url)).file_url() is None
