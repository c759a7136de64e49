"""The finding a request came from, updated in place once the request ends it.

The request lives in the thread of the check result that offered its buttons (``thread_ts``):
that message is read back as it stands (``conversations.replies``, which needs the channel's
``*:history`` scope and membership; in a public channel the bot posted to without being in it,
it joins first), the account's entry is replaced by the outcome (``blocks.outcome.settle``) and
the message is written back (``chat.update``, the bot's own message). Only that account's
section and buttons change, and the header and counts line, which are recounted from the
Organization's current state (``current``: ``bot.services.org_state``) over the check's scope;
the other entries keep theirs, including outcomes written earlier.

Edits of one message by this process are serialized, so two requests ending at the same moment
never write over each other's outcome. A failure is logged and changes nothing else: the
thread has already said how the request ended.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from bot.remediation.models import Request
from bot.services.org_state import OrgState
from bot.slack.blocks.outcome import outcome_line, outcome_text, recount, settle, shown_label
from bot.slack.poster import DeliveryError, Poster
from bot.store.records import StoreError

log = logging.getLogger(__name__)


class FindingMessages:
    def __init__(self, poster: Poster, current: Callable[[], OrgState] | None = None) -> None:
        self.poster = poster
        self.current = current  # the Organization now (None: the header is left as it is)
        self.guard = threading.Lock()
        self.locks: dict[tuple[str, str], threading.Lock] = {}

    def lock(self, channel: str, ts: str) -> threading.Lock:
        with self.guard:
            return self.locks.setdefault((channel, ts), threading.Lock())

    def settle(self, req: Request) -> None:
        """Show how ``req`` ended on its finding; logged, never raised, when it cannot."""
        line = outcome_line(req)
        ts = req.where.thread
        # Without a thread of its own finding (ROOTKEY_REQUEST_CHANNEL), there is none to update.
        if line is None or not ts or ts == req.where.message:
            return
        try:
            with self.lock(req.where.place, ts):
                message = self.read(req.where.place, ts)
                shown = message.get("blocks") or []
                text = outcome_text(req, line, shown_label(shown, req.account_id))
                blocks = settle(shown, req.account_id, text)
                if blocks is None:
                    log.info("request #%d: its finding does not list %s", req.id, req.account_id)
                    return
                fallback = str(message.get("text") or "") or line
                if (counted := self.recounted(blocks)) is not None:
                    blocks, fallback = counted
                self.poster.call(
                    "chat.update",
                    lambda: self.poster.client.chat_update(
                        channel=req.where.place, ts=ts, blocks=blocks, text=fallback
                    ),
                )
        except DeliveryError as exc:
            log.error(
                "request #%d: could not show the outcome on its finding: %s", req.id, exc.error
            )

    def recounted(self, blocks: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str] | None:
        """The blocks with the header recounted; None (header left) without a current state,
        or when the database cannot say it now (the entry is still updated)."""
        if self.current is None:
            return None
        try:
            return recount(blocks, self.current())
        except StoreError as exc:
            log.warning("finding header not recounted: %s", exc)
            return None

    def read(self, channel: str, ts: str) -> dict[str, Any]:
        """The message ``ts`` as it stands (the head of its thread)."""

        def replies() -> Any:
            return self.poster.client.conversations_replies(channel=channel, ts=ts, limit=1)

        try:
            page = self.poster.call("conversations.replies", replies)
        except DeliveryError as exc:
            if exc.error != "not_in_channel" or not self.poster.join(channel):
                raise
            page = self.poster.call("conversations.replies", replies)
        for message in page.get("messages") or []:
            if message.get("ts") == ts:
                return dict(message)
        raise DeliveryError("message_not_found")
