"""The Slack side of root-activity alerts: ``SlackAlerts`` implements the alerts use case's
notifier with the builders of ``bot.slack.blocks.alerts`` and the poster."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from bot.events.fold import Uses
from bot.events.models import RootActivity
from bot.services.ports import Placed
from bot.slack.blocks import alerts as blocks
from bot.slack.blocks.common import Message
from bot.slack.poster import DeliveryError, Poster

log = logging.getLogger(__name__)

LOOK_BACK = timedelta(seconds=5)  # clocks of two hosts disagree a little
# A reply to a message no longer in the channel (deleted by someone or a retention policy):
# Slack answers thread_not_found (or message_not_found) however often it is asked.
THREAD_GONE = frozenset({"thread_not_found", "message_not_found"})


class SlackAlerts:
    def __init__(self, poster: Poster, channel: str, zone: tzinfo) -> None:
        self.poster = poster
        self.channel = channel
        self.zone = zone

    def post(self, message: Message, delivery: str, posted_since: datetime | None) -> Placed | None:
        if posted_since is not None:
            # Another process claimed this event and stopped: it may have posted already.
            since = f"{(posted_since - LOOK_BACK).timestamp():.6f}"
            found = self.poster.find_delivery(self.channel, delivery, since)
            if found is not None and found.ts:
                log.info("events: %s had been posted before; not posting again", delivery)
                return Placed(self.channel, found.ts)
        try:
            posted = self.poster.post(self.channel, message, delivery_id=delivery)
        except DeliveryError as exc:
            log.error("events: could not post the alert in %s: %s", self.channel, exc.error)
            return None
        return Placed(posted.channel or self.channel, posted.ts) if posted.ts else None

    def key_alert(
        self,
        activity: RootActivity,
        account_name: str | None,
        *,
        delivery: str,
        posted_since: datetime | None,
    ) -> Placed | None:
        message = blocks.key_alert(activity, account_name, self.zone)
        return self.post(message, delivery, posted_since)

    def uses_opened(
        self,
        uses: Uses,
        account_name: str | None,
        *,
        delivery: str,
        posted_since: datetime | None,
    ) -> Placed | None:
        return self.post(blocks.uses_alert(uses, account_name, self.zone), delivery, posted_since)

    def uses_updated(self, placed: Placed, uses: Uses, account_name: str | None) -> None:
        try:
            self.poster.update(
                placed.channel, placed.ts, blocks.uses_alert(uses, account_name, self.zone)
            )
        except DeliveryError as exc:
            log.error("events: could not update the alert %s: %s", placed.ts, exc.error)

    def key_deleted(
        self,
        activity: RootActivity,
        account_name: str | None,
        threads: Sequence[Placed],
        *,
        delivery: str | None = None,
        posted_since: datetime | None = None,
    ) -> Placed | None:
        """The note in each thread (with ``posted_since``, none where an earlier try put it);
        where they are once all are in, None when Slack refused one. A thread Slack says is
        gone (``THREAD_GONE``: its message was deleted) never takes it, so the note is posted
        once in the alert channel instead, saying so."""
        note = blocks.key_deleted_note(activity, self.zone)
        since = f"{(posted_since - LOOK_BACK).timestamp():.6f}" if posted_since else ""
        last, complete, gone = "", True, False
        for placed in threads:
            if delivery and since:
                found = self.poster.find_delivery(placed.channel, delivery, since, placed.ts)
                if found is not None and found.ts:
                    last = found.ts
                    continue
            try:
                posted = self.poster.post(
                    placed.channel, note, thread_ts=placed.ts, delivery_id=delivery
                )
            except DeliveryError as exc:
                if exc.error in THREAD_GONE:
                    log.warning(
                        "events: the thread %s is gone (%s); the deletion is noted in %s",
                        placed.ts,
                        exc.error,
                        self.channel,
                    )
                    gone = True
                    continue
                log.error("events: could not note the deletion in %s: %s", placed.ts, exc.error)
                complete = False
                continue
            last = posted.ts or last
        if gone:
            moved = blocks.key_deleted_note(activity, self.zone, thread_gone=True)
            instead = self.post(moved, f"{delivery or 'note'}-gone", posted_since)
            if instead is None:
                return None
            last = last or instead.ts
        return Placed(self.channel, last) if complete else None
