"""``/rootkey status``: the open remediation requests, the accepted risks in force (and why any
no longer covers its account), and the Organization's numbers, which come from the one read
model (``bot.services.org_state``) as every other surface's do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.remediation.models import Request, RiskException
from bot.services.org_state import Counts, OrgState
from bot.services.ports import Risk


class OpenRequests(Protocol):
    """``bot.services.remediation.RemediationService``."""

    def open_requests(self) -> list[Request]: ...

    def active_exceptions(self) -> list[RiskException]: ...

    def not_covering(self, exceptions: list[RiskException]) -> dict[int, str]: ...


class OrganizationNow(Protocol):
    """``bot.services.org_state.CurrentState``."""

    def read(self, *, risks: Sequence[Risk] | None = None) -> OrgState: ...


@dataclass(frozen=True)
class Status:
    requests: list[Request]
    exceptions: list[RiskException]  # accepted risks in force
    not_covering: dict[int, str]  # request id -> why its accepted risk no longer covers
    counts: Counts  # the Organization now


class StatusService:
    def __init__(self, requests: OpenRequests, organization: OrganizationNow) -> None:
        self.requests = requests
        self.organization = organization

    def status(self) -> Status:
        """What ``/rootkey status`` shows. Raises ``StoreError`` when the database cannot
        answer."""
        exceptions = self.requests.active_exceptions()
        return Status(
            requests=self.requests.open_requests(),
            exceptions=exceptions,
            not_covering=self.requests.not_covering(exceptions),
            counts=self.organization.read(risks=exceptions).counts,
        )
