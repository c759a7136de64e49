"""The verdict, on plain data: every combination of what could and could not be read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.audit.models import AccountSummary, KeySlot, RootRow, Status
from bot.audit.verdict import decide

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REPORT_TIME = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
ACCOUNT = "111111111111"


def summary(keys: bool | None, mfa: bool = True, certs: bool = False, password: bool = True):
    return AccountSummary(
        access_keys_present=keys,
        mfa_enabled=mfa,
        signing_certificates_present=certs,
        password_present=password,
    )


def root(*keys: KeySlot, mfa: bool | None = True) -> RootRow:
    return RootRow(
        arn=f"arn:aws:iam::{ACCOUNT}:root",
        account_id=ACCOUNT,
        password_enabled=None,
        password_last_used=None,
        mfa_active=mfa,
        keys=keys,
    )


def key(slot: int = 1, active: bool = True, days: int | None = 400, used: bool = True) -> KeySlot:
    return KeySlot(
        slot=slot,
        active=active,
        last_rotated=NOW - timedelta(days=days, hours=3) if days is not None else None,
        last_used_date=NOW - timedelta(days=2) if used else None,
        last_used_region="eu-west-1" if used else None,
        last_used_service="ec2" if used else None,
    )


def test_active_key_is_noncompliant_with_age_and_last_use() -> None:
    v = decide(
        ACCOUNT,
        source="aws",
        now=NOW,
        summary=summary(True),
        root=root(key()),
        report_generated_at=REPORT_TIME,
    )
    assert v.status is Status.NONCOMPLIANT
    assert "active" in v.reason and "400 days old" in v.reason
    assert "ec2" in v.reason and "eu-west-1" in v.reason
    assert "2026-06-01 09:30 UTC" in v.reason  # the report's generation time
    assert v.keys[0].age_days == 400
    assert v.to_dict()["keys"][0]["age_days"] == 400


def test_inactive_key_is_noncompliant_deactivated_delete_to_finish() -> None:
    v = decide(
        ACCOUNT, source="aws", now=NOW, summary=summary(True), root=root(key(2, active=False))
    )
    assert v.status is Status.NONCOMPLIANT
    assert "deactivated; delete it to finish" in v.reason
    assert [(k.slot, k.active) for k in v.keys] == [(2, False)]


def test_active_and_inactive_keys_both_named() -> None:
    v = decide(
        ACCOUNT,
        source="aws",
        now=NOW,
        summary=summary(True),
        root=root(key(1), key(2, active=False, days=10, used=False)),
    )
    assert v.status is Status.NONCOMPLIANT
    assert "key 1" in v.reason and "key 2" in v.reason and "never used" in v.reason


def test_summary_sees_a_key_the_report_hides() -> None:
    v = decide(
        ACCOUNT,
        source="aws",
        now=NOW,
        summary=summary(True),
        root=root(),
        report_generated_at=REPORT_TIME,
    )
    assert v.status is Status.NONCOMPLIANT
    assert "inactive or newer than the report" in v.reason
    assert "2026-06-01 09:30 UTC" in v.reason


def test_key_present_but_report_unreadable_is_still_noncompliant() -> None:
    v = decide(
        ACCOUNT,
        source="aws",
        now=NOW,
        summary=summary(True),
        errors=["GetCredentialReport: ReportNotReady (ReportInProgress after 30 s)"],
    )
    assert v.status is Status.NONCOMPLIANT
    assert "ReportNotReady" in v.reason


def test_no_key_per_summary_is_compliant() -> None:
    v = decide(ACCOUNT, source="aws", now=NOW, summary=summary(False))
    assert v.status is Status.COMPLIANT
    assert v.reason == "no root access key (account summary)"
    assert v.keys == ()
    assert v.root_mfa_active is True


def test_stale_report_key_deleted_since_summary_wins() -> None:
    v = decide(
        ACCOUNT,
        source="aws",
        now=NOW,
        summary=summary(False),
        root=root(key()),
        report_generated_at=REPORT_TIME,
    )
    assert v.status is Status.COMPLIANT
    assert "deleted since" in v.reason
    assert v.keys == ()


def test_root_credentials_removed_is_compliant_and_says_so() -> None:
    v = decide(ACCOUNT, source="aws", now=NOW, summary=summary(False, mfa=False, password=False))
    assert v.status is Status.COMPLIANT
    assert "root credentials removed" in v.reason


def test_no_password_but_mfa_is_not_called_removed() -> None:
    v = decide(ACCOUNT, source="aws", now=NOW, summary=summary(False, mfa=True, password=False))
    assert v.status is Status.COMPLIANT
    assert "removed" not in v.reason


@pytest.mark.parametrize(
    "errors",
    [
        ["AssumeRole RootkeyAudit: AccessDenied"],
        ["GetAccountSummary: Throttling (after 4 retries)"],
        ["GetAccountSummary: AccessDenied", "GetCredentialReport: ReportNotReady"],
    ],
)
def test_nothing_read_is_an_error_with_the_aws_code(errors: list[str]) -> None:
    v = decide(ACCOUNT, source="aws", now=NOW, errors=errors)
    assert v.status is Status.ERROR
    for line in errors:
        assert line in v.reason
    assert v.evidence.errors == tuple(errors)


def test_never_compliant_by_default() -> None:
    v = decide(ACCOUNT, source="aws", now=NOW)
    assert v.status is Status.ERROR


def test_summary_without_the_key_flag_is_an_error() -> None:
    v = decide(ACCOUNT, source="aws", now=NOW, summary=summary(None))
    assert v.status is Status.ERROR
    assert "AccountAccessKeysPresent" in v.reason


def test_summary_denied_report_shows_no_active_key_is_error() -> None:
    v = decide(
        ACCOUNT,
        source="aws",
        now=NOW,
        root=root(),
        report_generated_at=REPORT_TIME,
        errors=["GetAccountSummary: AccessDenied"],
    )
    assert v.status is Status.ERROR
    assert "AccessDenied" in v.reason and "inactive" in v.reason


def test_summary_denied_report_shows_active_key_is_noncompliant() -> None:
    v = decide(
        ACCOUNT, source="aws", now=NOW, root=root(key()), errors=["GetAccountSummary: AccessDenied"]
    )
    assert v.status is Status.NONCOMPLIANT
    assert "AccessDenied" in v.reason


def test_report_only_active_key_is_noncompliant() -> None:
    v = decide(ACCOUNT, source="report:r.csv", now=NOW, root=root(key(2)))
    assert v.status is Status.NONCOMPLIANT
    assert v.source == "report:r.csv"


def test_report_only_no_active_key_is_compliant_and_notes_the_blind_spot() -> None:
    v = decide(ACCOUNT, source="report:r.csv", now=NOW, root=root())
    assert v.status is Status.COMPLIANT
    assert "does not show inactive keys" in v.reason


def test_report_only_inactive_slot_follows_the_cis_console_audit() -> None:
    v = decide(ACCOUNT, source="report:r.csv", now=NOW, root=root(key(1, active=False)))
    assert v.status is Status.COMPLIANT
    assert "marked inactive" in v.reason


@pytest.mark.parametrize(
    ("rotated", "expected"),
    [(None, None), (NOW + timedelta(days=2), 0), (NOW - timedelta(days=1, seconds=1), 1)],
)
def test_key_age_in_days_against_now(rotated: datetime | None, expected: int | None) -> None:
    k = KeySlot(slot=1, active=True, last_rotated=rotated)
    v = decide(ACCOUNT, source="aws", now=NOW, summary=summary(True), root=root(k))
    assert v.keys[0].age_days == expected


def test_mfa_from_the_live_summary_else_the_report_row() -> None:
    v = decide(
        ACCOUNT,
        source="aws",
        now=NOW,
        summary=summary(True, mfa=True),
        root=root(key(), mfa=False),
    )
    assert v.root_mfa_active is True
    v = decide(ACCOUNT, source="aws", now=NOW, summary=summary(False, mfa=False))
    assert v.root_mfa_active is False
    v = decide(ACCOUNT, source="report:r.csv", now=NOW, root=root(mfa=True))
    assert v.root_mfa_active is True
    v = decide(ACCOUNT, source="aws", now=NOW, errors=["x: y"])
    assert v.root_mfa_active is None


def test_json_matches_the_documented_shape() -> None:
    v = decide(
        ACCOUNT,
        source="aws",
        now=NOW,
        summary=summary(True),
        root=root(key()),
        account_name="prod",
    )
    d = v.to_dict()
    assert {
        "account_id",
        "account_name",
        "source",
        "status",
        "reason",
        "keys",
        "root_mfa_active",
    } <= set(d)
    assert d["status"] == "noncompliant" and d["account_name"] == "prod"
    assert set(d["keys"][0]) == {
        "slot",
        "active",
        "last_rotated",
        "last_used_date",
        "last_used_region",
        "last_used_service",
        "age_days",
    }
    assert d["keys"][0]["last_rotated"].endswith("Z")


@pytest.mark.parametrize(
    "error",
    [
        "AssumeRole RootkeyAudit: AccessDenied",
        "AssumeRole RootkeyAudit: AccessDenied (User: arn:aws:sts::111111111111:assumed-role/x)",
    ],
)
def test_an_audit_role_that_cannot_be_assumed_says_what_to_deploy(error: str) -> None:
    """ "could not audit: AssumeRole RootkeyAudit: AccessDenied" alone gives no hint."""
    verdict = decide("222222222222", source="aws", now=NOW, errors=[error])
    assert verdict.status is Status.ERROR
    assert verdict.reason.startswith(f"could not audit: {error}")
    assert "deploy/audit-role.yaml" in verdict.reason
    assert "python -m bot doctor" in verdict.reason


def test_a_denied_read_through_the_audit_role_says_the_role_is_out_of_date() -> None:
    verdict = decide(
        "222222222222", source="aws", now=NOW, errors=["GetAccountSummary: AccessDenied"]
    )
    assert "deploy/audit-role.yaml" in verdict.reason
    # a throttled call is not a deployment problem: no advice
    throttled = decide("222222222222", source="aws", now=NOW, errors=["AssumeRole X: Throttling"])
    assert "deploy/" not in throttled.reason
