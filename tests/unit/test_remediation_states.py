"""The request state machine, the rights to decide, and the pure decisions of the flow."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.audit.models import KeySlot, OrgFeatures, Status, Verdict
from bot.remediation import progress, rights, states
from bot.remediation.errors import InvalidInput, InvalidTransition, NotAllowed, StaleState
from bot.remediation.models import Approval, Conversation, Request
from bot.remediation.progress import KeyProgress
from bot.remediation.states import Kind, Mode, State

NOW = datetime(2026, 11, 30, 9, 12, tzinfo=UTC)


def request(**changes: object) -> Request:
    base: dict[str, object] = {
        "id": 7,
        "kind": Kind.REMEDIATION,
        "account_id": "111111111111",
        "state": State.REQUESTED,
        "requester": "UREQ",
        "reason": "key unused",
        "where": Conversation("C1"),
        "created_at": NOW,
        "expires_at": NOW + timedelta(hours=72),
        "state_since": NOW,
    }
    base.update(changes)
    return Request(**base)  # type: ignore[arg-type]


# -- transitions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (Kind.REMEDIATION, ["requested", "approved", "executing", "verified"]),
        (Kind.REMEDIATION, ["requested", "approved", "executing", "failed"]),
        (Kind.REMEDIATION, ["requested", "approved", "executing", "approved", "executing"]),
        (Kind.REMEDIATION, ["requested", "approved", "tracking", "deactivated", "verified"]),
        (Kind.REMEDIATION, ["requested", "approved", "tracking", "verified"]),
        (Kind.REMEDIATION, ["requested", "approved", "tracking", "deactivated", "tracking"]),
        (Kind.REMEDIATION, ["requested", "rejected"]),
        (Kind.REMEDIATION, ["requested", "expired"]),
        (Kind.EXCEPTION, ["requested", "approved", "expired"]),
        (Kind.EXCEPTION, ["requested", "rejected"]),
    ],
)
def test_documented_paths_are_allowed(kind: Kind, path: list[str]) -> None:
    for a, b in itertools.pairwise(path):
        states.require(kind, State(a), State(b))


@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [
        (Kind.REMEDIATION, "requested", "executing"),  # never run without approval
        (Kind.REMEDIATION, "requested", "verified"),
        (Kind.REMEDIATION, "rejected", "approved"),
        (Kind.REMEDIATION, "expired", "approved"),
        (Kind.REMEDIATION, "verified", "executing"),
        (Kind.REMEDIATION, "failed", "executing"),
        (Kind.REMEDIATION, "approved", "verified"),
        (Kind.REMEDIATION, "tracking", "executing"),
        (Kind.EXCEPTION, "approved", "executing"),
        (Kind.EXCEPTION, "approved", "tracking"),
        (Kind.EXCEPTION, "expired", "approved"),
    ],
)
def test_other_moves_are_refused(kind: Kind, a: str, b: str) -> None:
    with pytest.raises(InvalidTransition, match=f"from {a} to {b}"):
        states.require(kind, State(a), State(b))


def test_every_state_is_reachable_from_requested() -> None:
    for kind in Kind:
        seen = {State.REQUESTED}
        frontier = [State.REQUESTED]
        while frontier:
            for nxt in states.TRANSITIONS[kind].get(frontier.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        expected = set(states.TRANSITIONS[kind]) | {
            s for targets in states.TRANSITIONS[kind].values() for s in targets
        }
        assert seen == expected


def test_terminal_and_open_states() -> None:
    assert states.is_terminal(Kind.REMEDIATION, State.VERIFIED)
    assert states.is_terminal(Kind.REMEDIATION, State.REJECTED)
    assert not states.is_terminal(Kind.REMEDIATION, State.EXECUTING)
    assert states.is_open(Kind.EXCEPTION, State.APPROVED)  # an active exception
    assert not states.is_open(Kind.EXCEPTION, State.EXPIRED)
    assert not states.is_open(Kind.REMEDIATION, State.FAILED)


# -- rights --------------------------------------------------------------------------------------


NAMING = rights.Naming(rights.ApproverSpec.parse(["UAPP"]), {"UAPP": "Avery Approver"}.get)


def test_approver_spec_resolves_groups_and_mentions() -> None:
    spec = rights.ApproverSpec.parse(["UAPP1", "SGROUP", "UAPP2"])
    members = spec.resolve(lambda group: {"SGROUP": ["UG1", "UG2"]}[group])
    assert members == {"UAPP1", "UAPP2", "UG1", "UG2"}
    assert spec.mention() == "<@UAPP1>, <@UAPP2>, <!subteam^SGROUP>"
    assert spec.plain({"UAPP2": "Bo Two"}.get) == "UAPP1, Bo Two (UAPP2), user group SGROUP"


def test_an_approver_may_approve_someone_elses_request() -> None:
    rights.check_approve(request(), "UAPP", frozenset({"UAPP"}), NAMING)


def test_the_requester_never_approves_their_own_request_even_as_approver() -> None:
    with pytest.raises(NotAllowed, match="you cannot approve it"):
        rights.check_approve(request(requester="UAPP"), "UAPP", frozenset({"UAPP"}), NAMING)


def test_a_non_approver_is_refused_with_the_list_of_approvers() -> None:
    with pytest.raises(NotAllowed) as refused:
        rights.check_approve(request(), "UOTHER", frozenset({"UAPP"}), NAMING)
    # In Slack as mentions; in the log (str) as names and ids, no markup.
    assert refused.value.mrkdwn == "Only approvers can approve request #7: <@UAPP>."
    assert str(refused.value) == "Only approvers can approve request #7: Avery Approver (UAPP)."
    with pytest.raises(NotAllowed, match="Only approvers can reject"):
        rights.check_reject(request(), "UOTHER", frozenset({"UAPP"}), NAMING)


def test_one_approver_counts_once() -> None:
    req = request(approvals=(Approval("UAPP", NOW),))
    with pytest.raises(NotAllowed, match="already approved"):
        rights.check_approve(req, "UAPP", frozenset({"UAPP", "UB"}), NAMING)
    assert rights.remaining_approvals(req, 2) == 1
    rights.check_approve(req, "UB", frozenset({"UAPP", "UB"}), NAMING)


@pytest.mark.parametrize("state", ["approved", "rejected", "expired", "executing", "verified"])
def test_decided_requests_cannot_be_decided_again(state: str) -> None:
    req = request(state=State(state))
    with pytest.raises(StaleState, match=f"already {state}"):
        rights.check_approve(req, "UAPP", frozenset({"UAPP"}), NAMING)
    with pytest.raises(StaleState):
        rights.check_reject(req, "UAPP", frozenset({"UAPP"}), NAMING)


def test_the_requester_who_is_an_approver_may_withdraw_by_rejecting() -> None:
    rights.check_reject(request(requester="UAPP"), "UAPP", frozenset({"UAPP"}), NAMING)


# -- progress ------------------------------------------------------------------------------------


def verdict(status: Status, *keys: KeySlot) -> Verdict:
    return Verdict("111111111111", status, "r", "aws", keys=keys)


def test_key_progress_from_a_verdict() -> None:
    active, inactive = KeySlot(1, True), KeySlot(2, False)
    assert progress.key_progress(verdict(Status.NONCOMPLIANT, active, inactive)) == "active"
    assert progress.key_progress(verdict(Status.NONCOMPLIANT, inactive)) == "deactivated"
    assert progress.key_progress(verdict(Status.NONCOMPLIANT)) == "active"  # present, unread
    assert progress.key_progress(verdict(Status.COMPLIANT)) == "deleted"
    assert progress.key_progress(verdict(Status.ERROR)) == "unknown"


@pytest.mark.parametrize(
    ("state", "seen", "target"),
    [
        ("tracking", KeyProgress.ACTIVE, None),
        ("tracking", KeyProgress.DEACTIVATED, "deactivated"),
        ("tracking", KeyProgress.DELETED, "verified"),
        ("deactivated", KeyProgress.DEACTIVATED, None),
        ("deactivated", KeyProgress.ACTIVE, "tracking"),
        ("deactivated", KeyProgress.DELETED, "verified"),
        ("tracking", KeyProgress.UNKNOWN, None),  # an unreadable account proves nothing
    ],
)
def test_tracked_target(state: str, seen: KeyProgress, target: str | None) -> None:
    got = progress.tracked_target(State(state), seen)
    assert got == (State(target) if target else None)
    if got is not None:
        states.require(Kind.REMEDIATION, State(state), got)


def test_choose_mode() -> None:
    ready = OrgFeatures(True, True)
    half = OrgFeatures(True, False)
    assert progress.choose_mode("tracked", ready)[0] is Mode.TRACKED
    assert progress.choose_mode("assume-root", ready)[0] is Mode.ASSUME_ROOT
    mode, why = progress.choose_mode("assume-root", half)
    assert mode is Mode.TRACKED
    assert "RootSessions disabled" in why
    assert "unknown" in progress.choose_mode("assume-root", OrgFeatures())[1]


def test_recent_use_warning_window() -> None:
    assert progress.used_recently(KeySlot(1, True, last_used_date=NOW - timedelta(days=29)), NOW)
    assert not progress.used_recently(
        KeySlot(1, True, last_used_date=NOW - timedelta(days=31)), NOW
    )
    assert not progress.used_recently(KeySlot(1, True), NOW)


def test_exception_end_is_after_today_and_within_90_days() -> None:
    today = date(2026, 11, 30)
    assert progress.exception_end(date(2027, 2, 28), today).date() == date(2027, 2, 28)
    with pytest.raises(InvalidInput, match="at most 90 days"):
        progress.exception_end(today + timedelta(days=91), today)
    with pytest.raises(InvalidInput, match="after today"):
        progress.exception_end(today, today)


def test_reason_and_ticket() -> None:
    assert progress.clean_reason("  unused since 2019 ") == "unused since 2019"
    with pytest.raises(InvalidInput) as exc:
        progress.clean_reason("  ")
    assert exc.value.field == "reason"
    assert progress.clean_ticket("") is None
    assert (
        progress.clean_ticket("https://jira.example.com/SEC-1") == "https://jira.example.com/SEC-1"
    )
    with pytest.raises(InvalidInput, match="http"):
        progress.clean_ticket("javascript:alert(1)")
    with pytest.raises(InvalidInput):
        progress.clean_ticket("https://x.example/<!channel>")


def test_ticket_ids_as_teams_write_them() -> None:
    """`SEC-1234` is what people type; with ROOTKEY_TICKET_URL it becomes a link."""
    assert progress.clean_ticket(" SEC-1234 ") == "SEC-1234"
    assert progress.clean_ticket("INC0012345") == "INC0012345"
    assert progress.clean_ticket("#42") == "#42"
    template = "https://jira.example.com/browse/{id}"
    assert progress.clean_ticket("SEC-1234", template) == "https://jira.example.com/browse/SEC-1234"
    # a link stays the link it is, whatever the template
    assert progress.clean_ticket("https://t.example/9", template) == "https://t.example/9"
    # an id cannot smuggle a path, a query or markup into the link, or a mention into the text
    for hostile in ("SEC-1 <!channel>", "../admin", "a?b=c", "<@U1>", "SEC 1234", "x" * 80):
        with pytest.raises(InvalidInput) as exc:
            progress.clean_ticket(hostile, template)
        assert exc.value.field == "ticket"
        assert "SEC-1234" in str(exc.value)  # the error shows what is accepted


def test_owners_file_formats() -> None:
    assert progress.parse_owners('{"111111111111": "UOWNER"}') == {"111111111111": "UOWNER"}
    text = "# account owner\n111111111111 UOWNER\n222222222222=UTEAMB  # team b\n\n"
    assert progress.parse_owners(text) == {"111111111111": "UOWNER", "222222222222": "UTEAMB"}
    with pytest.raises(ValueError, match="line 1"):
        progress.parse_owners("1111 UOWNER")
    with pytest.raises(ValueError, match="not a Slack user id"):
        progress.parse_owners("111111111111 someone")
