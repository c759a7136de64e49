"""``/rootkey status`` and ``/rootkey history`` as use cases: what each returns, read through
their ports (no database, no Slack)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.services.accounts import AccountNames, UnknownName
from bot.services.history import HistoryService
from bot.services.org_state import Counts, OrgState
from bot.services.status import StatusService
from simulator.fake_services import request

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class Requests:
    def __init__(self) -> None:
        self.risks: list[Any] = ["risk of 111111111111"]

    def open_requests(self) -> list[Any]:
        return [request(7)]

    def active_exceptions(self) -> list[Any]:
        return self.risks

    def not_covering(self, exceptions: list[Any]) -> dict[int, str]:
        return {9: "a key created since"} if exceptions else {}


class Organization:
    def __init__(self) -> None:
        self.read_with: list[Any] = []

    def read(self, *, risks: Any = None) -> OrgState:
        self.read_with.append(risks)
        return OrgState(NOW, ())


def test_status_counts_from_the_read_model_with_the_risks_it_shows() -> None:
    requests, organization = Requests(), Organization()
    found = StatusService(requests, organization).status()  # type: ignore[arg-type]
    assert [r.id for r in found.requests] == [7]
    assert found.exceptions == requests.risks
    assert found.not_covering == {9: "a key created since"}
    assert organization.read_with == [requests.risks]  # one read, with the same risks
    assert found.counts == Counts()


class Store:
    def accounts_named(self, name: str) -> list[tuple[str, str]]:
        return [("123456789012", "Billing")] if name.lower() == "billing" else []

    def history(self, account_id: str, limit: int = 100) -> list[Any]:
        return []

    def latest_state(self, account_id: str) -> Any:
        return None


class Log:
    def find(self, *, account_id: str | None = None) -> list[Any]:
        return []

    def log(self, request_id: int | None = None) -> list[Any]:
        return []


def history_service() -> HistoryService:
    store = Store()
    return HistoryService(store, Log(), AccountNames(store), clock=lambda: NOW)  # type: ignore[arg-type]


def test_history_by_name_is_the_named_account_as_of_the_clock() -> None:
    found = history_service().account(name="billing")
    assert (found.account_id, found.as_of) == ("123456789012", NOW)
    assert history_service().account("210987654321").account_id == "210987654321"


def test_history_of_a_name_no_account_has_is_refused() -> None:
    with pytest.raises(UnknownName, match="No audited account is named 'ledger'"):
        history_service().account(name="ledger")
