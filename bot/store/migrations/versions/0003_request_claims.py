"""Request claims: Slack retries and replays deduplicated across bot processes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

One row per Slack request key (its SHA-256), unique, with the time it was claimed; rows older
than a day are pruned by the bot (``bot.store.claims``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.models import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_claims",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_request_claims_created_at", "request_claims", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_request_claims_created_at", table_name="request_claims")
    op.drop_table("request_claims")
