"""Digest slot claims: which process posts the digest of a (slot time, channel)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.audit.models import utcnow
from bot.store.engine import StoreBase
from bot.store.models import DigestSlotRow, table_of
from bot.store.records import DigestSlot

SLOTS = table_of(DigestSlotRow)


def slot_of(row: Row[Any]) -> DigestSlot:
    return DigestSlot(
        id=row.id,
        channel=row.channel,
        slot_time=row.slot_time,
        state=row.state,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        attempts=row.attempts,
        run_id=row.run_id,
        baseline_run_id=row.baseline_run_id,
        message_ts=row.message_ts,
        posted_at=row.posted_at,
        error=row.error,
    )


class SlotStore(StoreBase):
    """The digest slot claims (part of ``Store``)."""

    def claim_slot(
        self,
        channel: str,
        slot_time: datetime,
        owner: str,
        *,
        lease: timedelta = timedelta(minutes=5),
        now: datetime | None = None,
    ) -> DigestSlot | None:
        """Claim the digest of ``slot_time`` for ``channel``; None when another has it.

        A slot is free when it was never claimed, when its posting failed, or when its claim
        went stale (no heartbeat for ``lease``: the process that held it died). The insert and
        the update are atomic, so of several processes exactly one gets the slot.
        """
        now = now or utcnow()
        slot_time = slot_time.astimezone(UTC).replace(microsecond=0)
        values = {
            "channel": channel,
            "slot_time": slot_time,
            "state": "claimed",
            "claimed_by": owner,
            "claimed_at": now,
            "attempts": 1,
        }
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self.transaction() as conn:
            slot_id = conn.execute(
                dialect_insert(SLOTS)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["slot_time", "channel"])
                .returning(SLOTS.c.id)
            ).scalar()
            if slot_id is None:
                slot_id = conn.execute(
                    update(SLOTS)
                    .where(
                        SLOTS.c.channel == channel,
                        SLOTS.c.slot_time == slot_time,
                        or_(
                            SLOTS.c.state == "failed",
                            and_(SLOTS.c.state == "claimed", SLOTS.c.claimed_at < now - lease),
                        ),
                    )
                    .values(
                        state="claimed",
                        claimed_by=owner,
                        claimed_at=now,
                        attempts=SLOTS.c.attempts + 1,
                        error=None,
                    )
                    .returning(SLOTS.c.id)
                ).scalar()
            if slot_id is None:
                return None
            row = conn.execute(select(SLOTS).where(SLOTS.c.id == slot_id)).one()
        return slot_of(row)

    def heartbeat_slot(self, slot_id: int, owner: str) -> bool:
        """Keep a claim fresh while its digest is being built and posted."""
        return self.finish_slot(slot_id, owner, state="claimed")

    def mark_slot_posted(
        self,
        slot_id: int,
        owner: str,
        *,
        run_id: int | None,
        baseline_run_id: int | None,
        message_ts: str | None,
    ) -> bool:
        return self.finish_slot(
            slot_id,
            owner,
            state="posted",
            run_id=run_id,
            baseline_run_id=baseline_run_id,
            message_ts=message_ts,
            posted_at=utcnow(),
        )

    def mark_slot_failed(
        self, slot_id: int, owner: str, error: str, *, run_id: int | None = None
    ) -> bool:
        return self.finish_slot(slot_id, owner, state="failed", error=error[:2000], run_id=run_id)

    def finish_slot(self, slot_id: int, owner: str, *, state: str, **values: Any) -> bool:
        with self.transaction() as conn:
            changed = conn.execute(
                update(SLOTS)
                .where(
                    SLOTS.c.id == slot_id,
                    SLOTS.c.claimed_by == owner,
                    SLOTS.c.state == "claimed",
                )
                .values(state=state, claimed_at=utcnow(), **values)
                .returning(SLOTS.c.id)
            ).scalar()
        return changed is not None

    def last_posted_slot(
        self, channel: str | None = None, *, with_run: bool = False
    ) -> DigestSlot | None:
        """The newest posted digest (of ``channel``, or of any channel; with an audit run)."""
        query = (
            select(SLOTS)
            .where(SLOTS.c.state == "posted")
            .order_by(SLOTS.c.slot_time.desc(), SLOTS.c.id.desc())
            .limit(1)
        )
        if channel is not None:
            query = query.where(SLOTS.c.channel == channel)
        if with_run:
            query = query.where(SLOTS.c.run_id.is_not(None))
        with self.transaction() as conn:
            row = conn.execute(query).first()
        return slot_of(row) if row else None

    def unfinished_slot(self, channel: str) -> DigestSlot | None:
        """The newest failed (or abandoned) slot of ``channel`` later than its last post."""
        posted = self.last_posted_slot(channel)
        query = (
            select(SLOTS)
            .where(SLOTS.c.channel == channel, SLOTS.c.state.in_(("failed", "claimed")))
            .order_by(SLOTS.c.slot_time.desc())
            .limit(1)
        )
        if posted is not None:
            query = query.where(SLOTS.c.slot_time > posted.slot_time)
        with self.transaction() as conn:
            row = conn.execute(query).first()
        return slot_of(row) if row else None

    def get_slot(self, channel: str, slot_time: datetime) -> DigestSlot | None:
        slot_time = slot_time.astimezone(UTC).replace(microsecond=0)
        query = select(SLOTS).where(SLOTS.c.channel == channel, SLOTS.c.slot_time == slot_time)
        with self.transaction() as conn:
            row = conn.execute(query).first()
        return slot_of(row) if row else None

    def has_slots(self, channel: str) -> bool:
        """Whether a digest was ever scheduled for ``channel``."""
        with self.transaction() as conn:
            found = conn.execute(select(SLOTS.c.id).where(SLOTS.c.channel == channel).limit(1))
            return found.first() is not None

    def slots(self, channel: str | None = None) -> list[DigestSlot]:
        query = select(SLOTS).order_by(SLOTS.c.slot_time, SLOTS.c.id)
        if channel is not None:
            query = query.where(SLOTS.c.channel == channel)
        with self.transaction() as conn:
            return [slot_of(row) for row in conn.execute(query)]
