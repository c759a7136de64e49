"""The ASFF mapping on plain data, and the ROOTKEY_SECURITYHUB setting."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.audit import asff
from bot.audit.models import AccountSummary, KeySlot, RootRow, Status, Verdict
from bot.audit.verdict import decide
from bot.config import ConfigError, load_config

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HUB = asff.Hub("999999999999", "eu-west-1", "aws-us-gov")


def noncompliant(account: str = "111111111111", name: str | None = "payments"):
    key = KeySlot(slot=1, active=True, last_rotated=NOW - timedelta(days=400))
    root = RootRow(f"arn:aws-us-gov:iam::{account}:root", account, True, None, False, (key,))
    return decide(
        account,
        source="aws",
        now=NOW,
        summary=AccountSummary(True, False, False, True),
        root=root,
        account_name=name,
    )


def test_product_arn_is_the_hub_accounts_default_product() -> None:
    assert HUB.product_arn == (
        "arn:aws-us-gov:securityhub:eu-west-1:999999999999:product/999999999999/default"
    )


def test_the_hub_account_imports_and_the_audited_account_is_the_resource() -> None:
    f = asff.finding(noncompliant(), HUB)
    assert f["AwsAccountId"] == "999999999999"
    assert f["Resources"] == [
        {
            "Type": "AwsAccount",
            "Id": "AWS::::Account:111111111111",
            "Partition": "aws-us-gov",
            "Region": "eu-west-1",
            "Details": {"Other": {"AccountName": "payments"}},
        }
    ]
    assert f["Compliance"]["Status"] == "FAILED"
    assert (
        f["Severity"]
        == f["FindingProviderFields"]["Severity"]
        == {
            "Label": "CRITICAL",
            "Original": "CRITICAL",
        }
    )


def test_a_new_failed_finding_dates_from_the_keys_creation() -> None:
    f = asff.finding(noncompliant(), HUB)
    assert f["CreatedAt"] == f["FirstObservedAt"] == "2025-04-27T12:00:00.000Z"
    assert f["UpdatedAt"] == f["LastObservedAt"] == "2026-06-01T12:00:00.000Z"


def test_an_existing_finding_keeps_its_creation_dates() -> None:
    previous = {"CreatedAt": "2024-01-01T00:00:00.000Z", "FirstObservedAt": "2024-01-02T00:00:00Z"}
    f = asff.finding(noncompliant(), HUB, previous)
    assert (f["CreatedAt"], f["FirstObservedAt"]) == (
        "2024-01-01T00:00:00.000Z",
        "2024-01-02T00:00:00Z",
    )


@pytest.mark.parametrize(
    ("status", "compliance", "record", "workflow"),
    [
        (Status.COMPLIANT, "PASSED", "ARCHIVED", "RESOLVED"),
        (Status.ERROR, "WARNING", "ACTIVE", "NEW"),
        (Status.NONCOMPLIANT, "FAILED", "ACTIVE", "NEW"),
    ],
)
def test_states_follow_the_verdict(
    status: Status, compliance: str, record: str, workflow: str
) -> None:
    summary = {
        Status.COMPLIANT: AccountSummary(False, False, False, True),
        Status.NONCOMPLIANT: AccountSummary(True, False, False, True),
        Status.ERROR: None,
    }[status]
    errors = ["GetAccountSummary: AccessDenied"] if status is Status.ERROR else []
    v = decide("111111111111", source="aws", now=NOW, summary=summary, errors=errors)
    assert v.status is status
    f = asff.finding(v, HUB)
    assert (f["Compliance"]["Status"], f["RecordState"], f["Workflow"]["Status"]) == (
        compliance,
        record,
        workflow,
    )


def test_long_texts_are_clipped_to_security_hubs_limits() -> None:
    v = noncompliant(name="n" * 5000)
    f = asff.finding(v, HUB)
    assert len(f["Description"]) <= asff.DESCRIPTION_MAX
    assert len(f["Title"]) <= asff.TITLE_MAX
    assert len(f["Remediation"]["Recommendation"]["Text"]) <= asff.RECOMMENDATION_MAX
    assert len(f["Resources"][0]["Details"]["Other"]["AccountName"]) <= 1024


def long_texts() -> list[Verdict]:
    """Verdicts whose texts run past what Security Hub takes: an error whose AWS message is
    long (an exception's text is not bounded) and a report value far longer than AWS writes."""
    message = "User: arn:aws:sts::111111111111:assumed-role/rootkey-audit/rootkey is not " * 40
    failed = decide("111111111111", source="aws", now=NOW, errors=[f"AssumeRole: {message}"])
    odd = KeySlot(slot=1, active=True, last_used_service="s" * 5000, last_used_region="r" * 3000)
    return [failed, replace(noncompliant(), keys=(odd,))]


@pytest.mark.parametrize("verdict", long_texts(), ids=["long error", "long report values"])
def test_product_fields_keep_security_hubs_limits(verdict: Verdict) -> None:
    """AWS (AwsSecurityFinding.ProductFields): up to 50 pairs, keys up to 128 characters,
    values up to 2,048 characters; BatchImportFindings refuses a finding that breaks them."""
    fields = asff.finding(verdict, HUB)["ProductFields"]
    assert len(fields) <= 50
    assert all(len(k) <= 128 for k in fields)
    too_long = {k: len(v) for k, v in fields.items() if len(v) > asff.PRODUCT_FIELD_MAX}
    assert not too_long and asff.PRODUCT_FIELD_MAX == 2048


def test_the_reason_is_in_product_fields_up_to_2048_characters() -> None:
    """The Description stops at 1,024 characters; ProductFields carries the reason twice as far,
    the cut said by a final ellipsis."""
    failed, _ = long_texts()
    f = asff.finding(failed, HUB)
    reason = f["ProductFields"]["rootkey/reason"]
    assert len(reason) == 2048 and reason.endswith("…")
    assert reason[:-1] == failed.reason[:2047]
    assert len(f["Description"]) == asff.DESCRIPTION_MAX
    short = asff.finding(noncompliant(), HUB)["ProductFields"]["rootkey/reason"]
    assert short == noncompliant().reason


def test_key_detail_is_in_product_fields_never_a_key_id() -> None:
    f = asff.finding(noncompliant(), HUB)
    assert f["ProductFields"]["rootkey/key1/active"] == "true"
    assert f["ProductFields"]["rootkey/key1/age_days"] == "400"
    assert "AKIA" not in str(f)


def test_rootkey_securityhub_setting() -> None:
    assert load_config({}).securityhub is False
    assert load_config({"ROOTKEY_SECURITYHUB": "true"}).securityhub is True
    with pytest.raises(ConfigError) as caught:
        load_config({"ROOTKEY_SECURITYHUB": "sometimes"})
    assert caught.value.variable == "ROOTKEY_SECURITYHUB"


def test_a_verdict_read_before_what_the_finding_shows_is_stale() -> None:
    """Audits run side by side; a long one's early read must not replace a later one's."""
    shown = asff.finding(noncompliant(), HUB)  # UpdatedAt and LastObservedAt: NOW
    before = replace(noncompliant(), checked_at=NOW - timedelta(milliseconds=1))
    assert asff.stale(before, shown) == (
        "older than the finding (2026-06-01T11:59:59.999Z before 2026-06-01T12:00:00.000Z), "
        "never sent"
    )
    assert not asff.newer(before, shown)
    # the same read sent again (the finding keeps milliseconds) may go; it resolves nothing
    again = replace(noncompliant(), checked_at=NOW + timedelta(microseconds=900))
    assert asff.stale(again, shown) is None and not asff.newer(again, shown)
    later = replace(noncompliant(), checked_at=NOW + timedelta(milliseconds=1))
    assert asff.stale(later, shown) is None and asff.newer(later, shown)
    # whichever of UpdatedAt and LastObservedAt is later counts; an unreadable one does not
    observed = {**shown, "UpdatedAt": "not a time", "LastObservedAt": "2026-06-01T12:00:01+00:00"}
    assert asff.stale(later, observed) is not None
    assert asff.stale(before, {"Id": shown["Id"]}) is None  # shows no time: nothing to keep
    assert asff.stale(before, None) is None  # no finding yet
