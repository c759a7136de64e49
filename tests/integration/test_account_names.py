"""Accounts named by a person (``/rootkey history legacy-billing``): looked up among the latest
audits' stored names, on SQLite and PostgreSQL; a name two accounts share is refused with both
listed, a renamed account answers to its new name only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.audit.models import AuditResult, Status, Verdict
from bot.services.accounts import UnknownName, account_by_name
from bot.store import Store
from tests.support.database import BACKENDS, database, wipe

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
A, B, D = "111111111111", "222222222222", "333333333333"


@pytest.fixture(scope="module", params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(str(request.param), tmp_path_factory.mktemp("names")) as db_url:
        yield db_url


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = Store.open(url)
    wipe(opened.engine)
    yield opened
    opened.close()


def audit(store: Store, day: int, names: dict[str, str]) -> None:
    """An Organization audit naming each account as ``names`` says (as ListAccounts does)."""
    at = T0 + timedelta(days=day)
    verdicts = tuple(
        Verdict(a, Status.COMPLIANT, "no root access key", "aws", account_name=n, checked_at=at)
        for a, n in names.items()
    )
    result = AuditResult(verdicts, "org", at - timedelta(minutes=1), at + timedelta(minutes=1))
    store.save_run(result, "schedule")


def test_a_name_is_the_account_its_latest_audit_named(store: Store) -> None:
    audit(store, 0, {A: "legacy-billing", B: "payments", D: "sandbox"})
    assert account_by_name(store, "legacy-billing") == (A, "legacy-billing")
    assert account_by_name(store, "LEGACY-Billing") == (A, "legacy-billing")  # any case
    # Renamed since: the new name finds it, the old one no longer does.
    audit(store, 1, {A: "billing-archive", B: "payments", D: "sandbox"})
    assert account_by_name(store, "billing-archive") == (A, "billing-archive")
    with pytest.raises(UnknownName, match="No audited account is named 'legacy-billing'"):
        account_by_name(store, "legacy-billing")


def test_a_name_two_accounts_share_is_refused_with_both_listed(store: Store) -> None:
    # AWS does not make account names unique: two accounts may both be "sandbox".
    audit(store, 0, {A: "sandbox", B: "Sandbox", D: "payments"})
    with pytest.raises(UnknownName) as refused:
        account_by_name(store, "sandbox")
    said = str(refused.value)
    assert f"{A} (sandbox)" in said and f"{B} (Sandbox)" in said and D not in said
    assert "Give the id" in said
