"""Root-activity alerts: CloudTrail events handled once, and their messages.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

``root_events``: one row per event some process took on (its eventID), so a redelivered or
duplicated event is posted once across replicas. ``root_alerts``: each alert message and, for a
key's uses, the 10-minute window they are folded into (``fold_key`` unique).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.models import BigId, JsonType, UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "root_events",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("activity", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("claimed_at", UtcDateTime(), nullable=False),
        sa.Column("done_at", UtcDateTime()),
        sa.Column("alert_id", BigId),
    )
    op.create_index("ix_root_events_claimed_at", "root_events", ["claimed_at"])
    op.create_table(
        "root_alerts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("activity", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("fold_key", sa.String(200), unique=True),
        sa.Column("window_start", UtcDateTime()),
        sa.Column("first_at", UtcDateTime(), nullable=False),
        sa.Column("last_at", UtcDateTime(), nullable=False),
        sa.Column("counts", JsonType, nullable=False),
        sa.Column("sources", JsonType, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(64)),
        sa.Column("ts", sa.String(32)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_root_alerts_account", "root_alerts", ["account_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_root_alerts_account", table_name="root_alerts")
    op.drop_table("root_alerts")
    op.drop_index("ix_root_events_claimed_at", table_name="root_events")
    op.drop_table("root_events")
