"""Audit history and digest slots in a SQL database (SQLite by default, PostgreSQL for replicas).

Use ``Store.open(config.database_url)``; everything else goes through its methods.
"""

from bot.store.records import (
    AccountState,
    Changes,
    DigestSlot,
    HistoryEntry,
    RunInfo,
    StoreError,
    TrendDay,
    UnknownRun,
    changes_of,
)
from bot.store.store import Store

__all__ = [
    "AccountState",
    "Changes",
    "DigestSlot",
    "HistoryEntry",
    "RunInfo",
    "Store",
    "StoreError",
    "TrendDay",
    "UnknownRun",
    "changes_of",
]
