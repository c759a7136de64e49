"""An account's timeline and the day-by-day trend (part of ``Store``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select

from bot.audit.models import KeySlot, Status, utcnow
from bot.store.changes import CHANGES
from bot.store.engine import StoreBase
from bot.store.models import RunRow, VerdictRow, table_of
from bot.store.records import HistoryEntry, TrendDay

RUNS = table_of(RunRow)
VERDICTS = table_of(VerdictRow)


def keys_of(data: Iterable[dict[str, Any]] | None) -> tuple[KeySlot, ...]:
    return tuple(KeySlot.from_dict(item) for item in data or ())


class TimelineStore(StoreBase):
    """History and trend questions asked of the audit verdicts."""

    def history(self, account_id: str, limit: int = 100) -> list[HistoryEntry]:
        """An account's verdicts, newest first."""
        v, r = VERDICTS, RUNS
        query = (
            select(
                v.c.run_id,
                v.c.checked_at,
                v.c.status,
                v.c.reason,
                v.c.account_name,
                v.c["keys"],
                v.c.root_mfa_active,
                r.c.trigger,
                r.c.requested_by,
            )
            .join(r, r.c.id == v.c.run_id)
            .where(v.c.account_id == account_id)
            .order_by(v.c.checked_at.desc(), v.c.id.desc())
            .limit(limit)
        )
        with self.transaction() as conn:
            rows = conn.execute(query).all()
        return [
            HistoryEntry(
                run_id=row.run_id,
                checked_at=row.checked_at,
                status=Status(row.status),
                reason=row.reason,
                account_name=row.account_name,
                keys=keys_of(row.keys),
                root_mfa_active=row.root_mfa_active,
                trigger=row.trigger,
                requested_by=row.requested_by,
            )
            for row in rows
        ]

    def accounts_named(self, name: str) -> list[tuple[str, str]]:
        """(account id, name as stored) of every account whose latest audit named it ``name``,
        ignoring case: an account renamed since answers to its new name only."""
        v = VERDICTS
        rank = (
            func.row_number()
            .over(partition_by=v.c.account_id, order_by=(v.c.checked_at.desc(), v.c.id.desc()))
            .label("rank")
        )
        ever = select(v.c.account_id).where(func.lower(v.c.account_name) == name.lower())
        latest = (
            select(v.c.account_id, v.c.account_name, rank)
            .where(v.c.account_id.in_(ever))
            .subquery()
        )
        query = (
            select(latest.c.account_id, latest.c.account_name)
            .where(latest.c.rank == 1, func.lower(latest.c.account_name) == name.lower())
            .order_by(latest.c.account_id)
        )
        with self.transaction() as conn:
            return [(row.account_id, row.account_name) for row in conn.execute(query)]

    def trend(
        self, days: int = 30, *, now: datetime | None = None, zone: tzinfo = UTC
    ) -> list[TrendDay]:
        """Per calendar day (in ``zone``) of the last ``days``: accounts by their status at the
        end of that day (the last verdict seen by then), for accounts audited at least once."""
        now = now or utcnow()
        today = now.astimezone(zone).date()
        first_day = today - timedelta(days=days - 1)
        day_list = [first_day + timedelta(days=i) for i in range(days)]
        # Local midnights as UTC instants: the end of each day is the start of the next.
        ends = [
            datetime.combine(d + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
            for d in day_list
        ]
        start = datetime.combine(first_day, time.min, tzinfo=zone).astimezone(UTC)

        # Only the verdicts that change an account's status move the counts, and those are
        # kept as audits are saved (``bot.store.changes``): a few rows per account, not one
        # per audit. The status before the window is each account's last change before it.
        c = CHANGES
        rank = (
            func.row_number()
            .over(
                partition_by=c.c.account_id, order_by=(c.c.checked_at.desc(), c.c.verdict_id.desc())
            )
            .label("rank")
        )
        before = select(c.c.account_id, c.c.status, rank).where(c.c.checked_at < start).subquery()
        state: dict[str, str] = {}
        counts = {s.value: 0 for s in Status}
        trend: list[TrendDay] = []
        with self.transaction() as conn:
            for account_id, status in conn.execute(
                select(before.c.account_id, before.c.status).where(before.c.rank == 1)
            ):
                state[account_id] = status
                counts[status] += 1
            rows = conn.execution_options(yield_per=5000).execute(
                select(c.c.account_id, c.c.status, c.c.checked_at)
                .where(c.c.checked_at >= start, c.c.checked_at <= now)
                .order_by(c.c.checked_at, c.c.account_id)
            )
            index = 0
            for account_id, status, checked_at in rows:
                while index < days and checked_at >= ends[index]:
                    trend.append(self.trend_day(day_list[index], counts))
                    index += 1
                old = state.get(account_id)
                if old != status:
                    if old is not None:
                        counts[old] -= 1
                    counts[status] += 1
                    state[account_id] = status
        while index < days:
            trend.append(self.trend_day(day_list[index], counts))
            index += 1
        return trend

    @staticmethod
    def trend_day(day: date, counts: dict[str, int]) -> TrendDay:
        return TrendDay(
            day=day,
            compliant=counts[Status.COMPLIANT.value],
            noncompliant=counts[Status.NONCOMPLIANT.value],
            error=counts[Status.ERROR.value],
        )
