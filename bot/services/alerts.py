"""The root-activity alerts use case: queue messages in, alerts out, each event once.

For every message of the events queue (``ROOTKEY_EVENTS_QUEUE_URL``):

1. parse it (``bot.events``); a body that is not an event stays on the queue (its redrive
   policy moves it to the dead-letter queue) and is logged once;
2. classify it; anything but root key activity is deleted and counted;
3. claim the event by its ``eventID`` in the store: of any number of replicas and redeliveries,
   one handles it; an event handled before is deleted without a post;
4. record the event as done with its alert in the store, in one transaction (a created or
   reactivated key: a new alert, and a key change from then on; a use: counted into the key's
   window; a deletion: its notes, after the follow-up that notes open requests and re-audits
   tracked ones);
5. post it (a new alert; a window opened, or updated in place; notes in the threads of the
   key's alerts and of the account's open requests) and delete the message. The message
   leaves the queue once its alert is posted or waits in the store for its post, never
   before: an alert Slack refused is posted by ``post_unposted`` after a later poll, however
   long Slack was gone (the queue's redrive limit no longer matters), one store-backed outbox
   for every kind. A crash before the record leaves the message on the queue: redelivered,
   its claim is taken over once stale; a crash after it leaves the alert to
   ``post_unposted``, which looks for an earlier post (``delivery`` ids) before posting.

Each unposted alert has its own next try, so one alert Slack refuses (for ever, even) holds
back no other: ``post_unposted`` takes every due one, oldest first, at most ``RETRY_BATCH`` a
pass, and goes on past each failure; a refused alert waits ``retry_pause`` before its next
try. A key change is never forgotten unposted; another alert forgotten unposted after
``KEEP_ALERTS`` is logged as an error and counted (``unposted_pruned``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.events.classify import classify
from bot.events.models import Activity, ApiCall, NotAnEvent, RootActivity
from bot.events.parse import parse_message
from bot.records.alerts import NOTES, Alert, Claim, Pruned
from bot.records.aws import Received
from bot.records.errors import StoreError
from bot.services.ports import (
    NO_METRICS,
    AlertNotifier,
    AlertRepository,
    Metrics,
    Placed,
    Queue,
)

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)  # a claim older than this, unfinished, is taken over
NOTE_WINDOW = timedelta(days=14)  # a deletion is noted in the account's alerts of this long
MAX_REMEMBERED = 10_000  # message ids of bodies already logged as not an event
ERROR_PAUSE = 5.0  # seconds between polls after the queue or the store failed
KEEP_EVENTS = timedelta(days=15)  # SQS keeps a message 14 days at most
KEEP_ALERTS = timedelta(days=90)  # what used a key looks 90 days back for the keys alerts saw
PRUNE_EVERY = timedelta(hours=1)
RETRY_PAUSE = timedelta(seconds=30)  # after an alert's post failed again, before the next try
MAX_RETRY_PAUSE = timedelta(minutes=15)  # the longest wait between two tries of an alert
RETRY_BATCH = 25  # unposted alerts a retry pass tries at most
SHOWN_PRUNED = 10  # unposted alerts forgotten that one log line names

__all__ = ["AlertNotifier", "AlertPoller", "AlertService", "Placed", "Queue", "activity_of"]


def retry_pause(tries: int, pause: timedelta = RETRY_PAUSE) -> timedelta:
    """The wait before the next try of an alert Slack refused ``tries`` times (this once
    included): none after its first refusal (a blip: the next pass tries again), then
    ``pause``, doubled at each refusal, at most ``MAX_RETRY_PAUSE`` (or ``pause``, if longer)."""
    if tries <= 1:
        return timedelta(0)
    return min(pause * 2 ** min(tries - 2, 16), max(MAX_RETRY_PAUSE, pause))


# Called before a deletion is recorded, with the threads of the key's alerts: the other threads
# its note goes in (those of the account's open requests), or None.
OnKeyDeleted = Callable[[RootActivity, Sequence[Placed]], Sequence[Placed] | None]


def utcnow() -> datetime:
    return datetime.now(UTC)


def process_id() -> str:
    return f"alerts-{uuid.uuid4().hex[:12]}"


class AlertService:
    def __init__(
        self,
        store: AlertRepository,
        notifier: AlertNotifier,
        *,
        account_name: Callable[[str], str | None] = lambda _: None,
        on_key_deleted: OnKeyDeleted | None = None,
        owner: str | None = None,
        now: Callable[[], datetime] = utcnow,
        lease: timedelta = LEASE,
        retry_pause: timedelta = RETRY_PAUSE,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.account_name = account_name
        self.on_key_deleted = on_key_deleted
        self.owner = owner or process_id()
        self.now = now
        self.lease = lease
        self.metrics = metrics
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.logged: OrderedDict[str, None] = OrderedDict()
        self.pruned_at: datetime | None = None
        self.retry_pause = retry_pause

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    # -- one batch ---------------------------------------------------------------------------

    def handle_batch(self, queue: Queue, messages: Sequence[Received]) -> None:
        """Handle ``messages`` and delete those that were posted or deliberately skipped. Each
        message is handled on its own: whatever fails for one leaves it on the queue (logged
        once) and every other message of the batch is handled."""
        self.metrics.messages_received(len(messages))
        done = [m for m in messages if self.guarded(m)]
        if done:
            self.metrics.messages_handled(len(done) - len(queue.delete(done)))
        self.prune_now_and_then()

    def guarded(self, message: Received) -> bool:
        try:
            return self.handle(message)
        except Exception as exc:  # one message's failure never holds back the batch
            self.count("failed")
            self.metrics.message_dead_lettered()
            if self.first_time(message):
                log.error(
                    "events queue: message %s could not be handled (%s); left on the queue, "
                    "its dead-letter queue takes it after its last delivery",
                    message.message_id,
                    type(exc).__name__,
                    exc_info=exc,
                )
            return False

    def prune_now_and_then(self) -> None:
        now = self.now()
        with self.lock:
            if self.pruned_at is not None and now - self.pruned_at < PRUNE_EVERY:
                return
            self.pruned_at = now
        try:
            pruned = self.store.prune(now - KEEP_EVENTS, now - KEEP_ALERTS)
        except StoreError as exc:
            log.warning("events: pruning old events failed: %s", exc)
            return
        if pruned.events or pruned.alerts:
            log.info(
                "events: pruned %d handled events and %d old alerts", pruned.events, pruned.alerts
            )
        self.report_unposted(pruned)

    def report_unposted(self, pruned: Pruned) -> None:
        """Say what pruning did with alerts never posted: an error for each it forgot (and
        counted), and for the key changes it keeps until they are posted."""
        days = KEEP_ALERTS.days
        if pruned.unposted:
            with self.lock:
                self.counts["unposted_pruned"] += len(pruned.unposted)
            shown = ", ".join(
                f"#{a.id} {a.activity} in {a.account_id} of {a.created_at:%Y-%m-%d}"
                for a in pruned.unposted[:SHOWN_PRUNED]
            )
            more = len(pruned.unposted) - SHOWN_PRUNED
            log.error(
                "events: %d alerts never posted in %d days are forgotten: %s%s (does the alert "
                "channel take the bot's posts?)",
                len(pruned.unposted),
                days,
                shown,
                f" and {more} more" if more > 0 else "",
            )
        if pruned.kept:
            log.error(
                "events: %d alerts of a root key created or reactivated are still not posted "
                "after %d days; kept until they are (does the alert channel take the bot's posts?)",
                pruned.kept,
                days,
            )

    def handle(self, message: Received) -> bool:
        """True when the message may be deleted (handled, a duplicate, or not ours to alert)."""
        try:
            call = parse_message(message.body)
        except NotAnEvent as exc:
            self.count("not_an_event")
            self.metrics.message_dead_lettered()
            self.log_once(message, str(exc))
            return False
        activity = classify(call)
        if activity is None:
            self.count("ignored")
            return True
        try:
            claimed = self.store.claim_event(
                activity.event_id,
                activity.account_id,
                activity.activity.value,
                self.owner,
                self.now(),
                self.lease,
            )
        except StoreError as exc:
            log.error("events: could not claim event %s: %s", activity.event_id, exc)
            return False
        if claimed.claim is Claim.DONE:
            self.count("duplicate")
            return True
        if claimed.claim is Claim.BUSY:
            self.count("busy")
            return False  # another process is on it; the message comes back later
        try:
            return self.act(activity, claimed.since)
        except StoreError as exc:
            log.error("events: event %s: %s", activity.event_id, exc)
            return False

    def act(self, activity: RootActivity, posted_since: datetime | None) -> bool:
        """Record the event (done) and its alert in the store, then post it: the message may
        leave the queue once the alert is posted or waits in the store for its post."""
        name = self.account_name(activity.account_id)
        if activity.activity is Activity.KEY_USED:
            return self.fold(activity, name, posted_since)
        others: Sequence[Placed] = ()
        if activity.activity is Activity.KEY_DELETED and self.on_key_deleted is not None:
            # the remediation side: the threads of open requests to note, and its re-audits
            noted = self.threads(activity.account_id, activity.key_id)
            others = self.on_key_deleted(activity, noted) or ()
        call = activity.call
        now = self.now()
        alert = self.store.record_alert(
            event_id=activity.event_id,
            owner=self.owner,
            activity=activity.activity.value,
            account_id=activity.account_id,
            key_id=activity.key_id,
            at=call.at,
            now=now,
            origin=(call.source_ip, call.user_agent),
            threads=[(p.channel, p.ts) for p in others],
            hold_until=now + self.lease,
        )
        if alert is None:  # another process took the event over: it records it
            return False
        if alert.channel:
            self.deliver(alert, alert.channel, name, posted_since, activity)
        return True

    def fold(self, activity: RootActivity, name: str | None, posted_since: datetime | None) -> bool:
        call = activity.call
        now = self.now()
        folded = self.store.fold_use(
            event_id=activity.event_id,
            owner=self.owner,
            account_id=activity.account_id,
            key_id=activity.key_id,
            action=call.action,
            at=call.at,
            ip=call.source_ip,
            now=now,
            hold_until=now + self.lease,
        )
        if folded is None:  # another process took the event over: it counts it
            return False
        self.count("folded")
        alert = folded.alert
        if folded.opened and alert.channel:  # this use opened the window: its process posts
            self.deliver(alert, alert.channel, name, posted_since, activity)
        elif alert.ts is None:
            # Not posted: the opener gave it back (Slack refused) or is gone; take it over,
            # looking for an earlier post of it first.
            now = self.now()
            claim = self.store.claim_post(
                alert.id, self.owner, now, now - self.lease, hold_until=now + self.lease
            )
            if claim is not None:
                self.deliver(alert, claim, name, alert.created_at, activity)
        else:
            self.refresh(alert, name)
        return True

    def deliver(
        self,
        alert: Alert,
        claim: str,
        name: str | None,
        since: datetime | None,
        activity: RootActivity | None = None,
    ) -> bool:
        """Post an alert of any kind under ``claim``; True when Slack took it. When it did not,
        the alert is given back and waits in the store for ``post_unposted``, due again after
        ``retry_pause``. ``since``: look for an earlier post of it first (another process may
        have posted and died)."""
        if alert.uses is not None:
            placed = self.notifier.uses_opened(
                alert.uses, name, delivery=f"uses-{alert.id}", posted_since=since
            )
        elif alert.activity == NOTES:
            placed = self.notifier.key_deleted(
                activity or activity_of(alert),
                name,
                self.note_threads(alert),
                delivery=f"note-{alert.event_id}",
                posted_since=since,
            )
        else:
            placed = self.notifier.key_alert(
                activity or activity_of(alert),
                name,
                delivery=f"event-{alert.event_id}",
                posted_since=since,
            )
        if placed is None:
            pause = retry_pause(alert.tries + 1, self.retry_pause)
            self.store.release_post(alert.id, claim, self.now() + pause)
            self.count("undelivered")
            return False
        self.store.set_message(alert.id, placed.channel, placed.ts)
        if alert.activity == NOTES:
            self.count("noted")
            return True
        self.count("posted")
        self.posted(activity or activity_of(alert))
        if alert.uses is not None:
            latest = self.store.get(alert.id)  # uses counted meanwhile by other processes
            if latest.version != alert.version:
                self.refresh(latest, name)
        return True

    def post_unposted(self) -> None:
        """Post the alerts whose message is not there, of every kind: Slack refused it, or the
        process that recorded the event died before posting. An event's queue message is
        deleted once its alert is recorded (it waits in the store, durably), so this is what
        posts it once Slack takes posts again, however long Slack was gone: each alert once
        (``claim_post``), after looking for an earlier post of it. Run after every poll: every
        alert due (its own pause after a refusal past), oldest first, at most ``RETRY_BATCH``;
        a failure of any kind on one holds back none of the others (one that raised is due
        again once its claim is stale)."""
        now = self.now()
        for alert in self.store.unposted(now, RETRY_BATCH):
            claim = self.store.claim_post(
                alert.id, self.owner, now, now - self.lease, hold_until=now + self.lease
            )
            if claim is None:
                continue  # another process is posting it
            try:
                self.deliver(alert, claim, self.account_name(alert.account_id), alert.created_at)
            except Exception:
                self.count("failed")
                log.exception("events: alert %d could not be posted; tried again later", alert.id)

    def posted(self, activity: RootActivity) -> None:
        """An alert of ``activity`` is in Slack now: how long after the event."""
        lag = (self.now() - activity.call.at).total_seconds()
        self.metrics.alert_posted(activity.activity.value, lag)

    def refresh(self, alert: Alert, name: str | None) -> None:
        """Show the window's latest counts. Whoever counted a use last shows it: after each
        update the counts are read again, and shown again if they moved meanwhile, so the last
        update to land is never older than the last count."""
        shown = 0
        while alert.ts and alert.channel and alert.uses is not None and alert.version > shown:
            self.notifier.uses_updated(Placed(alert.channel, alert.ts), alert.uses, name)
            shown = alert.version
            alert = self.store.get(alert.id)

    def note_threads(self, alert: Alert) -> list[Placed]:
        """Where a deletion's note goes: the threads of the key's alerts, then those of the
        open requests recorded with it (each once)."""
        threads = self.threads(alert.account_id, alert.key_id)
        others = [Placed(c, t) for c, t in alert.threads]
        return threads + [p for p in dict.fromkeys(others) if p not in threads]

    def threads(self, account_id: str, key_id: str) -> list[Placed]:
        """The threads a deletion of ``key_id`` is noted in: the posted alerts of that key in
        the account, of the last ``NOTE_WINDOW`` (none for a key id not readable)."""
        since = self.now() - NOTE_WINDOW
        return [
            Placed(a.channel, a.ts)
            for a in self.store.recent(account_id, since)
            if a.channel and a.ts and key_id and a.key_id == key_id
        ]

    def first_time(self, message: Received) -> bool:
        """True the first time this process meets ``message`` among those it logs."""
        with self.lock:
            if message.message_id in self.logged:
                return False
            self.logged[message.message_id] = None
            while len(self.logged) > MAX_REMEMBERED:
                self.logged.popitem(last=False)
        return True

    def log_once(self, message: Received, why: str) -> None:
        if not self.first_time(message):
            return
        log.warning(
            "events queue: message %s is not an EventBridge event (%s); left on the queue for "
            "its dead-letter queue",
            message.message_id,
            why,
        )


class AlertPoller:
    """One turn of the events queue's loop (``poll``): a long poll, its batch, and the posts
    Slack refused before. The bot's scheduler (``bot.runtime``) runs it again as soon as it
    ends, until the bot stops (``shutdown``: a batch received while stopping is left on the
    queue for the next start)."""

    def __init__(
        self, service: AlertService, queue: Queue, *, error_pause: float = ERROR_PAUSE
    ) -> None:
        self.service = service
        self.queue = queue
        self.error_pause = error_pause
        self.stopping = threading.Event()

    def start(self) -> None:
        log.info("root-activity alerts: polling the events queue")

    def shutdown(self) -> None:
        self.stopping.set()
        log.info("root-activity alerts: stopped")

    def poll(self) -> timedelta | None:
        """One turn; after a failure (logged), how long to wait before the next."""
        if self.stopping.is_set():
            return None
        try:
            messages = self.queue.receive()
            if messages and not self.stopping.is_set():
                self.service.handle_batch(self.queue, messages)
            self.service.post_unposted()  # windows Slack refused, once it takes posts
        except Exception:  # the loop outlives any one failure; the next poll retries
            log.exception("root-activity alerts: polling failed; retrying")
            return timedelta(seconds=self.error_pause)
        return None

    def poll_once(self) -> int:
        """One receive and its batch (tests and benchmarks); the number received."""
        messages = self.queue.receive()
        if messages:
            self.service.handle_batch(self.queue, messages)
        self.service.post_unposted()
        return len(messages)


def activity_of(alert: Alert) -> RootActivity:
    """A key's event as its stored alert keeps it: enough to build its message again."""
    ip, agent = (*alert.origin, "", "")[:2]
    call = ApiCall(
        event_id=alert.event_id,
        detail_type="AWS API Call via CloudTrail",
        account_id=alert.account_id,
        at=alert.at,
        region="",
        source_ip=ip,
        user_agent=agent,
    )
    return RootActivity(Activity(alert.activity), call, alert.key_id)
