"""Remediation: at most one open request per account and kind; dry run saved on the request.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

A partial unique index on (account_id, kind) over the open states makes "one open request per
account" a rule of the database, so two requests opened at the same moment cannot both be
saved (SQLite and PostgreSQL both support partial indexes). ``dry_run`` records, when the
request is made, whether its execution will delete anything; it is shown on the request and used
when it executes.

Before upgrading a database that already holds two open requests for one account and kind,
close one of them (reject or let it expire): the index cannot be built over duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "state IN ('requested', 'approved', 'executing', 'tracking', 'deactivated')"


def upgrade() -> None:
    op.create_index(
        "uq_remediation_requests_open_account",
        "remediation_requests",
        ["account_id", "kind"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    op.add_column(
        "remediation_requests",
        sa.Column("dry_run", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("remediation_requests", "dry_run")  # SQLite 3.35 or later
    op.drop_index("uq_remediation_requests_open_account", table_name="remediation_requests")
