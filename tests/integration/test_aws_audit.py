"""AwsAuditor through boto3 against moto's server (with the root-user and fault extensions)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import boto3
import pytest

from bot.audit.models import AuditResult, Scope, Status, Verdict
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
    SimulatedAws,
    days_ago,
    utcnow,
)
from simulator.fast_org import FastOrg


class Pauses:
    """The audit's waits on a clock of the test's own: each pause is recorded and moves the
    clock on at once, so a test sees the back-off taken without waiting it out."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at = 0.0
        self.taken: list[float] = []

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.taken.append(seconds)
            self.at += seconds

    def clock(self) -> float:
        with self.lock:
            return self.at


def session_to(endpoint_url: str, **credentials: str) -> EndpointSession:
    return EndpointSession(endpoint_url, region_name=REGION, **credentials)


def sessions(aws: SimulatedAws) -> Callable[[], boto3.session.Session]:
    """``aws.session_factory()``: sessions of the management account, models read once."""
    return lambda: session_to(
        aws.endpoint_url, aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET
    )


def auditor(
    aws: SimulatedAws,
    max_attempts: int = 5,
    *,
    reports: Pauses | None = None,
    retries: Pauses | None = None,
    **settings: object,
) -> AwsAuditor:
    """An auditor whose waits for a credential report (``reports``) and botocore's back-off
    between attempts (``retries``) are taken on the test's clocks, not waited out."""
    config = Config(**{"report_deadline": 5.0, **settings})  # type: ignore[arg-type]
    reports = reports or Pauses()
    return AwsAuditor(
        config,
        sessions(aws),
        max_attempts=max_attempts,
        sleep=reports.sleep,
        clock=reports.clock,
        retry_sleep=(retries or Pauses()).sleep,
    )


def by_id(result: AuditResult) -> dict[str, Verdict]:
    return {v.account_id: v for v in result.verdicts}


def test_single_account_compliant_in_at_most_three_calls(aws: SimulatedAws) -> None:
    aws.create_organization(0)
    aws.reset_calls()
    result = auditor(aws).audit(Scope("account"))
    (v,) = result.verdicts
    assert v.account_id == MANAGEMENT_ACCOUNT
    assert v.status is Status.COMPLIANT
    assert result.calls <= 3
    assert aws.call_count() == result.calls
    assert result.features.root_credentials_management is True
    assert aws.call_count(action="GetCredentialReport") == 0


def test_single_account_with_active_key(aws: SimulatedAws) -> None:
    aws.set_root_keys(
        MANAGEMENT_ACCOUNT,
        [
            RootKeySpec(
                slot=1,
                created=days_ago(90),
                last_used=days_ago(1),
                region="us-west-2",
                service="sts",
            )
        ],
    )
    aws.set_report_time(MANAGEMENT_ACCOUNT, utcnow() - timedelta(hours=3))
    v = auditor(aws).audit(Scope("account")).verdicts[0]
    assert v.status is Status.NONCOMPLIANT
    assert [(k.slot, k.active, k.age_days) for k in v.keys] == [(1, True, 90)]
    assert v.keys[0].last_used_region == "us-west-2" and v.keys[0].last_used_service == "sts"
    generated = v.evidence.report_generated_at
    assert generated is not None and utcnow() - generated >= timedelta(hours=3)
    assert generated.strftime("%Y-%m-%d %H:%M") in v.reason


def test_single_account_deactivated_key(aws: SimulatedAws) -> None:
    aws.set_root_keys(MANAGEMENT_ACCOUNT, [RootKeySpec(slot=2, active=False)])
    v = auditor(aws).audit(Scope("account")).verdicts[0]
    assert v.status is Status.NONCOMPLIANT
    assert "deactivated; delete it to finish" in v.reason


def test_root_credentials_removed(aws: SimulatedAws) -> None:
    aws.remove_root_credentials(MANAGEMENT_ACCOUNT)
    v = auditor(aws).audit(Scope("account")).verdicts[0]
    assert v.status is Status.COMPLIANT
    assert "root credentials removed" in v.reason


