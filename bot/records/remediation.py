"""Remediation requests as the use cases hand them to the store and get them back: a new request
(``NewRequest``), what an approval click did (``ApprovalOutcome``), the states that block a second
request for an account (``OPEN_FOR_ACCOUNT``) and the name the bot's own moves are logged under.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.remediation.keys import KeyPrint
from bot.remediation.models import Conversation, Request
from bot.remediation.states import Kind, Mode, State

BOT_ACTOR = "rootkey"  # the actor of the bot's own moves in the log

# A request in one of these states blocks another of the same kind for the same account
# (a partial unique index, revision 0004).
OPEN_FOR_ACCOUNT = (
    State.REQUESTED,
    State.APPROVED,
    State.EXECUTING,
    State.TRACKING,
    State.DEACTIVATED,
)


@dataclass(frozen=True)
class ApprovalOutcome:
    """What one approval click did: counted or not, and whether it completed the approval."""

    counted: bool  # False: the request was no longer waiting, or this user had approved already
    approved: bool  # True only for the click whose approval moved the request to approved
    request: Request


@dataclass(frozen=True)
class NewRequest:
    kind: Kind
    account_id: str
    requester: str
    reason: str
    where: Conversation  # where it is to be posted (the store keeps each part in a column)
    expires_at: datetime
    account_name: str | None = None
    mode: Mode | None = None
    ticket_url: str | None = None
    owner: str | None = None
    exception_until: datetime | None = None
    dry_run: bool = False
    key_prints: tuple[KeyPrint, ...] | None = None  # the keys it is about (None: unknown)
    requester_name: str | None = None  # for the log line (plain text), when known
