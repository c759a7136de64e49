"""What the store answers with: plain, immutable records (no SQLAlchemy objects leak out).

They live in ``bot.records`` (the use cases read them without importing the store); this
module names them where the store's own code and older callers look for them.
"""

from __future__ import annotations

from bot.records.errors import StoreError, UnknownRun, shown_error
from bot.records.history import (
    TRIGGERS,
    AccountState,
    Changes,
    DigestSlot,
    HistoryEntry,
    RunInfo,
    TrendDay,
    changes_of,
)

__all__ = [
    "TRIGGERS",
    "AccountState",
    "Changes",
    "DigestSlot",
    "HistoryEntry",
    "RunInfo",
    "StoreError",
    "TrendDay",
    "UnknownRun",
    "changes_of",
    "shown_error",
]
