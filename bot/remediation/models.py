"""Plain records of the remediation flow, as the store returns them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.audit.models import iso
from bot.remediation.keys import KeyPrint
from bot.remediation.states import Kind, Mode, State


@dataclass(frozen=True)
class Approval:
    user: str
    at: datetime


@dataclass(frozen=True)
class Conversation:
    """Where a request lives on the chat platform, as its notifier placed it.

    The use cases keep it and hand it back; what ``place``, ``thread`` and ``message`` mean,
    and which places may hold a request, is the notifier adapter's to say
    (``RemediationNotifier.can_post_in``). The store keeps each in a column of its own.
    """

    place: str  # the conversation
    thread: str | None = None  # the message its thread hangs off (the finding), if any
    message: str | None = None  # the request's own message, once posted

    @property
    def replies_under(self) -> str | None:
        """The message replies go under: the finding's thread, else the request's message."""
        return self.thread or self.message


@dataclass(frozen=True)
class Request:
    """One remediation or risk-exception request, and where it lives (``where``: opaque to the
    use cases, the chat adapter's to read)."""

    id: int
    kind: Kind
    account_id: str
    state: State
    requester: str
    reason: str
    where: Conversation  # where it was asked for and posted, as the notifier placed it
    created_at: datetime
    expires_at: datetime  # approval deadline (ROOTKEY_APPROVAL_TTL after creation)
    state_since: datetime
    account_name: str | None = None
    mode: Mode | None = None  # remediation only
    ticket_url: str | None = None
    assignee: str | None = None  # tracked: who removes the key
    owner: str | None = None  # exception: who owns the accepted risk
    exception_until: datetime | None = None
    checked_at: datetime | None = None  # last re-audit while tracking
    reminded_assignee_at: datetime | None = None
    reminded_approvers_at: datetime | None = None
    lease_owner: str | None = None  # executing: the process doing it
    lease_until: datetime | None = None
    dry_run: bool = False  # remediation: saved when requested; execution deletes nothing
    key_prints: tuple[KeyPrint, ...] | None = None  # the keys it is about (None: not recorded)
    approvals: tuple[Approval, ...] = ()
    version: int = 0

    @property
    def approvers_so_far(self) -> tuple[str, ...]:
        return tuple(a.user for a in self.approvals)

    @property
    def label(self) -> str:
        return f"{self.account_id} ({self.account_name})" if self.account_name else self.account_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "account_id": self.account_id,
            "account_name": self.account_name,
            "state": self.state.value,
            "mode": self.mode.value if self.mode else None,
            "dry_run": self.dry_run,
            "requester": self.requester,
            "reason": self.reason,
            "ticket_url": self.ticket_url,
            "assignee": self.assignee,
            "owner": self.owner,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "exception_until": iso(self.exception_until),
            "keys": None if self.key_prints is None else [k.to_dict() for k in self.key_prints],
            "approvals": [{"user": a.user, "at": iso(a.at)} for a in self.approvals],
        }


@dataclass(frozen=True)
class LogEntry:
    """One line of the append-only audit log."""

    id: int
    request_id: int
    at: datetime
    actor: str  # a Slack user id, or "rootkey" for the bot's own moves
    event: str  # transition, approval, refused, step, reminder, note
    from_state: str | None
    to_state: str | None
    detail: str
    account_id: str | None = None  # as the line was written (the request's row may change)
    kind: str | None = None
    hash: str | None = None  # SHA-256 over the content and the previous line's hash
    actor_name: str | None = None  # the actor's name when written (revision 0009), plain text
    terms: str | None = None  # the terms decided on this line (revision 0010; JSON), if any

    FIELDS = ("id", "request_id", "at", "actor", "event", "from_state", "to_state", "detail")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request_id": self.request_id,
            "at": iso(self.at),
            "actor": self.actor,
            "actor_name": self.actor_name,
            "event": self.event,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RiskException:
    """An approved exception: the account is shown apart until ``expires_at``."""

    request_id: int
    account_id: str
    owner: str
    reason: str
    starts_at: datetime
    expires_at: datetime
    account_name: str | None = None
    key_prints: tuple[KeyPrint, ...] | None = None  # the keys the risk was accepted for

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "account_id": self.account_id,
            "account_name": self.account_name,
            "owner": self.owner,
            "reason": self.reason,
            "starts_at": iso(self.starts_at),
            "expires_at": iso(self.expires_at),
            "keys": None if self.key_prints is None else [k.to_dict() for k in self.key_prints],
        }
