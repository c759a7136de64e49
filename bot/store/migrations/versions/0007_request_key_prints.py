"""Remediation: the keys a request (or an accepted risk) is about.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

``key_prints`` holds a JSON list of key fingerprints (slot, creation date, active or not, key
id where a root session listed it, last use) taken from the audit the request form showed. An
accepted risk covers only these keys; an execution deletes only these keys. Requests saved
before this revision have none (NULL): their exceptions cover nothing and their executions stop
at the first key, so that nothing is hidden or deleted that nobody saw.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("remediation_requests", sa.Column("key_prints", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("remediation_requests", "key_prints")  # SQLite 3.35 or later