def test_organization_members_via_assume_role(aws: SimulatedAws) -> None:
    org = aws.create_organization(["dev", "prod", "audit", "sandbox"], missing_role={"sandbox"})
    dev, prod, audit_acct, sandbox = org.members
    aws.set_root_keys(prod.account_id, [RootKeySpec(slot=1, created=days_ago(700))])
    aws.set_root_keys(audit_acct.account_id, [RootKeySpec(slot=2, active=False)])
    aws.set_root(dev.account_id, mfa=True)
    aws.reset_calls()

    result = auditor(aws).audit(Scope("org"))
    v = by_id(result)
    assert set(v) == {a.account_id for a in org.all_accounts}
    assert v[dev.account_id].status is Status.COMPLIANT
    assert v[dev.account_id].account_name == "dev"
    assert v[dev.account_id].root_mfa_active is True
    assert v[prod.account_id].status is Status.NONCOMPLIANT
    assert v[prod.account_id].keys[0].age_days == 700
    assert "deactivated" in v[audit_acct.account_id].reason
    assert v[sandbox.account_id].status is Status.ERROR
    assert "AssumeRole RootkeyAudit: AccessDenied" in v[sandbox.account_id].reason
    assert v[MANAGEMENT_ACCOUNT].status is Status.COMPLIANT
    # the management account is read with the current credentials, members through the role
    assert aws.call_count(action="AssumeRole") == len(org.members)
    # the report only where a key is present
    assert aws.call_count(action="GetCredentialReport") == 2
    assert result.summary.to_dict() == {"total": 5, "compliant": 2, "noncompliant": 2, "error": 1}


def test_audit_role_name_comes_from_config(aws: SimulatedAws) -> None:
    org = aws.create_organization(2, role_name="SecurityAudit")
    result = auditor(aws, audit_role="SecurityAudit").audit(Scope("org"))
    assert all(v.status is Status.COMPLIANT for v in result.verdicts)
    default = auditor(aws).audit(Scope("org"))
    assert {v.account_id for v in default.verdicts if v.status is Status.ERROR} == {
        m.account_id for m in org.members
    }


def test_access_denied_on_summary(aws: SimulatedAws) -> None:
    org = aws.create_organization(3)
    a, b, c = (m.account_id for m in org.members)
    aws.deny(a, "GetAccountSummary")
    aws.deny(b, "GetAccountSummary")
    aws.set_root_keys(b, [RootKeySpec(slot=1)])
    aws.deny(c, "GetAccountSummary", "GenerateCredentialReport")
    v = by_id(auditor(aws).audit(Scope("org")))
    assert v[a].status is Status.ERROR and "GetAccountSummary: AccessDenied" in v[a].reason
    # the report still shows b's active key: noncompliant whatever the summary says
    assert v[b].status is Status.NONCOMPLIANT
    assert v[c].status is Status.ERROR
    assert "GenerateCredentialReport: AccessDenied" in v[c].reason
    assert v[MANAGEMENT_ACCOUNT].status is Status.COMPLIANT


def test_throttling_within_the_retry_budget_is_invisible(aws: SimulatedAws) -> None:
    org = aws.create_organization(2)
    target = org.members[0].account_id
    aws.throttle(target, "GetAccountSummary", times=2)
    aws.throttle(None, "ListAccounts", times=1)
    retries = Pauses()
    result = auditor(aws, retries=retries).audit(Scope("org"))
    assert all(v.status is Status.COMPLIANT for v in result.verdicts)
    assert aws.call_count(target, "GetAccountSummary") == 3
    # botocore's throttling back-off before each retry: up to 1 s, then up to 2 s
    assert len(retries.taken) == 3 and all(0 < p <= 2 for p in retries.taken)


def test_throttling_beyond_the_retry_budget_is_an_error(aws: SimulatedAws) -> None:
    org = aws.create_organization(2)
    target = org.members[0].account_id
    aws.throttle(target, "*")
    retries = Pauses()
    v = by_id(auditor(aws, max_attempts=3, retries=retries).audit(Scope("org")))
    assert v[target].status is Status.ERROR
    assert "GetAccountSummary: Throttling (after 2 retries)" in v[target].reason
    assert aws.call_count(target, "GetAccountSummary") == 3
    first, second = retries.taken  # botocore's back-off: up to 1 s, then up to 2 s
    assert 0 < first <= 1 and 0 < second <= 2
    assert v[org.members[1].account_id].status is Status.COMPLIANT


