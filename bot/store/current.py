"""Who belongs to the Organization now, as the store reads it (part of ``Store``).

The rule (``bot.services.org_state``): the accounts of the latest whole audit (scope ``org``,
or ``account`` where rootkey audits the bot's own account) plus the accounts named audits
(scope ``accounts``: a form's one-account audit, a re-audit after a fix, an alert's) saw after
it. One set-based query, so the Home tab and a 10,000-account digest read it in one go.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CompoundSelect, Select, and_, func, or_, select, union

from bot.store.engine import StoreBase
from bot.store.models import RunRow, VerdictRow, table_of
from bot.store.records import RunInfo

RUNS = table_of(RunRow)
VERDICTS = table_of(VerdictRow)
WHOLE_SCOPES = ("org", "account")  # audits of everything rootkey is set to watch
NAMED_SCOPE = "accounts"


class MembershipStore(StoreBase):
    def whole_audit_row(self) -> Any:
        """The latest whole audit's row (None before the first one)."""
        query = (
            select(RUNS)
            .where(RUNS.c.scope.in_(WHOLE_SCOPES))
            .order_by(RUNS.c.finished_at.desc(), RUNS.c.id.desc())
            .limit(1)
        )
        with self.transaction() as conn:
            return conn.execute(query).first()

    def whole_audit_id(self) -> int | None:
        """The id of the latest whole audit (None before the first one)."""
        row = self.whole_audit_row()
        return int(row.id) if row is not None else None

    def last_org_accounts(self) -> tuple[str, ...]:
        """The account ids of the latest audit of the whole Organization (scope ``org``;
        empty before the first): where the next one starts scanning while it lists."""
        last = (
            select(RUNS.c.id)
            .where(RUNS.c.scope == "org")
            .order_by(RUNS.c.finished_at.desc(), RUNS.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = select(VERDICTS.c.account_id).where(VERDICTS.c.run_id == last)
        with self.transaction() as conn:
            return tuple(str(account_id) for account_id in conn.execute(query).scalars())

    def members_since(self, whole: RunInfo) -> datetime:
        """No member's latest verdict is older than this: every member has a verdict in
        ``whole`` or in a named audit after it, and no audit's verdicts are older than the
        audit's start (so a digest ranks one audit's verdicts, not the month's)."""
        later = select(func.min(RUNS.c.started_at)).where(
            RUNS.c.scope == NAMED_SCOPE, self.later_than(whole)
        )
        with self.transaction() as conn:
            first_named = conn.execute(later).scalar()
        return min(whole.started_at, first_named or whole.started_at)

    @staticmethod
    def later_than(whole: RunInfo) -> Any:
        r = RUNS
        return or_(
            r.c.finished_at > whole.finished_at,
            and_(r.c.finished_at == whole.finished_at, r.c.id > whole.id),
        )

    @classmethod
    def members_query(cls, whole: RunInfo) -> CompoundSelect | Select[Any]:
        """The account ids of the Organization now: ``whole``'s, and later named audits'."""
        v, r = VERDICTS, RUNS
        listed = select(v.c.account_id).where(v.c.run_id == whole.id)
        later = cls.later_than(whole)
        named = (
            select(v.c.account_id)
            .join(r, r.c.id == v.c.run_id)
            .where(r.c.scope == NAMED_SCOPE, later)
        )
        return union(listed, named)
