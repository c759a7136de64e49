"""A flat Organization listed by a process of its own (``bot.aws.listing``), as the CLI and the
bot do with the standard credential chain: the same accounts, the same errors, every call
counted, and the last audit's accounts still scanned at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.audit.models import Scope, Status
from bot.aws.auditor import AwsAuditor
from bot.aws.errors import AuditError
from bot.config import Config
from simulator.aws import FAKE_KEY_ID, FAKE_SECRET, REGION, EndpointSession
from simulator.fast_org import FastOrg


@pytest.fixture
def org(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastOrg]:
    """A flat Organization the standard credential chain reaches (its key in the environment)."""
    settings = getattr(request, "param", {})
    with FastOrg(**{"accounts": 61, "noncompliant": [5], "suspended": [7], **settings}) as fake:
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        yield fake


def test_a_flat_organization_is_listed_by_its_own_process_and_every_call_counted(
    org: FastOrg,
) -> None:
    auditor = AwsAuditor(Config())
    try:
        assert auditor.clients.standard
        result = auditor.audit(Scope("org"))
    finally:
        auditor.close()
    calls = org.calls_by_action()
    assert sorted(v.account_id for v in result.verdicts) == sorted(org.active_members())
    assert {v.account_id for v in result.verdicts if v.status is Status.NONCOMPLIANT} == (
        org.noncompliant()
    )
    assert all(v.status is not Status.ERROR for v in result.verdicts)
    assert all(v.account_name for v in result.verdicts)
    assert calls["ListAccounts"] == 4  # 60 ACTIVE of 61, 20 a page: 4 pages
    assert "ListAccounts" not in auditor.pacer.summary()  # read by the other process
    assert result.calls == sum(calls.values())


def test_the_last_audits_accounts_are_scanned_and_only_the_listing_reports(org: FastOrg) -> None:
    members = sorted(org.active_members())
    left, suspended = "299999999999", "200000000007"
    auditor = AwsAuditor(Config())
    try:
        result = auditor.audit(Scope("org", known=(left, suspended, *members[:-3])))
    finally:
        auditor.close()
    assert sorted(v.account_id for v in result.verdicts) == members


@pytest.mark.parametrize("org", [{"denied": {"ListAccounts", "ListRoots"}}], indirect=True)
def test_a_page_that_cannot_be_read_is_the_same_one_line_error_as_in_process(
    org: FastOrg,
) -> None:
    def message(auditor: AwsAuditor) -> str:
        try:
            with pytest.raises(AuditError) as caught:
                auditor.audit(Scope("org"))
        finally:
            auditor.close()
        return str(caught.value)

    own = message(AwsAuditor(Config()))
    keys = {"aws_access_key_id": FAKE_KEY_ID, "aws_secret_access_key": FAKE_SECRET}
    threaded = message(
        AwsAuditor(Config(), lambda: EndpointSession(org.endpoint_url, region_name=REGION, **keys))
    )
    assert own == threaded
    assert "ListAccounts: AccessDeniedException" in own and "\n" not in own
