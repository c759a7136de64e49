"""The Organization's current state (``bot.services.org_state``): how each account counts, on
plain data. Membership, read by the store, is tested in ``tests/integration/test_org_members``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.audit.models import KeySlot, Status
from bot.remediation.keys import KeyChange, KeyPrint
from bot.services.org_state import Counts, Standing, counts, org_state
from bot.store.records import AccountState

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MADE = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)  # the root key's creation
KEY = KeySlot(slot=1, active=True, last_rotated=MADE)
A, B, C, D = "111111111111", "222222222222", "333333333333", "444444444444"


def state(account: str, status: Status, keys: tuple[KeySlot, ...] = ()) -> AccountState:
    if status is Status.NONCOMPLIANT and not keys:
        keys = (KEY,)
    return AccountState(
        account_id=account,
        account_name=None,
        status=status,
        reason="r",
        checked_at=NOW - timedelta(hours=1),
        run_id=1,
        keys=keys,
        root_mfa_active=True,
        first_seen=NOW - timedelta(days=9),
        last_change=NOW - timedelta(days=1),
        open_since=NOW - timedelta(days=1) if status is Status.NONCOMPLIANT else None,
        report_generated_at=NOW - timedelta(hours=2),
    )


@dataclass(frozen=True)
class Risk:
    account_id: str
    expires_at: datetime
    starts_at: datetime = NOW - timedelta(days=3)
    key_prints: tuple[KeyPrint, ...] | None = (KeyPrint(created=MADE, active=True, slot=1),)


def test_each_account_counts_once_by_its_standing() -> None:
    states = [
        state(A, Status.COMPLIANT),
        state(B, Status.NONCOMPLIANT),
        state(C, Status.NONCOMPLIANT),
        state(D, Status.ERROR),
    ]
    org = org_state(states, [Risk(C, NOW + timedelta(days=5))], NOW)
    assert org.counts == Counts(total=4, compliant=1, noncompliant=1, accepted=1, error=1)
    assert org.counts.share == 25.0
    assert [a.standing for a in org.accounts] == [
        Standing.COMPLIANT,
        Standing.NONCOMPLIANT,
        Standing.ACCEPTED,
        Standing.ERROR,
    ]
    assert org.covered == {C: Risk(C, NOW + timedelta(days=5))}


def test_an_accepted_risk_covers_only_its_keys_and_only_while_in_force() -> None:
    other_key = KeySlot(slot=2, active=True, last_rotated=MADE + timedelta(days=1))
    states = [
        state(A, Status.NONCOMPLIANT),  # its risk ended
        state(B, Status.NONCOMPLIANT, (KEY, other_key)),  # a key it was not accepted for
        state(C, Status.NONCOMPLIANT),  # a key created after the report
        state(D, Status.COMPLIANT),  # nothing to cover: compliant, not "accepted"
    ]
    risks = [Risk(a, NOW + timedelta(days=5)) for a in (B, C, D)] + [Risk(A, NOW)]
    changes = {C: KeyChange(at=NOW - timedelta(minutes=30))}
    org = org_state(states, risks, NOW, changes=changes)
    assert org.counts == Counts(total=4, compliant=1, noncompliant=3, accepted=0, error=0)
    assert org.accounts[1].not_covered is not None and "key 2" in org.accounts[1].not_covered
    assert org.accounts[2].not_covered is not None and "after the credential report" in (
        org.accounts[2].not_covered
    )


def test_of_several_risks_the_one_ending_last_is_asked() -> None:
    ends = [NOW + timedelta(days=2), NOW + timedelta(days=9), NOW + timedelta(days=4)]
    org = org_state([state(A, Status.NONCOMPLIANT)], [Risk(A, end) for end in ends], NOW)
    assert org.covered[A].expires_at == ends[1]


def test_an_error_is_never_compliant_nor_accepted() -> None:
    org = org_state([state(A, Status.ERROR)], [Risk(A, NOW + timedelta(days=5))], NOW)
    assert org.counts == Counts(total=1, error=1)
    assert org.counts.share == 0.0


def test_no_member_no_share() -> None:
    assert counts([]) == Counts()
    assert Counts().share == 0.0


def test_a_check_s_accounts_are_counted_by_the_same_function() -> None:
    org = org_state(
        [state(A, Status.COMPLIANT), state(B, Status.NONCOMPLIANT), state(C, Status.ERROR)],
        [],
        NOW,
    )
    assert org.among([A, B]).counts == Counts(total=2, compliant=1, noncompliant=1)
