"""Remediation log: the terms of a decision in its hashed line.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

``remediation_log.terms`` holds the terms a line decides (``bot.remediation.terms``: the keys a
request is about; an accepted risk's owner, start and end), hashed with the line, so the bot no
longer reads them from tables its own database role may UPDATE. Lines written before have none
(NULL) and keep their hash: nothing is rewritten. Each request still open now (requested,
approved, executing or tracked) gets one new line, appended to the chain here, recording its
terms as the tables hold them at this upgrade; from then on a change to those tables is caught.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.remediation import keys
from bot.remediation.chain import GENESIS, LineContent, line_hash
from bot.remediation.states import Kind
from bot.remediation.terms import Terms
from bot.store.models import UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOG_CHAIN_LOCK = 7_306_001  # bot.store.remediation_log: one append at a time
OPEN = ("requested", "approved", "executing", "tracking", "deactivated")
DETAIL = "terms as the tables held them at the upgrade to revision 0010 (no line recorded them)"

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
    sa.column("actor_name", sa.String()),
    sa.column("terms", sa.Text()),
)
REQUESTS = sa.table(
    "remediation_requests",
    sa.column("id", sa.BigInteger()),
    sa.column("account_id", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("state", sa.String()),
    sa.column("requester", sa.String()),
    sa.column("owner", sa.String()),
    sa.column("exception_until", UtcDateTime()),
    sa.column("key_prints", sa.Text()),
)
EXCEPTIONS = sa.table(
    "risk_exceptions",
    sa.column("request_id", sa.BigInteger()),
    sa.column("owner", sa.String()),
    sa.column("starts_at", UtcDateTime()),
    sa.column("expires_at", UtcDateTime()),
)


def terms_of(row: Any) -> Terms:
    """An open request's terms as its rows hold them (an approved risk: as it is applied)."""
    prints = keys.decode(row.key_prints)
    if row.kind != Kind.EXCEPTION.value:
        return Terms(prints)
    if row.x_until is not None:
        return Terms(prints, row.x_owner, row.x_starts, row.x_until)
    return Terms(prints, row.owner, until=row.exception_until)


def upgrade() -> None:
    op.add_column("remediation_log", sa.Column("terms", sa.Text(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOG_CHAIN_LOCK})
    rows = bind.execute(
        sa.select(
            REQUESTS,
            EXCEPTIONS.c.owner.label("x_owner"),
            EXCEPTIONS.c.starts_at.label("x_starts"),
            EXCEPTIONS.c.expires_at.label("x_until"),
        )
        .outerjoin(EXCEPTIONS, EXCEPTIONS.c.request_id == REQUESTS.c.id)
        .where(REQUESTS.c.state.in_(OPEN))
        .order_by(REQUESTS.c.id)
    ).all()
    previous = bind.execute(sa.select(LOG.c.hash).order_by(LOG.c.id.desc()).limit(1)).scalar()
    previous = previous or GENESIS
    now = datetime.now(UTC)
    for row in rows:
        content = LineContent(
            request_id=int(row.id),
            account_id=row.account_id,
            kind=row.kind,
            at=now,
            actor="rootkey",
            event="terms",
            from_state=row.state,
            to_state=row.state,
            detail=DETAIL,
            terms=terms_of(row).encode(),
        )
        previous = line_hash(previous, content)
        bind.execute(
            sa.insert(LOG).values(
                request_id=content.request_id,
                at=now,
                actor=content.actor,
                event=content.event,
                from_state=content.from_state,
                to_state=content.to_state,
                detail=content.detail,
                account_id=content.account_id,
                kind=content.kind,
                hash=previous,
                terms=content.terms,
            )
        )


def downgrade() -> None:
    # The lines appended since stay (the log is append-only) but lose their terms, so they no
    # longer match their hashes: ``log --verify`` fails from the first of them on.
    op.drop_column("remediation_log", "terms")  # SQLite 3.35 or later
