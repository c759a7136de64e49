"""Remediation requests, approvals, risk exceptions and the append-only remediation log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

The log refuses UPDATE and DELETE at the database level (a trigger on SQLite and on
PostgreSQL), so the audit trail can only grow, whatever code connects.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.models import BigId, UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = "remediation_log is append-only"


def upgrade() -> None:
    op.create_table(
        "remediation_requests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("account_name", sa.String(255)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16)),
        sa.Column("requester", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ticket_url", sa.Text()),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("thread_ts", sa.String(32)),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("assignee", sa.String(64)),
        sa.Column("owner", sa.String(64)),
        sa.Column("exception_until", UtcDateTime()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("state_since", UtcDateTime(), nullable=False),
        sa.Column("checked_at", UtcDateTime()),
        sa.Column("reminded_assignee_at", UtcDateTime()),
        sa.Column("reminded_approvers_at", UtcDateTime()),
        sa.Column("lease_owner", sa.String(128)),
        sa.Column("lease_until", UtcDateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_remediation_requests_state", "remediation_requests", ["state", "kind"])
    op.create_index(
        "ix_remediation_requests_account", "remediation_requests", ["account_id", "state"]
    )
    op.create_table(
        "remediation_approvals",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("request_id", BigId, sa.ForeignKey("remediation_requests.id"), nullable=False),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("request_id", "user", name="uq_remediation_approvals_request_user"),
    )
    op.create_table(
        "remediation_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("request_id", BigId, sa.ForeignKey("remediation_requests.id"), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16)),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_remediation_log_request", "remediation_log", ["request_id", "id"])
    op.create_table(
        "risk_exceptions",
        sa.Column("request_id", BigId, sa.ForeignKey("remediation_requests.id"), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("account_name", sa.String(255)),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("starts_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_risk_exceptions_account", "risk_exceptions", ["account_id", "expires_at"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION remediation_log_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER remediation_log_no_change BEFORE UPDATE OR DELETE ON remediation_log "
            "FOR EACH ROW EXECUTE FUNCTION remediation_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER remediation_log_no_truncate BEFORE TRUNCATE ON remediation_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION remediation_log_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER remediation_log_no_{verb.lower()} BEFORE {verb} "
                f"ON remediation_log BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS remediation_log_no_truncate ON remediation_log")
        op.execute("DROP TRIGGER IF EXISTS remediation_log_no_change ON remediation_log")
        op.execute("DROP FUNCTION IF EXISTS remediation_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS remediation_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS remediation_log_no_delete")
    op.drop_table("risk_exceptions")
    op.drop_index("ix_remediation_log_request", table_name="remediation_log")
    op.drop_table("remediation_log")
    op.drop_table("remediation_approvals")
    op.drop_index("ix_remediation_requests_account", table_name="remediation_requests")
    op.drop_index("ix_remediation_requests_state", table_name="remediation_requests")
    op.drop_table("remediation_requests")
