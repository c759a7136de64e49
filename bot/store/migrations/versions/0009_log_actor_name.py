"""Remediation log: the actor's name beside the actor's id.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

``remediation_log.actor_name`` holds the person's name as the Slack directory gave it when the
line was written (plain text, never Slack markup), so an auditor reads "Avery Approver" beside
"U0APPROVE1". New lines hash it with their content (``bot.remediation.chain``); lines written
before have none (NULL) and keep the hash they were written with: nothing is rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("remediation_log", sa.Column("actor_name", sa.String(255), nullable=True))


def downgrade() -> None:
    op.drop_column("remediation_log", "actor_name")  # SQLite 3.35 or later
