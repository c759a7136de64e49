"""The scheduled digest: jobs of the bot's one scheduler (``bot.runtime``), one post per slot
across processes.

Each process schedules the digest's cron in its own runtime. What makes a digest happen once
is the database: before posting, a process claims ``(slot time, channel)`` in the store; the
insert is unique, so of several processes exactly one gets it. A claim is kept fresh by a
heartbeat (a scheduler job while the digest is built); a claim whose process died goes stale
after ``CLAIM_LEASE`` and may be taken over.

At start-up the most recent slot is posted if it was missed (bot down) and is within
``ROOTKEY_DIGEST_GRACE``; otherwise a slot whose posting failed last time is retried once. Only
one slot is ever caught up: a digest describes now, so one is enough. Every time here is the
runtime's clock, so a test moving a clock by hand sees the digest fire at once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.config import Config
from bot.process import process_id
from bot.runtime import Scheduler
from bot.services.digest import DigestService, Published
from bot.store import DigestSlot, Store

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=5)
HEARTBEAT_EVERY = 30.0  # seconds
LOOKBACKS = (timedelta(hours=2), timedelta(days=2), timedelta(days=32), timedelta(days=367))
DIGEST_JOB = "digest"


def previous_slot(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time of ``trigger`` at or before ``now`` (UTC), None if none in a year."""
    for lookback in LOOKBACKS:
        fire: datetime | None = trigger.get_next_fire_time(None, now - lookback)
        if fire is None or fire > now:
            continue
        while True:
            following: datetime | None = trigger.get_next_fire_time(
                fire, fire + timedelta(seconds=1)
            )
            if following is None or following > now:
                return fire.astimezone(UTC)
            fire = following
    return None


class CronSchedule:
    """When the digest's cron line fires (the ``DigestSchedule`` port of the Home tab)."""

    def __init__(self, cron: str, timezone: str) -> None:
        self.trigger = CronTrigger.from_crontab(cron, timezone=timezone)

    def next_digest(self, after: datetime) -> datetime | None:
        fire: datetime | None = self.trigger.get_next_fire_time(None, after)
        return fire


class Heartbeat:
    """Refreshes a slot claim (a scheduler job every ``every`` seconds) while a digest is
    being built and posted."""

    def __init__(
        self, scheduler: Scheduler, store: Store, slot: DigestSlot, owner: str, every: float
    ) -> None:
        self.scheduler = scheduler
        self.store = store
        self.slot = slot
        self.owner = owner
        self.every = every
        self.name = f"digest claim {slot.slot_time.isoformat()}"

    def beat(self) -> None:
        if not self.store.heartbeat_slot(self.slot.id, self.owner):
            log.warning("digest slot %s: claim lost", self.slot.slot_time)
            self.scheduler.remove(self.name)

    def __enter__(self) -> Heartbeat:
        lane = self.scheduler.pool.lane("digest claims", workers=1)
        self.scheduler.every(self.name, self.every, self.beat, lane=lane)
        return self

    def __exit__(self, *exc: object) -> None:
        self.scheduler.remove(self.name)


class DigestScheduler:
    """The digest's jobs in the runtime's scheduler (``install``, at build time)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        digest: DigestService,
        scheduler: Scheduler,
        *,
        owner: str | None = None,
        lease: timedelta = CLAIM_LEASE,
        heartbeat: float = HEARTBEAT_EVERY,
    ) -> None:
        self.config = config
        self.store = store
        self.digest = digest
        self.scheduler = scheduler
        self.channel = config.digest_channel
        self.grace = timedelta(seconds=config.digest_grace)
        self.owner = owner or process_id()
        self.lease = lease
        self.heartbeat = heartbeat
        self.trigger = CronTrigger.from_crontab(config.digest_cron, timezone=config.zone)
        self.lane = scheduler.pool.lane("digest", workers=1)  # the cron, catch-up and watches

    def clock(self) -> datetime:
        return self.scheduler.clock.now()

    def install(self) -> bool:
        """Schedule the cron and, at once, the catch-up (beside the listeners, never delaying
        start-up); False (said once) when no digest channel is set."""
        if not self.channel:
            log.info("no scheduled digest: ROOTKEY_DIGEST_CHANNEL is not set")
            return False
        self.scheduler.add(DIGEST_JOB, self.fire, self.trigger, lane=self.lane, grace=self.grace)
        self.scheduler.once("digest catch-up", self.clock(), self.catch_up, lane=self.lane)
        log.info(
            "digest for %s on '%s' (%s); next at %s",
            self.channel,
            self.config.digest_cron,
            self.config.timezone,
            self.next_slot(),
        )
        return True

    def next_slot(self) -> datetime | None:
        slot: datetime | None = self.trigger.get_next_fire_time(None, self.clock())
        return slot

    # -- jobs -----------------------------------------------------------------------------

    def fire(self) -> Published | None:
        """The cron job: post the digest of the slot that just came due."""
        slot = previous_slot(self.trigger, self.clock())
        if slot is None or self.channel is None:
            return None
        return self.run_slot(slot)

    def catch_up(self) -> Published | None:
        """At start: the latest slot if it was missed and is within the grace time, else the
        last failed one; never more than one."""
        if self.channel is None:
            return None
        now = self.clock()
        latest = previous_slot(self.trigger, now)
        # Only a bot that has posted here before can have missed one (a first start waits).
        if latest is not None and now - latest <= self.grace and self.store.has_slots(self.channel):
            posted = self.store.last_posted_slot(self.channel)
            if posted is None or posted.slot_time < latest:
                log.info("digest slot %s was missed; posting it now", latest.isoformat())
            return self.run_slot(latest)  # a posted (or in-progress) slot is not claimed again
        unfinished = self.store.unfinished_slot(self.channel)
        if unfinished is not None and unfinished.state == "failed":
            log.info("digest slot %s failed last time; retrying", unfinished.slot_time)
            return self.run_slot(unfinished.slot_time)
        return None

    def run_slot(self, slot_time: datetime) -> Published | None:
        """Claim the slot; if it is ours, audit, build, post and record the outcome."""
        assert self.channel is not None
        claim = self.store.claim_slot(
            self.channel, slot_time, self.owner, lease=self.lease, now=self.clock()
        )
        if claim is None:
            log.info("digest slot %s for %s: taken by another process", slot_time, self.channel)
            self.watch_claim(slot_time)
            return None
        with Heartbeat(self.scheduler, self.store, claim, self.owner, self.heartbeat):
            try:
                published = self.digest.publish(
                    self.channel, trigger="schedule", slot_time=claim.slot_time
                )
            except Exception as exc:
                # Recorded, then raised on: the scheduler logs it, the next start retries it.
                self.store.mark_slot_failed(claim.id, self.owner, f"{type(exc).__name__}: {exc}")
                raise
        self.store.mark_slot_posted(
            claim.id,
            self.owner,
            run_id=published.run_id,
            baseline_run_id=published.baseline_run_id,
            message_ts=published.ts,
        )
        return published

    def watch_claim(self, slot_time: datetime) -> None:
        """If another process holds the slot but has not posted it, look again once its claim
        could have gone stale: a process that died while posting leaves the slot to us."""
        held = self.store.get_slot(self.channel or "", slot_time)
        if held is None or held.state != "claimed":
            return
        when = held.claimed_at + self.lease + timedelta(seconds=1)
        if when - slot_time > self.grace:
            return
        self.scheduler.once(
            f"digest watch {slot_time.isoformat()}",
            when,
            lambda: self.run_slot(slot_time),
            lane=self.lane,
        )
