"""The App Home use case: where things stand for one user, read from the store only.

``HomeService.snapshot(user)`` gathers what the Home tab shows; it makes no AWS call (the
verdicts are the saved ones) and knows nothing of Slack (``bot/slack/blocks/home.py`` draws it):

- the Organization's current state (``bot.services.org_state``: every member account by its
  latest verdict from any audit, accepted risks applied), its counts and compliance, and when
  the last audit ran: a one-account check changes one account, never the headline's scope;
- the open findings (noncompliant accounts, longest open first), without those under an
  accepted risk, which are listed apart with their end dates;
- open requests: the user's own first, then those waiting for the user's approval (the user
  is an approver, did not ask, has not approved yet);
- root-activity alerts of the last ``ALERT_DAYS`` days, when an alerts reader is wired
  (``RecentAlerts``: the root-activity feature plugs in there);
- when the next scheduled digest is posted, if one is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot.audit.models import utcnow
from bot.records.history import AccountState, RunInfo
from bot.remediation.errors import ApproverLookupFailed
from bot.remediation.models import Request, RiskException
from bot.remediation.rights import ApproverSpec
from bot.remediation.states import State
from bot.services.org_state import Counts, CurrentState, OrgState, Standing
from bot.services.ports import (
    DigestSchedule,
    KeyChangeSource,
    PostedAlerts,
    RequestReader,
    RunReader,
)

ALERT_DAYS = 7
MINE_FIRST_STATES = frozenset(
    {State.REQUESTED, State.APPROVED, State.EXECUTING, State.TRACKING, State.DEACTIVATED}
)


@dataclass(frozen=True)
class AlertItem:
    """One root-activity alert as the Home tab lists it."""

    account_id: str
    activity: str  # e.g. "created", "used"
    at: datetime
    channel: str | None = None
    ts: str | None = None


class HomeScreen(Protocol):
    """Where a snapshot is shown (the Slack adapter publishes it as the user's Home tab)."""

    def show(self, snapshot: HomeSnapshot) -> None: ...


class RecentAlerts(Protocol):
    """Root-activity alerts since a time, newest first (the alerts feature implements it)."""

    def alerts_since(self, since: datetime) -> list[AlertItem]: ...


class StoredAlerts:
    """``RecentAlerts`` from the root-activity alerts the bot posted (``bot.store.alerts``)."""

    def __init__(self, store: PostedAlerts) -> None:
        self.store = store

    def alerts_since(self, since: datetime) -> list[AlertItem]:
        return [
            AlertItem(a.account_id, a.activity, a.created_at, a.channel, a.ts)
            for a in self.store.posted_since(since)
        ]


@dataclass(frozen=True)
class HomeSnapshot:
    user: str
    now: datetime
    last_run: RunInfo | None  # the last audit of any scope (when it ran)
    org: OrgState  # the Organization now: every count shown comes from it
    open_findings: tuple[AccountState, ...]  # noncompliant, not accepted; longest open first
    errors: tuple[AccountState, ...]  # accounts whose latest verdict is an error
    mine: tuple[Request, ...]  # the user's own open requests, newest first
    to_approve: tuple[Request, ...]  # waiting for this user's approval, oldest first
    accepted: tuple[RiskException, ...]  # ending soonest first
    alerts: tuple[AlertItem, ...] | None  # None: no alerts reader wired
    next_digest: datetime | None
    digest_channel: str | None
    approvers_known: bool = True  # False: a user group could not be read (shown as a note)
    zone: str = "UTC"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> Counts:
        return self.org.counts


class HomeService:
    def __init__(
        self,
        runs: RunReader,
        requests: RequestReader | None = None,
        *,
        approvers: ApproverSpec | None = None,
        group_members: Callable[[str], Iterable[str]] | None = None,
        digest_channel: str | None = None,
        schedule: DigestSchedule | None = None,
        timezone: str = "UTC",
        alerts: RecentAlerts | None = None,
        key_changes: KeyChangeSource | None = None,
        screen: HomeScreen | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.runs = runs
        self.requests = requests
        self.approvers = approvers or ApproverSpec(frozenset(), ())
        self.group_members = group_members
        self.digest_channel = digest_channel
        self.schedule = schedule  # when the digest is posted next
        self.timezone = timezone
        self.alerts = alerts
        self.key_changes = key_changes  # root keys created/reactivated, where alerts are on
        self.screen = screen
        self.clock = clock

    def opened(self, user: str) -> None:
        """``user`` opened the Home tab: show where things stand now."""
        if self.screen is not None:
            self.screen.show(self.snapshot(user))

    def snapshot(self, user: str) -> HomeSnapshot:
        now = self.clock()
        accepted = self.accepted(now)
        org = self.organization(accepted, now)
        open_findings = sorted(
            org.states(Standing.NONCOMPLIANT),
            key=lambda s: (s.open_since or s.checked_at, s.account_id),
        )
        errors = org.states(Standing.ERROR)  # by account id
        mine, to_approve, known = self.requests_for(user)
        alerts = None
        if self.alerts is not None:
            alerts = tuple(self.alerts.alerts_since(now - timedelta(days=ALERT_DAYS)))
        return HomeSnapshot(
            user=user,
            now=now,
            last_run=self.runs.last_run(),
            org=org,
            open_findings=tuple(open_findings),
            errors=tuple(errors),
            mine=mine,
            to_approve=to_approve,
            accepted=accepted,
            alerts=alerts,
            next_digest=(
                self.schedule.next_digest(now) if self.schedule and self.digest_channel else None
            ),
            digest_channel=self.digest_channel,
            approvers_known=known,
            zone=self.timezone,
        )

    def organization(
        self, risks: Sequence[RiskException] | None = None, now: datetime | None = None
    ) -> OrgState:
        """The Organization now (``bot.services.org_state``): what the Home tab and
        ``/rootkey status`` count from. ``risks``: the accepted risks, where already read."""
        now = now or self.clock()
        if risks is None:
            risks = self.accepted(now)
        current = CurrentState(self.runs, key_changes=self.key_changes)
        return current.read(now=now, risks=risks)

    def accepted(self, now: datetime) -> tuple[RiskException, ...]:
        if self.requests is None:
            return ()
        return tuple(sorted(self.requests.active_exceptions(now), key=lambda e: e.expires_at))

    def requests_for(self, user: str) -> tuple[tuple[Request, ...], tuple[Request, ...], bool]:
        if self.requests is None:
            return (), (), True
        requests = self.requests.open_requests()
        mine = sorted(
            (r for r in requests if r.requester == user and r.state in MINE_FIRST_STATES),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        approver, known = self.is_approver(user)
        waiting = sorted(
            (
                r
                for r in requests
                if approver
                and r.state is State.REQUESTED
                and r.requester != user
                and user not in r.approvers_so_far
            ),
            key=lambda r: (r.created_at, r.id),
        )
        return tuple(mine), tuple(waiting), known

    def is_approver(self, user: str) -> tuple[bool, bool]:
        """(the user approves, every approver group could be read)."""
        if user in self.approvers.users:
            return True, True
        if not self.approvers.groups or self.group_members is None:
            return False, not self.approvers.groups
        known = True
        for group in self.approvers.groups:
            try:
                if user in set(self.group_members(group)):
                    return True, True
            except ApproverLookupFailed:  # Slack could not say: this list is incomplete
                known = False
        return False, known
