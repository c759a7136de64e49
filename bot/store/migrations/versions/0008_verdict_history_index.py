"""Audit verdicts: an account's history indexed in the order it is read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

The digest walks each account's verdicts by (checked_at, id): the open streaks, the last
change and the status changes of the 30-day trend (a window over that order). The covering
index had ``status`` before ``id``, so both databases sorted every account's verdicts again
by id; ``(account_id, checked_at, id, status)`` gives that order from the index itself and
still covers the queries. The new index is built before the old one is dropped; on a large
history it takes a few seconds, during which audits wait to be saved.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_verdicts_account_history",
        "audit_verdicts",
        ["account_id", "checked_at", "id", "status"],
    )
    op.drop_index("ix_audit_verdicts_account_time", table_name="audit_verdicts")


def downgrade() -> None:
    op.create_index(
        "ix_audit_verdicts_account_time",
        "audit_verdicts",
        ["account_id", "checked_at", "status", "id"],
    )
    op.drop_index("ix_audit_verdicts_account_history", table_name="audit_verdicts")
