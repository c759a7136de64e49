"""AWS misbehaving under the audit, through boto3 against moto's server for real.

Throttling on every API the bot calls, AccessDenied on some member accounts, and the endpoint
going away in the middle of an Organization scan. The scan always finishes; every account
ends with the verdict it would have had, or with ``error`` naming what went wrong. An account
that could not be read is never ``compliant``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import boto3
import pytest

from bot.audit.models import AuditResult, Scope, Status
from bot.aws.auditor import AwsAuditor
from bot.aws.errors import AuditError
from bot.config import Config
from simulator.aws import (
    FAKE_KEY_ID,
    FAKE_SECRET,
    MANAGEMENT_ACCOUNT,
    REGION,
    EndpointSession,
    RootKeySpec,
    SimOrg,
    SimulatedAws,
    days_ago,
)
from simulator.fast_org import FastOrg

pytestmark = pytest.mark.slow

# Every AWS API an audit calls (Organization scope, a key present somewhere).
AUDIT_APIS = (
    "GetCallerIdentity",
    "ListAccounts",
    "ListOrganizationsFeatures",
    "AssumeRole",
    "GetAccountSummary",
    "GenerateCredentialReport",
    "GetCredentialReport",
)
# Without these nothing can be audited: the audit as a whole fails, in one clear line.
WHOLE_AUDIT = {"GetCallerIdentity", "ListAccounts"}


ORG = Scope("org")


def sessions_for(endpoint_url: str) -> Callable[[], boto3.session.Session]:
    """boto3 sessions aimed at ``endpoint_url`` (still valid after that server stopped)."""

    def session() -> boto3.session.Session:
        return EndpointSession(
            endpoint_url,
            aws_access_key_id=FAKE_KEY_ID,
            aws_secret_access_key=FAKE_SECRET,
            region_name=REGION,
        )

    return session


def auditor(endpoint_url: str, **settings: object) -> AwsAuditor:
    defaults: dict[str, object] = {"report_deadline": 2.0, "account_timeout": 20.0}
    config = Config(**{**defaults, "concurrency": 4, **settings})  # type: ignore[arg-type]
    return AwsAuditor(config, sessions_for(endpoint_url), max_attempts=3)


def organization(aws: SimulatedAws, members: int = 3) -> SimOrg:
    """Member 0 has an active root key, member 1 a deactivated one, the rest none."""
    org = aws.create_organization(members=members)
    aws.set_root_keys(
        org.members[0].account_id, [RootKeySpec(slot=1, active=True, created=days_ago(300))]
    )
    aws.set_root_keys(
        org.members[1].account_id, [RootKeySpec(slot=2, active=False, created=days_ago(30))]
    )
    return org


def statuses(result: AuditResult) -> dict[str, Status]:
    return {v.account_id: v.status for v in result.verdicts}


def audit(sim: SimulatedAws | str, scope: Scope = ORG, **settings: object) -> AuditResult:
    checker = auditor(sim if isinstance(sim, str) else sim.endpoint_url, **settings)
    try:
        return checker.audit(scope)
    finally:
        checker.close()


def assert_degraded_safely(result: AuditResult, baseline: dict[str, Status]) -> None:
    """Each account has its true verdict or ``error``; a faulted read is never compliant."""
    got = statuses(result)
    assert set(got) == set(baseline), "every account of the Organization has a verdict"
    for account_id, status in got.items():
        assert status in (baseline[account_id], Status.ERROR), (account_id, status)
    for verdict in result.verdicts:
        if verdict.status is Status.ERROR:
            assert verdict.reason.startswith("could not audit"), verdict.reason


@pytest.fixture
def baseline(aws: SimulatedAws) -> tuple[SimOrg, dict[str, Status]]:
    """The Organization and the verdicts a fault-free audit gives it (see ``organization``;
    tests/integration/test_aws_audit.py checks fault-free audits)."""
    org = organization(aws)
    truth = {
        MANAGEMENT_ACCOUNT: Status.COMPLIANT,
        org.members[0].account_id: Status.NONCOMPLIANT,
        org.members[1].account_id: Status.NONCOMPLIANT,
        org.members[2].account_id: Status.COMPLIANT,
    }
    aws.reset_calls()
    return org, truth


def test_a_fault_free_audit_matches_the_baseline(
    aws: SimulatedAws, baseline: tuple[SimOrg, dict[str, Status]]
) -> None:
    assert statuses(audit(aws)) == baseline[1]


def test_brief_throttling_on_every_api_at_once_is_retried_away(
    aws: SimulatedAws, baseline: tuple[SimOrg, dict[str, Status]]
) -> None:
    _, truth = baseline
    for api in AUDIT_APIS:
        aws.throttle(None, api, times=2)
    result = audit(aws)
    assert statuses(result) == truth
    for api in AUDIT_APIS:
        assert aws.call_count(action=api) >= 3, f"{api}: the throttled calls were retried"


@pytest.mark.parametrize("api", AUDIT_APIS)
def test_throttling_for_good_on_any_api_never_yields_a_false_compliant(
    aws: SimulatedAws, baseline: tuple[SimOrg, dict[str, Status]], api: str
) -> None:
    _, truth = baseline
    aws.throttle(None, api)  # for ever
    if api in WHOLE_AUDIT:
        with pytest.raises(AuditError) as caught:
            audit(aws)
        assert "Throttling" in str(caught.value) or "TooManyRequests" in str(caught.value)
        assert "\n" not in str(caught.value)
        return
    result = audit(aws)
    assert_degraded_safely(result, truth)
    if api == "ListOrganizationsFeatures":
        assert statuses(result) == truth  # only the features are unknown
        assert result.features.root_credentials_management is None
    elif api in {"AssumeRole", "GetAccountSummary"}:
        errors = [v for v in result.verdicts if v.status is Status.ERROR]
        assert errors and all("Throttling" in v.reason for v in errors)


def test_access_denied_on_some_members_isolates_them(
    aws: SimulatedAws, baseline: tuple[SimOrg, dict[str, Status]]
) -> None:
    org, truth = baseline
    keyed, deactivated, clean = (m.account_id for m in org.members)
    aws.deny(keyed, "GetAccountSummary")  # the summary is denied, the report is readable
    aws.deny(clean, "*")
    result = audit(aws)
    got = {v.account_id: v for v in result.verdicts}
    assert got[clean].status is Status.ERROR and "AccessDenied" in got[clean].reason
    assert got[keyed].status is Status.NONCOMPLIANT, "the report still shows the active key"
    assert got[deactivated].status is truth[deactivated]
    assert got[MANAGEMENT_ACCOUNT].status is truth[MANAGEMENT_ACCOUNT]


def test_a_member_with_only_an_inactive_key_and_a_denied_summary_is_not_compliant(
    aws: SimulatedAws, baseline: tuple[SimOrg, dict[str, Status]]
) -> None:
    """The credential report can hide inactive keys: without the summary, no clean bill."""
    org, _ = baseline
    deactivated = org.members[1].account_id
    aws.deny(deactivated, "GetAccountSummary")
    got = {v.account_id: v for v in audit(aws).verdicts}
    assert got[deactivated].status is Status.ERROR
    assert "AccessDenied" in got[deactivated].reason


def test_the_endpoint_going_away_mid_scan_ends_in_error_verdicts(aws: SimulatedAws) -> None:
    """A second server over the same simulated Organization is stopped while the scan runs:
    the scan finishes, the accounts read before are right, the rest are errors."""
    org = organization(aws, members=12)
    truth = statuses(audit(aws))
    away = SimulatedAws().start()
    url = away.endpoint_url
    aws.set_latency(0.05)
    aws.reset_calls()
    stopped = threading.Event()

    def pull_the_plug() -> None:
        deadline = time.monotonic() + 30
        while aws.call_count(action="GetAccountSummary") < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        away.stop()
        stopped.set()

    plug = threading.Thread(target=pull_the_plug)
    plug.start()
    try:
        result = audit(url, concurrency=2)
    finally:
        plug.join()
        away.stop()
    assert stopped.is_set()
    assert_degraded_safely(result, truth)
    got = statuses(result)
    errors = [a for a, s in got.items() if s is Status.ERROR]
    read = [a for a, s in got.items() if s is not Status.ERROR]
    assert errors, "accounts after the outage are errors"
    assert read, "accounts read before the outage keep their verdict"
    assert org.members[0].account_id not in [a for a, s in got.items() if s is Status.COMPLIANT]
    reasons = {v.reason for v in result.verdicts if v.status is Status.ERROR}
    assert all("could not audit" in r for r in reasons), reasons


def test_the_endpoint_gone_before_the_scan_is_one_clear_error(aws: SimulatedAws) -> None:
    organization(aws)
    away = SimulatedAws().start()
    url = away.endpoint_url
    away.stop()
    with pytest.raises(AuditError) as caught:
        audit(url)
    assert "\n" not in str(caught.value)


def fast_sessions(org: FastOrg) -> Callable[[], boto3.session.Session]:
    return sessions_for(org.endpoint_url)


def test_an_sts_throttling_ten_assume_roles_a_second_slows_the_scan_not_the_verdicts() -> None:
    """AssumeRole is throttled to 10 calls a second (an STS quota shared with other tools): the
    audit backs off and every account gets its true verdict, none an error."""
    with FastOrg(
        151, 6, latency=0.02, noncompliant=[5, 77], suspended=[9], rates={"AssumeRole": 10}
    ) as org:
        checker = AwsAuditor(Config(concurrency=64), fast_sessions(org))
        try:
            result = checker.audit(ORG)
        finally:
            checker.close()
        calls = org.calls_by_action()
    got = statuses(result)
    assert set(got) == org.active_members()
    assert {a for a, s in got.items() if s is Status.NONCOMPLIANT} == org.noncompliant()
    assert [v.reason for v in result.verdicts if v.status is Status.ERROR] == []
    assert calls["AssumeRole"] > 150, "some AssumeRole calls were throttled"
    assert checker.pacer.gate("AssumeRole").throttles > 0
