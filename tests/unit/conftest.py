"""Fixtures of the unit tier."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.store import Store


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file the store's migrations have run on once, with nothing else in it."""
    path = tmp_path_factory.mktemp("migrated") / "rootkey.db"
    Store.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def sqlite_url(migrated_sqlite: Path, tmp_path: Path) -> str:
    """A fresh database of this test (``rootkey.db`` in its ``tmp_path``), at the latest
    revision: a copy of the migrated file, rather than the migrations run again per test."""
    path = tmp_path / "rootkey.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"
