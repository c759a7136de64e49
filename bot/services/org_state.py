"""The current state of the Organization: the one read model every surface counts from.

``org_state`` is pure (no database, no AWS, no Slack): given what the store read (each member
account's latest verdict, ``Store.current_states``) and the accepted risks, it returns one
``OrgState``; ``counts`` is the one function that counts accounts. ``CurrentState`` reads those
through ports (the store, the accepted risks, the root-activity alerts' key changes). The Home tab,
the digest (message, chart and CSV), ``digest --print``, ``/rootkey status`` and the header of
a check result whose findings were updated in place all take their numbers from it.

Rules:
* Membership: the accounts of the latest whole audit (of the Organization, or of the bot's
  own account where rootkey audits one account), plus the accounts named audits saw after it.
  An account that left the Organization (not in the latest listing) drops out; a one-account
  check never shrinks the Organization to that account. With no whole audit yet, every
  account audited is a member.
* Each member counts by its latest verdict from any audit (Organization, named, re-audit after
  a fix, alert-driven), whatever its scope; the verdict keeps its time and the run it came from.
* A noncompliant verdict covered by an accepted risk counts as *accepted risk*, never as
  compliant; coverage is ``bot.remediation.keys.risk_coverage`` (the keys it was accepted for,
  no key created or reactivated since), asked here and nowhere else for counting. Of several
  risks in force for one account, the one ending last is asked.
* An account that could not be read counts as *error*: never compliant.
* The compliance share is compliant accounts over all members (accepted risks and errors are
  not compliant); 0 when there are no members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from bot.audit.models import Status, utcnow
from bot.records.history import AccountState, RunInfo
from bot.remediation.keys import NO_CHANGES, KeyChanges, risk_coverage
from bot.services.ports import MemberStates, Risk, RisksInForce


class Standing(StrEnum):
    """How an account counts now."""

    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"
    ACCEPTED = "accepted risk"
    ERROR = "error"


R = TypeVar("R", bound=Risk)


@dataclass(frozen=True)
class Current:
    """One member account now: its latest verdict (with its time and run) and how it counts."""

    state: AccountState
    standing: Standing
    risk: Risk | None = None  # the accepted risk covering it (standing ACCEPTED)
    not_covered: str | None = None  # why a risk in force does not cover it

    @property
    def account_id(self) -> str:
        return self.state.account_id


@dataclass(frozen=True)
class Counts:
    """The Organization's numbers, as every surface shows them."""

    total: int = 0
    compliant: int = 0
    noncompliant: int = 0  # a root key and no accepted risk covering it
    accepted: int = 0  # a root key under an accepted risk
    error: int = 0  # could not be read: never compliant

    @property
    def share(self) -> float:
        """Percent compliant, of every member (0.0 when there is none)."""
        return 100.0 * self.compliant / self.total if self.total else 0.0


def counts(standings: Iterable[Standing]) -> Counts:
    """The one counting function: how many accounts stand where (one standing per account)."""
    tally = dict.fromkeys(Standing, 0)
    for standing in standings:
        tally[standing] += 1
    return Counts(
        total=sum(tally.values()),
        compliant=tally[Standing.COMPLIANT],
        noncompliant=tally[Standing.NONCOMPLIANT],
        accepted=tally[Standing.ACCEPTED],
        error=tally[Standing.ERROR],
    )


def verdict_standing(status: Status, covered: bool) -> Standing:
    """How a verdict counts: a noncompliant one ``covered`` by an accepted risk is accepted."""
    if status is Status.NONCOMPLIANT:
        return Standing.ACCEPTED if covered else Standing.NONCOMPLIANT
    return Standing.COMPLIANT if status is Status.COMPLIANT else Standing.ERROR


@dataclass(frozen=True)
class OrgState:
    """Every member account as it stands at ``as_of``, by account id."""

    as_of: datetime
    accounts: tuple[Current, ...]
    whole_audit: RunInfo | None = None  # the latest whole audit (membership), None: none yet

    @property
    def counts(self) -> Counts:
        return counts(a.standing for a in self.accounts)

    def among(self, account_ids: Iterable[str]) -> OrgState:
        """The same state restricted to ``account_ids`` (a check's accounts)."""
        wanted = set(account_ids)
        return OrgState(
            self.as_of, tuple(a for a in self.accounts if a.account_id in wanted), self.whole_audit
        )

    def standing(self, standing: Standing) -> tuple[Current, ...]:
        return tuple(a for a in self.accounts if a.standing is standing)

    def states(self, standing: Standing) -> tuple[AccountState, ...]:
        return tuple(a.state for a in self.accounts if a.standing is standing)

    @property
    def covered(self) -> dict[str, Risk]:
        """Account id -> the accepted risk covering it."""
        return {a.account_id: a.risk for a in self.accounts if a.risk is not None}

    @property
    def latest_verdict_at(self) -> datetime | None:
        return max((a.state.checked_at for a in self.accounts), default=None)


def in_force(risks: Iterable[R], now: datetime) -> dict[str, R]:
    """Account id -> its accepted risk in force at ``now`` that ends last."""
    chosen: dict[str, R] = {}
    for risk in risks:
        if risk.expires_at <= now:
            continue
        held = chosen.get(risk.account_id)
        if held is None or risk.expires_at > held.expires_at:
            chosen[risk.account_id] = risk
    return chosen


def standing_of(
    state: AccountState, risk: Risk | None, changes: KeyChanges
) -> tuple[Standing, Risk | None, str | None]:
    if state.status is not Status.NONCOMPLIANT or risk is None:
        return verdict_standing(state.status, False), None, None
    cover = risk_coverage(
        risk, state.status, state.keys, state.report_generated_at, changes.get(state.account_id)
    )
    if cover.covered:
        return Standing.ACCEPTED, risk, None
    return Standing.NONCOMPLIANT, None, cover.why


def org_state(
    states: Sequence[AccountState],
    risks: Iterable[Risk],
    now: datetime,
    *,
    changes: KeyChanges = NO_CHANGES,
    whole_audit: RunInfo | None = None,
) -> OrgState:
    """The read model from the member accounts' latest verdicts (``states``, one per account)
    and the accepted risks (those ended by ``now`` cover nothing); ``changes``: each account's
    latest root key created or reactivated, per the root-activity alerts."""
    risk_of = in_force(risks, now)
    accounts = []
    for state in sorted(states, key=lambda s: s.account_id):
        standing, risk, why = standing_of(state, risk_of.get(state.account_id), changes)
        accounts.append(Current(state, standing, risk, why))
    return OrgState(now, tuple(accounts), whole_audit)


class CurrentState:
    """Reads the Organization's current state: the member accounts' latest verdicts from the
    store, the accepted risks in force, and (only when there are such risks) the root keys
    created or reactivated since, per the alerts."""

    def __init__(
        self,
        store: MemberStates,
        risks: RisksInForce | None = None,
        *,
        key_changes: Callable[[], KeyChanges] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.risks = risks
        self.key_changes = key_changes
        self.clock = clock

    def read(
        self,
        baseline: datetime | None = None,
        now: datetime | None = None,
        *,
        risks: Sequence[Risk] | None = None,
    ) -> OrgState:
        """The state now; each account's history read up to ``baseline`` (for a digest).
        ``risks``: the accepted risks in force when the caller has read them already."""
        now = now or self.clock()
        whole, states = self.store.current_states(baseline)
        if risks is None:
            risks = list(self.risks.active_exceptions(now)) if self.risks is not None else []
        changes = self.key_changes() if self.key_changes is not None and risks else NO_CHANGES
        return org_state(states, risks, now, changes=changes, whole_audit=whole)