def test_report_never_ready(aws: SimulatedAws) -> None:
    org = aws.create_organization(2)
    keyed, hidden = (m.account_id for m in org.members)
    aws.set_root_keys(keyed, [RootKeySpec(slot=1)])
    aws.report_never_ready(keyed)
    aws.deny(hidden, "GetAccountSummary")
    aws.report_never_ready(hidden)
    reports = Pauses()
    v = by_id(auditor(aws, reports=reports, report_deadline=1.0).audit(Scope("org")))
    # presence is known from the summary; only the details are missing
    assert v[keyed].status is Status.NONCOMPLIANT
    assert "ReportNotReady" in v[keyed].reason
    assert v[hidden].status is Status.ERROR
    assert "ReportNotReady" in v[hidden].reason and "AccessDenied" in v[hidden].reason
    # it polled with backoff, not in a busy loop
    assert aws.call_count(keyed, "GenerateCredentialReport") <= 6
    assert max(reports.taken) > min(reports.taken)  # the waits grew


def test_per_account_time_limit(aws: SimulatedAws) -> None:
    org = aws.create_organization(1)
    aws.set_latency(0.3)
    v = by_id(
        auditor(aws, account_timeout=0.2).audit(Scope("accounts", (org.members[0].account_id,)))
    )
    (verdict,) = v.values()
    assert verdict.status is Status.ERROR
    assert "Timeout" in verdict.reason


def test_listing_follows_tokens_through_empty_pages_and_skips_closed_accounts(
    aws: SimulatedAws,
) -> None:
    org = aws.create_organization(45)
    closed = org.members[7].account_id
    aws.close_account(closed)
    aws.empty_list_pages()
    result = auditor(aws).audit(Scope("org"))
    ids = {v.account_id for v in result.verdicts}
    assert ids == {a.account_id for a in org.all_accounts} - {closed}
    assert len(result.verdicts) == len(ids)
    assert {v.account_name for v in result.verdicts} >= {"member-0000", "member-0044"}


def test_listing_denied_is_an_audit_error(aws: SimulatedAws) -> None:
    aws.create_organization(2)
    aws.deny(None, "ListAccounts")
    with pytest.raises(AuditError, match="ListAccounts: AccessDeniedException"):
        auditor(aws).audit(Scope("org"))


def test_no_organization_is_an_audit_error(aws: SimulatedAws) -> None:
    with pytest.raises(AuditError, match="ListAccounts: AWSOrganizationsNotInUseException"):
        auditor(aws).audit(Scope("org"))


def test_named_accounts(aws: SimulatedAws) -> None:
    org = aws.create_organization(3)
    wanted = (org.members[2].account_id, MANAGEMENT_ACCOUNT)
    aws.reset_calls()
    result = auditor(aws).audit(Scope("accounts", wanted))
    assert {v.account_id for v in result.verdicts} == set(wanted)
    assert all(v.status is Status.COMPLIANT for v in result.verdicts)
    assert aws.call_count(action="AssumeRole") == 1
    # Named accounts carry their Organization names too (from the membership check), as an
    # Organization-wide audit's do: a request made from a one-account audit names its account.
    names = {v.account_id: v.account_name for v in result.verdicts}
    assert names[org.members[2].account_id] == org.members[2].name


def test_org_features_unknown_for_a_member_caller(aws: SimulatedAws) -> None:
    org = aws.create_organization(1)
    member = org.members[0].account_id
    creds = aws.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/RootkeyAudit", RoleSessionName="rootkey-test"
    )["Credentials"]

    def member_session() -> boto3.session.Session:
        return EndpointSession(
            aws.endpoint_url,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )

    result = AwsAuditor(Config(), member_session).audit(Scope("account"))
    assert result.verdicts[0].account_id == member
    assert result.verdicts[0].status is Status.COMPLIANT
    assert result.features.root_credentials_management is None
    assert result.features.to_dict()["RootSessions"] == "unknown"


def test_org_features_reported_for_the_management_account(aws: SimulatedAws) -> None:
    aws.create_organization(1)
    aws.set_org_features("RootCredentialsManagement")
    features = auditor(aws).audit(Scope("org")).features
    assert features.root_credentials_management is True
    assert features.root_sessions is False
    assert not features.assume_root_ready


