"""What rootkey asks of Slack's directory: who is in an approver group
(``usergroups.users.list``), what a person is called (``users.info``, for the audit log) and
who can read a private conversation (``conversations.info``, ``conversations.members``)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.remediation.errors import ApproverLookupFailed
from bot.slack.poster import TRANSPORT_ERRORS

log = logging.getLogger(__name__)

NAME_TTL = 3600.0  # a name, once known, for an hour
MISS_TTL = 60.0  # Slack could not say: ask again after a minute (the log keeps the id meanwhile)
NAME_LIMIT = 80
SPACES = re.compile(r"\s+")


def plain_name(raw: object) -> str | None:
    """A name as one line of plain text: whitespace (line breaks included) collapsed, control
    characters dropped, at most ``NAME_LIMIT`` characters; None when nothing is left."""
    if not isinstance(raw, str):
        return None
    text = "".join(c for c in SPACES.sub(" ", raw) if c.isprintable()).strip()
    return text[:NAME_LIMIT] or None


def name_in(user: dict[str, object]) -> str | None:
    """The person's real name, else their display name, else their handle."""
    profile = user.get("profile")
    profile = profile if isinstance(profile, dict) else {}
    for raw in (
        profile.get("real_name"),
        user.get("real_name"),
        profile.get("display_name"),
        user.get("name"),
    ):
        name = plain_name(raw)
        if name:
            return name
    return None


class SlackDirectory:
    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self.lock = threading.Lock()
        self.names: dict[str, tuple[str | None, float]] = {}  # user -> (name, valid until)

    def members(self, group: str) -> list[str]:
        try:
            response = self.client.usergroups_users_list(usergroup=group)
        except (SlackApiError, SlackClientError, *TRANSPORT_ERRORS) as exc:
            raise ApproverLookupFailed(
                f"Could not ask Slack who is in approver group {group}; nothing was changed, "
                "try again."
            ) from exc
        return [str(u) for u in response.get("users") or []]

    def name(self, user: str) -> str | None:
        """``user``'s name as plain text for the audit log, or None when Slack cannot say (the
        log then keeps the id alone). Never raises: a name is never worth a refused click."""
        now = self.clock()
        with self.lock:
            known = self.names.get(user)
        if known is not None and known[1] > now:
            return known[0]
        name: str | None = None
        ttl = NAME_TTL
        try:
            response = self.client.users_info(user=user)
            data = response.get("user")
            name = name_in(data) if isinstance(data, dict) else None
        except SlackApiError as exc:
            log.warning("could not look up the name of %s: %s", user, exc.response.get("error"))
            ttl = MISS_TTL
        except (SlackClientError, *TRANSPORT_ERRORS) as exc:
            log.warning("could not look up the name of %s: %s", user, type(exc).__name__)
            ttl = MISS_TTL
        with self.lock:
            self.names[user] = (name, now + ttl)
        return name

    def private_members(self, channel: str) -> frozenset[str] | None:
        """Who can read ``channel`` when it is private (a private channel or a group DM): its
        members. None when everyone in the workspace can read it (a public channel), or when
        Slack could not say (logged: the request is not refused for a lookup)."""
        try:
            info = self.client.conversations_info(channel=channel).get("channel") or {}
            if not info.get("is_private"):
                return None
            members: set[str] = set()
            cursor: str | None = None
            while True:
                page = self.client.conversations_members(channel=channel, cursor=cursor, limit=200)
                members.update(str(u) for u in page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return frozenset(members)
        except SlackApiError as exc:
            log.warning("could not read who is in %s: %s", channel, exc.response.get("error"))
        except (SlackClientError, *TRANSPORT_ERRORS) as exc:
            log.warning("could not read who is in %s: %s", channel, type(exc).__name__)
        return None
