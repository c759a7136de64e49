"""Root-activity alerts: each CloudTrail event handled once across replicas, and the messages.

``root_events`` holds one row per event (CloudTrail's ``eventID``) that some process took on:
who (``owner``), since when (``claimed_at``) and, once handled, ``done_at``. SQS delivers at
least once and every replica polls, so ``claim_event`` decides:

- ``Claim.NEW``: this process inserted the row; it handles the event;
- ``Claim.DONE``: handled before (a redelivery or a duplicate): delete the message, post nothing;
- ``Claim.BUSY``: another process holds it; leave the message, it comes back after its
  visibility timeout;
- ``Claim.TAKEN_OVER``: another process claimed it more than ``lease`` ago and never finished
  (it died, perhaps after posting): this process handles it, looking for the earlier post first.

``root_alerts`` holds each alert message: a created or reactivated key, or a deletion's notes
(one per event), or a key's uses in one 10-minute window (one per account, key and window,
``fold_key`` unique), whose counts are added in the same transaction that marks the use's event
done, so a use is counted once whatever the redeliveries. Every row is written, and its event
done, before its post: it is the outbox. A row without ``ts`` waits for its post
(``unposted``, taken with ``claim_post``; ``bot.store.alert_posts``), so a queue message leaves
the queue once its alert is posted or waits here, never lost to a Slack outage. Each row has its
own ``next_try_at`` (its poster's lease, or its pause after a refusal): one alert Slack refuses
holds back no other. A key change (created, reactivated) is kept until it is posted, whatever
its age; ``prune`` returns the other unposted rows it forgets, for the caller to report.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from bot.events.fold import Uses
from bot.records.alerts import NOTES, Alert, Claim, Claimed, Folded, Pruned
from bot.remediation.keys import KeyChange
from bot.store.alert_posts import claimable, posting
from bot.store.alert_rows import ALERTS, EVENTS, KEY_CHANGES, alert_of, uses_of
from bot.store.engine import database_errors


def fold_key(account_id: str, key_id: str, window: datetime) -> str:
    return f"{account_id}:{key_id}:{window.strftime('%Y%m%dT%H%M')}"


class AlertStore:
    """The only code that reads or writes ``root_events`` and ``root_alerts``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        with database_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with database_errors(), self.engine.connect() as conn:
            yield conn

    def insert_ignoring(self, table: Any, values: dict[str, Any], key: str) -> Any:
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return (
            dialect_insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[key])
            .returning(table.c[key])
        )

    # -- events ----------------------------------------------------------------------------

    def claim_event(
        self,
        event_id: str,
        account_id: str,
        activity: str,
        owner: str,
        now: datetime,
        lease: timedelta,
    ) -> Claimed:
        values = {
            "event_id": event_id,
            "account_id": account_id,
            "activity": activity,
            "owner": owner,
            "claimed_at": now,
        }
        with self.writing() as conn:
            if conn.execute(self.insert_ignoring(EVENTS, values, "event_id")).first():
                return Claimed(Claim.NEW)
            row = conn.execute(
                select(EVENTS.c.owner, EVENTS.c.claimed_at, EVENTS.c.done_at).where(
                    EVENTS.c.event_id == event_id
                )
            ).one()
            if row.done_at is not None:
                return Claimed(Claim.DONE)
            if row.claimed_at + lease > now:
                return Claimed(Claim.BUSY)
            taken = conn.execute(
                update(EVENTS)
                .where(
                    EVENTS.c.event_id == event_id,
                    EVENTS.c.owner == row.owner,
                    EVENTS.c.claimed_at == row.claimed_at,
                    EVENTS.c.done_at.is_(None),
                )
                .values(owner=owner, claimed_at=now)
            ).rowcount
            return Claimed(Claim.TAKEN_OVER, row.claimed_at) if taken else Claimed(Claim.BUSY)

    def finish_event(
        self, conn: Connection, event_id: str, owner: str, now: datetime, alert_id: int | None
    ) -> bool:
        done = conn.execute(
            update(EVENTS)
            .where(
                EVENTS.c.event_id == event_id,
                EVENTS.c.owner == owner,
                EVENTS.c.done_at.is_(None),
            )
            .values(done_at=now, alert_id=alert_id)
        ).rowcount
        return bool(done)

    def release(self, event_id: str, owner: str) -> bool:
        """Give an unfinished claim back (its post failed): the next delivery tries afresh."""
        with self.writing() as conn:
            gone = conn.execute(
                delete(EVENTS).where(
                    EVENTS.c.event_id == event_id,
                    EVENTS.c.owner == owner,
                    EVENTS.c.done_at.is_(None),
                )
            ).rowcount
            return bool(gone)

    def finish(self, event_id: str, owner: str, now: datetime) -> bool:
        """Mark an event handled without a message of its own (a deletion's notes)."""
        with self.writing() as conn:
            return self.finish_event(conn, event_id, owner, now, None)

    # -- created / reactivated / deleted ---------------------------------------------------

    def record_alert(
        self,
        *,
        event_id: str,
        owner: str,
        activity: str,
        account_id: str,
        key_id: str,
        at: datetime,
        now: datetime,
        origin: Sequence[str] = (),
        channel: str | None = None,
        ts: str | None = None,
        threads: Sequence[tuple[str, str]] = (),
        hold_until: datetime | None = None,
    ) -> Alert | None:
        """A key's event recorded, and done, in one transaction: a created or reactivated key
        is a key change from now on, before any post. Without ``ts`` the alert waits for its
        post under this process's claim, which no other takes before ``hold_until``
        (``unposted``). None when this process no longer holds the event (another took it
        over)."""
        with self.writing() as conn:
            alert_id = conn.execute(
                insert(ALERTS)
                .values(
                    activity=activity,
                    account_id=account_id,
                    key_id=key_id,
                    event_id=event_id,
                    first_at=at,
                    last_at=at,
                    counts={},
                    sources=list(origin),
                    version=1,
                    channel=channel if ts else posting(owner, now),
                    ts=ts,
                    created_at=now,
                    threads=[list(t) for t in threads] or None,
                    next_try_at=None if ts else hold_until,
                )
                .returning(ALERTS.c.id)
            ).scalar_one()
            if not self.finish_event(conn, event_id, owner, now, alert_id):
                conn.rollback()
                return None
            return self.load(conn, alert_id)

    # -- uses --------------------------------------------------------------------------------

    def fold_use(
        self,
        *,
        event_id: str,
        owner: str,
        account_id: str,
        key_id: str,
        action: str,
        at: datetime,
        ip: str,
        now: datetime,
        hold_until: datetime | None = None,
    ) -> Folded | None:
        """Count one use into its window (opening it when new, its post this process's until
        ``hold_until``) and finish its event, in one transaction. None when this process no
        longer holds the event (another took it over)."""
        first = Uses.first(account_id, key_id, action, at, ip)
        key = fold_key(account_id, key_id, first.window)
        with self.writing() as conn:
            opened = conn.execute(
                self.insert_ignoring(
                    ALERTS,
                    {
                        "activity": "used",
                        "account_id": account_id,
                        "key_id": key_id,
                        "event_id": event_id,
                        "fold_key": key,
                        "window_start": first.window,
                        "first_at": at,
                        "last_at": at,
                        "counts": first.counts,
                        "sources": list(first.sources),
                        "version": 1,
                        "channel": posting(owner, now),  # the opener posts the message
                        "next_try_at": hold_until,
                        "created_at": now,
                    },
                    "fold_key",
                )
            ).first()
            query = select(ALERTS).where(ALERTS.c.fold_key == key)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).one()
            if not opened:
                uses = uses_of(row).add(action, at, ip)
                conn.execute(
                    update(ALERTS)
                    .where(ALERTS.c.id == row.id)
                    .values(
                        counts=uses.counts,
                        sources=list(uses.sources),
                        first_at=uses.first_at,
                        last_at=uses.last_at,
                        version=ALERTS.c.version + 1,
                    )
                )
            if not self.finish_event(conn, event_id, owner, now, row.id):
                conn.rollback()
                return None
            return Folded(self.load(conn, row.id), opened=opened is not None)

    def prune(self, events_before: datetime, alerts_before: datetime) -> Pruned:
        """Forget handled events claimed before ``events_before`` (SQS keeps a message 14 days
        at most, so no redelivery can come later) and alerts created before ``alerts_before``,
        except a key change never posted: that is kept until it is (``Pruned.kept``); the
        other unposted alerts forgotten are returned (``Pruned.unposted``)."""
        old = ALERTS.c.created_at < alerts_before
        unposted = ALERTS.c.ts.is_(None)
        change = ALERTS.c.activity.in_(KEY_CHANGES)
        with self.writing() as conn:
            events = conn.execute(
                delete(EVENTS).where(
                    EVENTS.c.claimed_at < events_before, EVENTS.c.done_at.is_not(None)
                )
            ).rowcount
            posted = conn.execute(delete(ALERTS).where(old, ALERTS.c.ts.is_not(None))).rowcount
            lost = conn.execute(delete(ALERTS).where(old, unposted, ~change).returning(ALERTS))
            dropped = [alert_of(r) for r in lost.all()]
            kept = conn.execute(
                select(func.count()).select_from(ALERTS).where(old, unposted, change)
            ).scalar_one()
        return Pruned(int(events or 0), int(posted or 0) + len(dropped), dropped, int(kept))

    def claim_post(
        self,
        alert_id: int,
        owner: str,
        now: datetime,
        stale_before: datetime,
        hold_until: datetime | None = None,
    ) -> str | None:
        """Take over posting a window whose message is not there: its poster gave it back
        (Slack refused it) or claimed it before ``stale_before`` (and died). Compare-and-set on
        the claim itself, so of any number of processes one takes it; the claim (no other
        process lists the alert as due before ``hold_until``), or None."""
        with self.writing() as conn:
            row = conn.execute(
                select(ALERTS.c.channel, ALERTS.c.ts, ALERTS.c.created_at).where(
                    ALERTS.c.id == alert_id
                )
            ).first()
            if row is None or row.ts is not None or not claimable(row, stale_before):
                return None
            held = row.channel
            claim = posting(owner, now)
            same = ALERTS.c.channel.is_(None) if held is None else ALERTS.c.channel == held
            taken = conn.execute(
                update(ALERTS)
                .where(ALERTS.c.id == alert_id, ALERTS.c.ts.is_(None), same)
                .values(channel=claim, next_try_at=hold_until)
            ).rowcount
            return claim if taken else None

    def release_post(self, alert_id: int, claim: str, retry_at: datetime) -> None:
        """The post failed: the alert waits, unposted, for its next try at ``retry_at``
        (``unposted``), one more refusal counted."""
        with self.writing() as conn:
            conn.execute(
                update(ALERTS)
                .where(ALERTS.c.id == alert_id, ALERTS.c.ts.is_(None), ALERTS.c.channel == claim)
                .values(channel=None, tries=ALERTS.c.tries + 1, next_try_at=retry_at)
            )

    def unposted(self, now: datetime, limit: int) -> list[Alert]:
        """Alerts of every kind whose message is not posted yet and whose next try is due at
        ``now``, oldest first, at most ``limit`` (``claim_post`` says which may be taken)."""
        due = or_(ALERTS.c.next_try_at.is_(None), ALERTS.c.next_try_at <= now)
        with self.reading() as conn:
            rows = conn.execute(
                select(ALERTS)
                .where(ALERTS.c.ts.is_(None), due)
                .order_by(ALERTS.c.created_at, ALERTS.c.id)
                .limit(limit)
            ).all()
        return [alert_of(r) for r in rows]

    def set_message(self, alert_id: int, channel: str, ts: str) -> None:
        with self.writing() as conn:
            conn.execute(
                update(ALERTS).where(ALERTS.c.id == alert_id).values(channel=channel, ts=ts)
            )

    def get(self, alert_id: int) -> Alert:
        with self.reading() as conn:
            return self.load(conn, alert_id)

    def load(self, conn: Connection, alert_id: int) -> Alert:
        row = conn.execute(select(ALERTS).where(ALERTS.c.id == alert_id)).one()
        return alert_of(row)

    def known_keys(self, account_id: str, since: datetime) -> list[str]:
        """Root key ids alerts have named for the account since ``since`` (created, reactivated,
        used, deleted), for looking up what used them."""
        with self.reading() as conn:
            return [str(k) for k in conn.execute(known_keys_query(account_id, since)).scalars()]

    def key_changes(self) -> dict[str, KeyChange]:
        """Account id -> its latest root key created or reactivated (the event's time), for the
        rule that an accepted risk cannot cover a key its credential report does not show."""
        latest: dict[str, KeyChange] = {}
        with self.reading() as conn:
            rows = conn.execute(
                select(ALERTS.c.account_id, ALERTS.c.activity, ALERTS.c.first_at).where(
                    ALERTS.c.activity.in_(KEY_CHANGES)
                )
            ).all()
        for row in rows:
            held = latest.get(row.account_id)
            if held is None or row.first_at > held.at:
                latest[row.account_id] = KeyChange(row.first_at, row.activity)
        return latest

    def posted_since(self, since: datetime, limit: int = 50) -> list[Alert]:
        """Every account's posted alerts created at or after ``since``, newest first (at most
        ``limit``): the Home tab's list."""
        with self.reading() as conn:
            rows = conn.execute(
                select(ALERTS)
                .where(
                    ALERTS.c.created_at >= since,
                    ALERTS.c.ts.is_not(None),
                    ALERTS.c.activity != NOTES,
                )
                .order_by(ALERTS.c.created_at.desc(), ALERTS.c.id.desc())
                .limit(limit)
            ).all()
        return [alert_of(r) for r in rows]

    def recent(self, account_id: str, since: datetime) -> list[Alert]:
        """The account's posted alerts created at or after ``since``, oldest first."""
        with self.reading() as conn:
            rows = conn.execute(
                select(ALERTS)
                .where(
                    ALERTS.c.account_id == account_id,
                    ALERTS.c.created_at >= since,
                    ALERTS.c.ts.is_not(None),
                    ALERTS.c.activity != NOTES,
                )
                .order_by(ALERTS.c.created_at, ALERTS.c.id)
            ).all()
        return [alert_of(r) for r in rows]


def known_keys_query(account_id: str, since: datetime) -> Any:
    return (
        select(ALERTS.c.key_id)
        .where(
            ALERTS.c.account_id == account_id,
            ALERTS.c.created_at >= since,
            ALERTS.c.key_id != "",  # "key id not readable": nothing to look up
        )
        .group_by(ALERTS.c.key_id)
        .order_by(ALERTS.c.key_id)
    )
