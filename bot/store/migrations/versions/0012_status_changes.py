"""Audit verdicts: each account's status changes, kept as audits are saved.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08

``audit_status_changes`` has a row for every verdict whose status differs from the one before it
of its account, and for each account's first verdict (``bot.store.changes``): the digest's
streaks and 30-day trend read it instead of every verdict of the month (300,000 index entries,
twice, at 10,000 accounts). The upgrade fills it from the verdicts already saved, with the same
rule the store applies as it saves (one INSERT ... SELECT; on a large history a few seconds,
during which audits wait to be saved).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.changes import recount
from bot.store.models import BigId, UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_status_changes",
        sa.Column(
            "verdict_id",
            BigId,
            sa.ForeignKey("audit_verdicts.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    recount(op.get_bind())
    op.create_index(
        "ix_audit_status_changes_account",
        "audit_status_changes",
        ["account_id", "checked_at", "verdict_id", "status"],
    )
    op.create_index(
        "ix_audit_status_changes_time",
        "audit_status_changes",
        ["checked_at", "account_id", "status"],
    )


def downgrade() -> None:
    op.drop_table("audit_status_changes")