def test_audit_account_for_a_re_audit(aws: SimulatedAws) -> None:
    org = aws.create_organization(1)
    member = org.members[0].account_id
    aws.set_root_keys(member, [RootKeySpec(slot=1)])
    a = auditor(aws)
    assert a.audit_account(member, "dev").status is Status.NONCOMPLIANT
    aws.set_root_keys(member, [])
    v = a.audit_account(member, "dev")
    assert v.status is Status.COMPLIANT and v.account_name == "dev"


def test_two_hundred_members_in_one_audit(aws: SimulatedAws) -> None:
    org = aws.create_organization(200, missing_role={17})
    noncompliant = {org.members[3].account_id, org.members[150].account_id}
    for account_id in noncompliant:
        aws.set_root_keys(account_id, [RootKeySpec(slot=1)])
    result = auditor(aws).audit(Scope("org"))
    v = by_id(result)
    assert len(v) == 201
    assert {a for a, x in v.items() if x.status is Status.NONCOMPLIANT} == noncompliant
    assert {a for a, x in v.items() if x.status is Status.ERROR} == {org.members[17].account_id}
    assert result.summary.compliant == 198
    # two calls per compliant member (AssumeRole, GetAccountSummary); listing and the rest
    # are shared
    assert result.calls <= 2 * 201 + 2 * 4 + 11 + 3


def test_report_limit_exceeded_and_expired_are_waited_out(aws: SimulatedAws) -> None:
    org = aws.create_organization(1)
    member = org.members[0].account_id
    aws.set_root_keys(member, [RootKeySpec(slot=1, created=days_ago(12))])
    aws.fail(member, "GenerateCredentialReport", "LimitExceeded", times=2, status=409)
    aws.fail(member, "GetCredentialReport", "ReportExpired", times=1, status=410)
    v = auditor(aws).audit_account(member)
    assert v.status is Status.NONCOMPLIANT
    assert v.keys[0].age_days == 12  # the details arrived after all
    assert aws.call_count(member, "GetCredentialReport") == 2


def test_server_failures_are_retried(aws: SimulatedAws) -> None:
    org = aws.create_organization(1)
    member = org.members[0].account_id
    aws.fail(member, "GetAccountSummary", "ServiceFailure", times=2, status=500)
    v = auditor(aws).audit_account(member)
    assert v.status is Status.COMPLIANT
    assert aws.call_count(member, "GetAccountSummary") == 3


def test_listing_throttled_for_good_is_an_audit_error_in_one_line(aws: SimulatedAws) -> None:
    aws.create_organization(2)
    aws.throttle(None, "ListAccounts")
    with pytest.raises(AuditError) as caught:
        auditor(aws, max_attempts=2).audit(Scope("org"))
    message = str(caught.value)
    assert "ListAccounts: TooManyRequestsException (throttled, after 1 retry)" in message
    assert "\n" not in message


def test_a_hanging_account_is_given_up_at_its_time_limit(aws: SimulatedAws) -> None:
    org = aws.create_organization(2)
    stuck, fine = (m.account_id for m in org.members)
    aws.set_latency(4.0, account_id=stuck)  # every call in that account hangs for 4 s
    checker = auditor(aws, max_attempts=3, account_timeout=0.5)
    try:
        result = checker.audit(Scope("org"))
    finally:
        checker.close()  # waits for the abandoned call, so it cannot leak into other tests
    v = by_id(result)
    assert v[stuck].status is Status.ERROR
    assert "account time limit of 0.5 s reached" in v[stuck].reason
    assert v[fine].status is Status.COMPLIANT
    assert v[MANAGEMENT_ACCOUNT].status is Status.COMPLIANT


def test_one_worker_reads_each_member_with_that_members_credentials(aws: SimulatedAws) -> None:
    org = aws.create_organization(4)
    first, second, third, fourth = (m.account_id for m in org.members)
    aws.set_root_keys(second, [RootKeySpec(slot=1)])
    aws.set_root_keys(fourth, [RootKeySpec(slot=2, active=False)])
    aws.deny(third, "GetAccountSummary", "GenerateCredentialReport")
    aws.reset_calls()
    v = by_id(auditor(aws, concurrency=1).audit(Scope("org")))
    assert v[first].status is Status.COMPLIANT
    assert v[second].status is Status.NONCOMPLIANT and v[second].keys[0].slot == 1
    assert v[third].status is Status.ERROR
    assert v[fourth].status is Status.NONCOMPLIANT and v[fourth].keys[0].slot == 2
    # each member's reads arrived signed as that member
    for member in (first, second, third, fourth):
        assert aws.call_count(member, "GetAccountSummary") == 1


