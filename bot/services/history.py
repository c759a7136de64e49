"""``/rootkey history ACCOUNT``: where an account stands, and how it got there: its audits'
status changes and, between them, what people asked and decided about it (a request with its
reason and ticket, each approval, a rejection, the keys deleted, tracking, the end).

The request lines come from the append-only log (``bot.store.remediation``), as the auditor's
export has them; only the moments an auditor asks about are kept (not each refused click,
reminder or intermediate step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.audit.models import utcnow
from bot.records.history import AccountState, HistoryEntry
from bot.remediation.models import LogEntry, Request
from bot.services.accounts import AccountNames
from bot.services.ports import AuditHistory, RequestLog

MAX_REQUESTS = 20  # an account's latest requests read into its timeline

# Moves a timeline shows (to this state); "approved" is shown as each approval instead, and
# "executing" is the work starting (its deletions are shown).
SHOWN_MOVES = frozenset(
    {"requested", "rejected", "tracking", "deactivated", "verified", "failed", "expired",
     "cancelled"}
)  # fmt: skip
SHOWN_STEPS = ("Deleted ", "Dry run")  # a key deleted, or what a dry run would have deleted


@dataclass(frozen=True)
class RequestLine:
    """One moment of a request in an account's timeline: ``what`` is the state it moved to,
    ``approval``, or ``deleted`` (a step: ``detail`` names the masked key)."""

    at: datetime
    request: Request
    what: str
    actor: str | None
    detail: str


@dataclass(frozen=True)
class AccountHistory:
    account_id: str
    audits: list[HistoryEntry]  # newest first
    state: AccountState | None
    requests: list[RequestLine]  # newest first
    as_of: datetime = field(default_factory=utcnow)


def request_line(req: Request, entry: LogEntry) -> RequestLine | None:
    """The timeline's line for one log line of ``req``, or None when it shows none."""
    actor = None if entry.actor == "rootkey" else entry.actor
    if entry.event == "transition" and entry.to_state in SHOWN_MOVES:
        return RequestLine(entry.at, req, entry.to_state, actor, entry.detail)
    if entry.event == "approval":
        return RequestLine(entry.at, req, "approval", actor, entry.detail)
    if entry.event == "step" and entry.detail.startswith(SHOWN_STEPS):
        return RequestLine(entry.at, req, "deleted", actor, entry.detail)
    return None


def account_history(audits: AuditHistory, requests: RequestLog, account_id: str) -> AccountHistory:
    """Everything the history of ``account_id`` shows, read from the store and the log."""
    lines: list[RequestLine] = []
    for req in requests.find(account_id=account_id)[-MAX_REQUESTS:]:
        for entry in requests.log(req.id):
            line = request_line(req, entry)
            if line is not None:
                lines.append(line)
    lines.sort(key=lambda line: (line.at, line.request.id), reverse=True)
    return AccountHistory(
        account_id, audits.history(account_id), audits.latest_state(account_id), lines
    )


class HistoryService:
    """``/rootkey history``: an account's history, by its id or by its name."""

    def __init__(
        self,
        audits: AuditHistory,
        requests: RequestLog,
        names: AccountNames,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.audits = audits
        self.requests = requests
        self.names = names
        self.clock = clock

    def account(self, account_id: str | None = None, *, name: str | None = None) -> AccountHistory:
        """The history of ``account_id``, or of the one account named ``name``
        (``UnknownName`` when none or several are); raises ``StoreError`` when the database
        cannot answer."""
        if account_id is None:
            assert name is not None, "an account id or a name"
            account_id, _stored = self.names.find(name)
        found = account_history(self.audits, self.requests, account_id)
        return replace(found, as_of=self.clock())
