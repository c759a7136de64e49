"""Root-activity alerts: each unposted alert's own next try, and a note's other threads.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08

``root_alerts.tries`` counts the posts Slack refused for an alert and ``next_try_at`` says when
it is due again (its poster's lease while one posts it, its pause after a refusal; NULL: at
once), so a refusal of one alert holds back no other. ``threads`` lists the threads of open
remediation requests a deletion's note goes in besides the key's alerts (JSON ``[[channel, ts],
...]``; NULL: none). Rows written before keep NULL and 0: due at once, as they were.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.models import JsonType, UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "root_alerts", sa.Column("tries", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("root_alerts", sa.Column("next_try_at", UtcDateTime(), nullable=True))
    op.add_column("root_alerts", sa.Column("threads", JsonType, nullable=True))


def downgrade() -> None:
    op.drop_column("root_alerts", "threads")  # SQLite 3.35 or later
    op.drop_column("root_alerts", "next_try_at")
    op.drop_column("root_alerts", "tries")
