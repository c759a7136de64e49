"""Audit history (runs, verdicts) and digest slots.

Revision ID: 0001
Revises:
Create Date: 2026-11-30

The next revision (remediation requests, exceptions and their log) is ``0002`` with
``down_revision = "0001"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.models import BigId, JsonType, UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_runs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64)),
        sa.Column("channel", sa.String(64)),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("compliant", sa.Integer(), nullable=False),
        sa.Column("noncompliant", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("features", JsonType),
    )
    op.create_index("ix_audit_runs_finished_at", "audit_runs", ["finished_at"])

    op.create_table(
        "audit_verdicts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            BigId,
            sa.ForeignKey("audit_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("account_name", sa.String(255)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("keys", JsonType, nullable=False),
        sa.Column("root_mfa_active", sa.Boolean()),
        sa.Column("evidence", JsonType, nullable=False),
        sa.Column("checked_at", UtcDateTime(), nullable=False),
    )
    op.create_index(
        "ix_audit_verdicts_account_time",
        "audit_verdicts",
        ["account_id", "checked_at", "status", "id"],
    )
    op.create_index(
        "ix_audit_verdicts_time_account", "audit_verdicts", ["checked_at", "account_id", "status"]
    )
    op.create_index("ix_audit_verdicts_run", "audit_verdicts", ["run_id", "account_id"])

    op.create_table(
        "digest_slots",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("slot_time", UtcDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(255), nullable=False),
        sa.Column("claimed_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_id", BigId, sa.ForeignKey("audit_runs.id", ondelete="SET NULL")),
        sa.Column("baseline_run_id", BigId, sa.ForeignKey("audit_runs.id", ondelete="SET NULL")),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("posted_at", UtcDateTime()),
        sa.Column("error", sa.Text()),
        sa.UniqueConstraint("slot_time", "channel", name="uq_digest_slots_slot_channel"),
    )
    op.create_index(
        "ix_digest_slots_channel_state", "digest_slots", ["channel", "state", "slot_time"]
    )


def downgrade() -> None:
    op.drop_table("digest_slots")
    op.drop_table("audit_verdicts")
    op.drop_table("audit_runs")
