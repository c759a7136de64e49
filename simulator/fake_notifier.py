"""A remediation notifier that posts nothing: it records what the use case tells.

``RecordingNotifier`` stands in for ``bot.slack.notifier.SlackRemediationNotifier`` where a
test is about the use case, not about Slack: every notice is kept as a ``(request id,
notice)`` pair, in order, and each request opened gets a message id of its own. ``refuse``
makes the next ``open`` fail as Slack would (``NotDelivered``); a conversation that begins
with one of ``direct`` may not hold a request.
"""

from __future__ import annotations

import itertools
from typing import TypeVar

from bot.remediation.models import Conversation, Request
from bot.remediation.notices import Notice
from bot.services.ports import NotDelivered

N = TypeVar("N")


class RecordingNotifier:
    def __init__(self, *, direct: tuple[str, ...] = ("D",)) -> None:
        self.direct = direct  # how a conversation no request may live in begins
        self.opened: list[int] = []  # request ids, in the order they were posted
        self.told: list[tuple[int, Notice]] = []
        self.refuse: str | None = None  # the error the next open fails with, if any
        self.stamps = itertools.count(1)

    # -- RemediationNotifier --------------------------------------------------------------------

    def can_post_in(self, where: Conversation) -> bool:
        return not where.place.startswith(self.direct)

    def open(self, req: Request) -> Conversation:
        if self.refuse is not None:
            error, self.refuse = self.refuse, None
            raise NotDelivered(error)
        self.opened.append(req.id)
        ts = f"1700000000.{next(self.stamps):06d}"
        return Conversation(req.where.place, req.where.thread or ts, ts)

    def notify(self, req: Request, notice: Notice) -> None:
        self.told.append((req.id, notice))

    # -- what the tests read ----------------------------------------------------------------------

    def notices(self, request_id: int) -> list[Notice]:
        """What request ``request_id`` was told, in order."""
        return [notice for rid, notice in self.told if rid == request_id]

    def of(self, kind: type[N], request_id: int | None = None) -> list[N]:
        """The notices of type ``kind`` (of one request, or of all), in order."""
        return [
            notice
            for rid, notice in self.told
            if isinstance(notice, kind) and request_id in (None, rid)
        ]
