"""Tamper-evident remediation log: account and kind on every line, a SHA-256 hash chain, and
(SQLite) no INSERT over an existing line.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

``remediation_log`` gains ``account_id`` and ``kind`` (as written, so the export no longer reads
them from the mutable requests table) and ``hash``: SHA-256 over the line's content and the
previous line's hash (``bot.remediation.chain``). Lines written before this revision get their
account and kind from their request and are chained in id order, here, by the owner of the
tables (the append-only triggers are paused for that backfill only). On SQLite a ``BEFORE
INSERT`` trigger refuses a line whose id exists: ``INSERT OR REPLACE`` would otherwise delete and
rewrite it without firing the ``DELETE`` trigger.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.remediation.chain import GENESIS, LineContent, line_hash
from bot.store.models import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "remediation_log is append-only"

LOG = sa.table(
    "remediation_log",
    sa.column("id", sa.BigInteger()),
    sa.column("request_id", sa.BigInteger()),
    sa.column("at", UtcDateTime()),
    sa.column("actor", sa.String()),
    sa.column("event", sa.String()),
    sa.column("from_state", sa.String()),
    sa.column("to_state", sa.String()),
    sa.column("detail", sa.Text()),
    sa.column("account_id", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("hash", sa.String()),
)
REQUESTS = sa.table(
    "remediation_requests",
    sa.column("id", sa.BigInteger()),
    sa.column("account_id", sa.String()),
    sa.column("kind", sa.String()),
)


def upgrade() -> None:
    op.add_column("remediation_log", sa.Column("account_id", sa.String(12)))
    op.add_column("remediation_log", sa.Column("kind", sa.String(16)))
    op.add_column("remediation_log", sa.Column("hash", sa.String(64)))
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"

    if postgres:
        op.execute("ALTER TABLE remediation_log DISABLE TRIGGER remediation_log_no_change")
    else:
        op.execute("DROP TRIGGER IF EXISTS remediation_log_no_update")
    previous = GENESIS
    rows = bind.execute(
        sa.select(LOG, REQUESTS.c.account_id.label("r_account"), REQUESTS.c.kind.label("r_kind"))
        .join(REQUESTS, REQUESTS.c.id == LOG.c.request_id)
        .order_by(LOG.c.id)
    ).all()
    for row in rows:
        content = LineContent(
            request_id=int(row.request_id),
            account_id=row.r_account,
            kind=row.r_kind,
            at=row.at,
            actor=row.actor,
            event=row.event,
            from_state=row.from_state,
            to_state=row.to_state,
            detail=row.detail,
        )
        previous = line_hash(previous, content)
        bind.execute(
            sa.update(LOG)
            .where(LOG.c.id == row.id)
            .values(account_id=row.r_account, kind=row.r_kind, hash=previous)
        )
    if postgres:
        op.execute("ALTER TABLE remediation_log ENABLE TRIGGER remediation_log_no_change")
    else:
        op.execute(
            "CREATE TRIGGER remediation_log_no_update BEFORE UPDATE "
            f"ON remediation_log BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )
        op.execute(
            "CREATE TRIGGER remediation_log_no_replace BEFORE INSERT ON remediation_log "
            "WHEN EXISTS (SELECT 1 FROM remediation_log WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS remediation_log_no_replace")
    for column in ("hash", "kind", "account_id"):
        op.drop_column("remediation_log", column)
