"""The digest's suggested ``python -m bot log --verify --anchor …`` works as printed, from any
directory: a SQLite database is named in it (``DATABASE_URL=sqlite:////abs/path``), as the demo's,
kept in a temporary folder, must be; a server database's URL (it may hold a password) never is."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.slack.blocks.digest import digest_message
from bot.store import Store
from bot.store.engine import create_store_engine
from tests.unit.test_digest import HEAD, C, N, Remediation, save, service

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_printed_command_reads_that_database_from_another_directory(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'rootkey.db'}")
    try:
        printed = suggestion(store)
    finally:
        store.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        ["sh", "-c", printed],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # The database was found and read: the anchor (the test's own) names a line it lacks.
    assert "no database at" not in done.stderr, done.stderr
    assert f"log line {HEAD.line_id} of the anchor is gone" in done.stdout + done.stderr, done


def test_a_server_databases_url_is_never_shown() -> None:
    url = "postgresql+psycopg://rootkey:s3cret@db.internal:5432/rootkey"
    assert Store(create_store_engine(url)).file_url() is None
