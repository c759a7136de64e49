"""The remediation side's ports to the outside: the requests (``bot.store.remediation``, and
the narrower reads of the digest, the Home tab, the history and the alerts' follow-up),
centralized root access (``bot.aws.root``), who this process is (``bot.process``), and what
used a root key (``bot.aws.cloudtrail``).

The repository raises ``StoreError`` when the database cannot answer; only the methods the
use case calls are named.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.audit.models import OrgFeatures
from bot.events.usage import UsageReport
from bot.records.aws import RootKey
from bot.records.remediation import ApprovalOutcome, NewRequest
from bot.remediation.chain import Anchor
from bot.remediation.keys import AcceptedRisk, KeyPrint
from bot.remediation.models import Conversation, LogEntry, Request, RiskException
from bot.remediation.states import Kind, State


class RequestRepository(Protocol):
    """Requests, their moves (each a conditional update, so it happens once across replicas)
    and their append-only log (``bot.store.remediation.RemediationStore``)."""

    # -- reading

    def get(self, request_id: int) -> Request:
        """Raises ``RequestNotFound`` when there is no such request."""
        ...

    def find(
        self,
        states: Iterable[State] | None = None,
        kind: Kind | None = None,
        account_id: str | None = None,
    ) -> list[Request]: ...

    def open_requests(self) -> list[Request]:
        """Requests still waiting for a decision or a fix (not active exceptions)."""
        ...

    def overdue(self, now: datetime) -> list[Request]:
        """Requests still waiting for approval past their deadline."""
        ...

    def due_rechecks(self, now: datetime, interval: timedelta) -> list[Request]: ...

    def active_exceptions(self, now: datetime) -> list[RiskException]:
        """Accepted risks in force at ``now``, on the terms their approval logged."""
        ...

    def lapsed_exceptions(self, now: datetime) -> list[Request]:
        """Approved accepted risks whose logged end has come."""
        ...

    def executing(self) -> list[Request]: ...

    # -- writing

    def create(self, new: NewRequest, now: datetime) -> Request:
        """Raises ``AlreadyOpen`` when the account has an open request of this kind."""
        ...

    def transition(
        self,
        request_id: int,
        from_state: State,
        to_state: State,
        actor: str,
        detail: str,
        now: datetime,
        holder: str | None = None,
        actor_name: str | None = None,
        **fields: object,
    ) -> Request | None:
        """Move the request if it is still in ``from_state`` (and, out of ``executing``, if
        ``holder`` holds its lease); None when another click or process moved it first."""
        ...

    def approve(
        self,
        request_id: int,
        user: str,
        required: int,
        now: datetime,
        detail: str = "",
        approvers: Collection[str] | None = None,
        user_name: str | None = None,
    ) -> ApprovalOutcome:
        """Count ``user``'s approval once; the click that reaches ``required`` approves."""
        ...

    def set_place(self, request_id: int, where: Conversation) -> None:
        """Remember where the request was posted (its message and thread)."""
        ...

    def note(
        self,
        request_id: int,
        actor: str,
        event: str,
        detail: str,
        now: datetime,
        actor_name: str | None = None,
    ) -> LogEntry:
        """Append a log line that is not a state change (a step, a refusal, a note)."""
        ...

    # -- leases and claims (False: another process has it)

    def take_over(self, request: Request, owner: str, until: datetime) -> bool: ...

    def renew_lease(self, request_id: int, owner: str, until: datetime) -> bool: ...

    def release_lease(self, request_id: int, owner: str, now: datetime) -> bool: ...

    def claim_recheck(self, request: Request, now: datetime) -> bool: ...

    def claim_reminder(self, request_id: int, who: str, now: datetime) -> bool: ...


class RootSession(Protocol):
    """One short root session in one member account. Raises ``RootAccessError``."""

    def list_keys(self) -> list[RootKey]:
        """The root user's access keys, each with its last use."""
        ...

    def delete_key(self, key_id: str) -> None:
        """Delete one key (a key already gone is no failure)."""
        ...


class RootAccess(Protocol):
    """Centralized root access (sts:AssumeRoot) from the management account."""

    @property
    def region(self) -> str: ...

    @property
    def duration(self) -> int:
        """How long a session lasts (seconds)."""
        ...

    def features(self) -> OrgFeatures:
        """Whether the Organization has root credentials management and root sessions
        (unknown when it may not be asked); raises ``RootAccessError``."""
        ...

    def open(self, account_id: str) -> RootSession:
        """A root session in ``account_id``; raises ``RootAccessError``."""
        ...


class Identity(Protocol):
    """Who this process is, as an execution lease names its holder (``bot.process``)."""

    @property
    def me(self) -> str: ...

    def gone(self, owner: str | None) -> bool:
        """True when the lease holder ``owner`` is surely a process that no longer runs (never
        this one)."""
        ...


class RequestReader(Protocol):
    def open_requests(self) -> list[Request]: ...

    def active_exceptions(self, now: datetime) -> list[RiskException]: ...


class RequestLog(Protocol):
    """``bot.store.remediation.RemediationStore``."""

    def find(self, *, account_id: str | None = None) -> list[Request]: ...

    def log(self, request_id: int | None = None) -> list[LogEntry]: ...


class UsageReader(Protocol):
    def read(
        self,
        account_id: str,
        *,
        last_used_regions: Sequence[str | None] = (),
        known_keys: Sequence[str] = (),
    ) -> UsageReport: ...


class RequestFinder(Protocol):
    """The remediation store's view the follow-up needs."""

    def find(self, states: Iterable[State], *, kind: Kind | None = None) -> list[Request]: ...


class OpenRequestView(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def account_id(self) -> str: ...
    @property
    def account_name(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def requester(self) -> str: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...


class ExceptionView(Protocol):
    @property
    def account_id(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def key_prints(self) -> Sequence[KeyPrint] | None: ...


class RemediationSource(Protocol):
    """Open remediation requests and accepted risks (the remediation store answers this)."""

    def open_requests(self) -> Sequence[OpenRequestView]: ...

    def active_exceptions(self, now: datetime) -> Sequence[ExceptionView]: ...

    def log_head(self) -> Anchor | None:
        """The remediation log's last line (id and hash), None while it is empty."""
        ...


class Risk(AcceptedRisk, Protocol):
    """What the read model reads of an accepted risk (a stored exception): its account, end,
    owner and reason, and what ``risk_coverage`` reads."""

    @property
    def account_id(self) -> str: ...

    @property
    def expires_at(self) -> datetime: ...

    @property
    def owner(self) -> str: ...

    @property
    def reason(self) -> str: ...


class RisksInForce(Protocol):
    def active_exceptions(self, now: datetime) -> Sequence[Risk]: ...
