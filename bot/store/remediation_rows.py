"""Plain values the remediation store takes and returns, and its row converters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.remediation import keys
from bot.remediation.models import Approval, Conversation, LogEntry, Request
from bot.remediation.states import Kind, Mode, State


class Unchanged(Exception):
    """Raised inside a write transaction to roll it back: nothing was to be changed."""


def row_to_request(row: Any, approvals: Iterable[Approval] = ()) -> Request:
    return Request(
        id=int(row.id),
        kind=Kind(row.kind),
        account_id=row.account_id,
        account_name=row.account_name,
        state=State(row.state),
        mode=Mode(row.mode) if row.mode else None,
        requester=row.requester,
        reason=row.reason,
        ticket_url=row.ticket_url,
        where=Conversation(row.channel, row.thread_ts, row.message_ts),
        assignee=row.assignee,
        owner=row.owner,
        exception_until=row.exception_until,
        created_at=row.created_at,
        expires_at=row.expires_at,
        state_since=row.state_since,
        checked_at=row.checked_at,
        reminded_assignee_at=row.reminded_assignee_at,
        reminded_approvers_at=row.reminded_approvers_at,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        dry_run=bool(row.dry_run),
        key_prints=keys.decode(row.key_prints),
        approvals=tuple(approvals),
        version=int(row.version),
    )


def row_to_log(row: Any) -> LogEntry:
    return LogEntry(
        id=int(row.id),
        request_id=int(row.request_id),
        at=row.at,
        actor=row.actor,
        event=row.event,
        from_state=row.from_state,
        to_state=row.to_state,
        detail=row.detail,
        account_id=row.account_id,
        kind=row.kind,
        hash=row.hash,
        actor_name=row.actor_name,
        terms=row.terms,
    )
