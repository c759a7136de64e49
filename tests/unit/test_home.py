"""The Home tab's content: HomeService on plain readers, the view within Slack's limits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.audit.models import KeySlot, Status, Summary
from bot.remediation.errors import ApproverLookupFailed
from bot.remediation.keys import KeyPrint
from bot.remediation.models import Approval, Conversation, Request, RiskException
from bot.remediation.rights import ApproverSpec
from bot.remediation.states import Kind, Mode, State
from bot.scheduler import CronSchedule
from bot.services.home import AlertItem, HomeService
from bot.slack.action_ids import ActionId
from bot.slack.blocks.home import MAX_VIEW_BLOCKS, home_view
from bot.slack.values import FindingRef
from bot.store.records import AccountState, RunInfo

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MADE = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)  # the root keys' creation
ME, OTHER, APPROVER = "U0ME000001", "U0OTHER001", "U0APPR0001"


def state(
    account: str, status: Status, open_days: int | None = None, reason: str = "r"
) -> AccountState:
    since = NOW - timedelta(days=open_days) if open_days is not None else None
    return AccountState(
        account_id=account,
        account_name=None,
        status=status,
        reason=reason,
        checked_at=NOW - timedelta(hours=1),
        run_id=7,
        keys=(KeySlot(slot=1, active=True, last_rotated=MADE),)
        if status is Status.NONCOMPLIANT
        else (),
        root_mfa_active=False,
        first_seen=NOW - timedelta(days=100),
        last_change=NOW - timedelta(days=1),
        open_since=since,
    )


def request(
    rid: int, requester: str, state_: State = State.REQUESTED, approvals: Sequence[str] = ()
) -> Request:
    return Request(
        id=rid,
        kind=Kind.REMEDIATION,
        account_id="111111111111",
        state=state_,
        requester=requester,
        reason="why",
        where=Conversation("C0SEC00001"),
        created_at=NOW - timedelta(hours=rid),
        expires_at=NOW + timedelta(days=2),
        state_since=NOW - timedelta(hours=rid),
        mode=Mode.TRACKED,
        approvals=tuple(Approval(user=u, at=NOW) for u in approvals),
    )


class Runs:
    def __init__(self, states: list[AccountState], run: RunInfo | None) -> None:
        self.states = states
        self.run = run

    def last_run(self, *, trigger: str | None = None, scope: str | None = None) -> RunInfo | None:
        return self.run

    def latest(self, account_ids: Sequence[str] | None = None) -> list[AccountState]:
        return list(self.states)

    def current_states(
        self, baseline: datetime | None = None
    ) -> tuple[RunInfo | None, list[AccountState]]:
        return self.run, list(self.states)


class Requests:
    def __init__(self, requests: list[Request], exceptions: list[RiskException]) -> None:
        self.requests = requests
        self.exceptions = exceptions

    def open_requests(self) -> list[Request]:
        return list(self.requests)

    def active_exceptions(self, now: datetime) -> list[RiskException]:
        return [e for e in self.exceptions if e.expires_at > now]


class Alerts:
    def alerts_since(self, since: datetime) -> list[AlertItem]:
        return [AlertItem("111111111111", "used", NOW - timedelta(days=1), "C0ALERT001")]


RUN = RunInfo(
    7,
    NOW - timedelta(hours=2),
    NOW - timedelta(hours=1),
    "org",
    "schedule",
    None,
    None,
    Summary(10, 7, 2, 1),
)


def service(**kw: object) -> HomeService:
    states = [
        state("111111111111", Status.NONCOMPLIANT, 3),
        state("222222222222", Status.NONCOMPLIANT, 40),
        state("333333333333", Status.NONCOMPLIANT, 9),  # under an accepted risk
        state("444444444444", Status.ERROR),
        state("555555555555", Status.COMPLIANT),
    ]
    risk = RiskException(
        9, "333333333333", OTHER, "vendor", NOW - timedelta(days=1), NOW + timedelta(days=30),
        key_prints=(KeyPrint(created=MADE, active=True, slot=1),),
    )  # fmt: skip
    requests = [
        request(1, ME),
        request(2, OTHER),
        request(3, OTHER, approvals=[APPROVER]),
        request(4, APPROVER),
        request(5, OTHER, State.TRACKING),
    ]
    defaults: dict[str, object] = {
        "approvers": ApproverSpec.parse([APPROVER, "S0GROUP001"]),
        "group_members": lambda g: [ME],
        "digest_channel": "C0DIGEST01",
        "schedule": CronSchedule("0 9 * * *", "Europe/Berlin"),
        "timezone": "Europe/Berlin",
        "clock": lambda: NOW,
    }
    defaults.update(kw)
    return HomeService(Runs(states, RUN), Requests(requests, [risk]), **defaults)  # type: ignore[arg-type]


def test_open_findings_longest_open_first_and_accepted_apart() -> None:
    snap = service().snapshot(ME)
    assert [s.account_id for s in snap.open_findings] == ["222222222222", "111111111111"]
    assert [e.account_id for e in snap.accepted] == ["333333333333"]
    assert [s.account_id for s in snap.errors] == ["444444444444"]


def test_an_accepted_risk_hides_no_key_it_was_not_accepted_for() -> None:
    home = service()
    runs = home.runs
    assert isinstance(runs, Runs)
    new_key = KeySlot(slot=2, active=True, last_rotated=NOW - timedelta(hours=3))
    runs.states = [
        replace(s, keys=(*s.keys, new_key)) if s.account_id == "333333333333" else s
        for s in runs.states
    ]
    snap = home.snapshot(ME)
    assert "333333333333" in [s.account_id for s in snap.open_findings]


def test_own_requests_first_and_those_waiting_for_this_approver() -> None:
    snap = service().snapshot(ME)  # ME is an approver through the user group
    assert [r.id for r in snap.mine] == [1]
    # oldest first; never ME's own (1), nor one past approval (5, tracking)
    assert [r.id for r in snap.to_approve] == [4, 3, 2]
    approver = service().snapshot(APPROVER)
    assert [r.id for r in approver.to_approve] == [2, 1]  # 3 has APPROVER's approval, 4 is theirs
    stranger = service(group_members=lambda g: []).snapshot("U0NOBODY01")
    assert stranger.to_approve == ()


def test_a_group_slack_cannot_read_hides_nothing_silently() -> None:
    def fails(group: str) -> Iterable[str]:
        raise ApproverLookupFailed("usergroups.users.list: ratelimited")

    snap = service(group_members=fails).snapshot(ME)
    assert snap.to_approve == () and snap.approvers_known is False
    text = json.dumps(home_view(snap))
    assert "could not be read from Slack" in text


def test_next_digest_in_the_configured_zone() -> None:
    snap = service().snapshot(ME)
    assert snap.next_digest == datetime(2026, 6, 2, 7, 0, tzinfo=UTC)  # 09:00 the next day
    assert snap.next_digest is not None and snap.next_digest.astimezone(UTC).hour == 7  # CEST
    assert "2026-06-02 09:00 CEST" in json.dumps(home_view(snap))
    assert service(digest_channel=None).snapshot(ME).next_digest is None


def test_the_view_shows_it_all_with_the_finding_buttons() -> None:
    view = home_view(service(alerts=Alerts()).snapshot(ME))
    assert view["type"] == "home"
    text = json.dumps(view)
    # The counts are the listed accounts' (not the run's summary, 10 accounts): one state.
    assert "*5 accounts*, 2 noncompliant, 1 accepted risk, 1 error, 1 compliant" in text
    assert "20% compliant" in text
    assert "open 40 days" in text
    assert "owner <@U0OTHER001>" in text and "2026-07-01" in text
    assert "Next digest" in text and "<#C0DIGEST01>" in text
    assert "root key used in 111111111111" in text
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {b["action_id"] for b in buttons} == {
        ActionId.REQUEST_REMEDIATION.value,
        ActionId.ACCEPT_RISK.value,
    }
    assert FindingRef.decode(buttons[0]["value"]) == FindingRef("222222222222", "7")


def test_without_alerts_the_place_for_them_says_so() -> None:
    text = json.dumps(home_view(service().snapshot(ME)))
    assert "alerts of the last 7 days show here once alerts are set up" in text


def test_a_thousand_findings_stay_within_slacks_100_blocks() -> None:
    states = [state(f"{100000000000 + i}", Status.NONCOMPLIANT, i % 90) for i in range(1000)]
    requests = [request(i, ME) for i in range(1, 200)]
    svc = HomeService(Runs(states, RUN), Requests(requests, []), clock=lambda: NOW)
    view = home_view(svc.snapshot(ME))
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    text = json.dumps(view)
    assert "and 985 more" in text and "and 184 more" in text


def test_hostile_text_from_aws_or_users_stays_inert() -> None:
    bad = state("111111111111", Status.NONCOMPLIANT, 1, reason="<!channel> <https://x|y> @here")
    svc = HomeService(Runs([bad], None), None, clock=lambda: NOW)
    text = json.dumps(home_view(svc.snapshot(ME)))
    assert "<!channel>" not in text and "<https://x" not in text
    assert "&lt;!channel&gt;" in text
    assert "No audit yet" in text


@pytest.mark.parametrize("user", [ME, APPROVER, "U0NOBODY01"])
def test_every_user_gets_a_view(user: str) -> None:
    view = home_view(service().snapshot(user))
    assert f"<@{user}>" in json.dumps(view)


def test_root_activity_alerts_of_the_last_7_days_from_the_store(tmp_path: object) -> None:
    from pathlib import Path

    from bot.services.home import StoredAlerts
    from bot.store import Store
    from bot.store.alerts import AlertStore

    store = Store.open(f"sqlite:///{Path(str(tmp_path)) / 'rootkey.db'}")
    try:
        alerts = AlertStore(store.engine)
        for n, (days, ts) in enumerate([(1, "1.1"), (3, "2.2"), (9, "3.3"), (2, None)]):
            at = NOW - timedelta(days=days)
            alerts.claim_event(f"ev-{n}", "111111111111", "used", "owner", at, timedelta(minutes=5))
            alerts.record_alert(
                event_id=f"ev-{n}",
                owner="owner",
                activity="used",
                account_id="111111111111",
                key_id="AKIAEXAMPLE0000" + str(n),
                at=at,
                channel="C0ALERT001" if ts else None,
                ts=ts,
                now=at,
            )
        svc = HomeService(Runs([], RUN), None, alerts=StoredAlerts(alerts), clock=lambda: NOW)
        snap = svc.snapshot(ME)
    finally:
        store.close()
    assert snap.alerts is not None
    # newest first; the 9-day-old one is past the week, the unposted one was never shown
    assert [a.at for a in snap.alerts] == [NOW - timedelta(days=1), NOW - timedelta(days=3)]
    text = json.dumps(home_view(snap))
    assert "Root activity, last 7 days" in text and "root key used in 111111111111" in text
    assert "AKIA" not in text