def fast_auditor(org: FastOrg, **settings: object) -> AwsAuditor:
    config = Config(**settings)  # type: ignore[arg-type]
    return AwsAuditor(config, lambda: session_to(org.endpoint_url, **FAST_KEYS))


FAST_KEYS = {"aws_access_key_id": FAKE_KEY_ID, "aws_secret_access_key": FAKE_SECRET}


def test_an_organization_in_ous_is_walked_and_only_active_members_are_reported() -> None:
    """Accounts in nested OUs (more than a page per OU and per parent): each ACTIVE account once,
    none SUSPENDED, read by ListAccountsForParent rather than the one serial ListAccounts."""
    with FastOrg(
        190, 30, top_ous=4, noncompliant=[3, 120], suspended=[8, 99], latency=0.005
    ) as org:
        result = fast_auditor(org).audit(Scope("org"))
        calls = org.calls_by_action()
    ids = [v.account_id for v in result.verdicts]
    assert sorted(ids) == sorted(org.active_members())
    assert {v.account_id for v in result.verdicts if v.status is Status.NONCOMPLIANT} == (
        org.noncompliant()
    )
    assert all(v.status is not Status.ERROR for v in result.verdicts)
    assert "ListAccounts" not in calls and calls["ListAccountsForParent"] >= 31


def test_the_last_audits_accounts_are_scanned_at_once_and_the_listing_decides() -> None:
    """Known accounts (the last audit's) are scanned before the listing reaches them; the
    result is what the fresh listing says: a member that joined since is in it, one that left
    the Organization or is now SUSPENDED is not, and no known-only account is ever reported."""
    with FastOrg(121, 0, noncompliant=[5, 110], suspended=[7], latency=0.02) as org:
        members = sorted(org.active_members())
        joined = members[-2]  # not in the last audit
        left = "299999999999"  # an account that has since left the Organization
        suspended = "200000000007"
        # the last audit's list, its last page first (any order is the store's)
        known = (left, suspended, *reversed([m for m in members if m != joined]))
        result = fast_auditor(org).audit(Scope("org", known=known))
        arrivals = list(org.arrivals)
    got = {v.account_id: v.status for v in result.verdicts}
    assert sorted(got) == members
    assert left not in got and suspended not in got and joined in got
    assert {a for a, s in got.items() if s is Status.NONCOMPLIANT} == org.noncompliant()
    assert all(s is not Status.ERROR for s in got.values())
    assert len(result.verdicts) == len(got)
    # the scan did not wait for the listing: a member of its last page was already being
    # audited when that page was asked for
    last_page = max(i for i, (action, _) in enumerate(arrivals) if action == "ListAccounts")
    early = {account for action, account in arrivals[:last_page] if action == "AssumeRole"}
    assert members[-1] in early
    names = {v.account_id: v.account_name for v in result.verdicts}
    assert names[members[-1]] == org.accounts[members[-1]].name


def test_a_policy_without_the_tree_calls_lists_with_list_accounts() -> None:
    """An older bot policy grants ListAccounts only: the listing falls back to it."""
    with FastOrg(60, 5, noncompliant=[4], denied={"ListRoots"}) as org:
        result = fast_auditor(org).audit(Scope("org"))
        calls = org.calls_by_action()
    assert {v.account_id for v in result.verdicts} == org.active_members()
    assert calls["ListAccounts"] == 3 and "ListAccountsForParent" not in calls


def test_an_ou_page_that_cannot_be_read_fails_the_audit_in_one_line() -> None:
    with (
        FastOrg(60, 5, denied={"ListAccountsForParent"}) as org,
        pytest.raises(AuditError) as caught,
    ):
        fast_auditor(org).audit(Scope("org"))
    message = str(caught.value)
    assert "ListAccountsForParent: AccessDeniedException" in message and "\n" not in message
