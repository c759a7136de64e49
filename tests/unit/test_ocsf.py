"""OCSF output: every verdict is a Compliance Finding that the released OCSF schema accepts.

The schema is OCSF 1.8.0 as released by the OCSF project (the newest release: 1.9.0 is still
"1.9.0-dev" in the project's version.json), read from the compiled export that the PyPI package
ocsf-json-schema ships (pinned in requirements-dev.txt; see tests/support/ocsf_released.py),
never a schema written here. The tests below also try to slip wrong events past the
validation, so a validation that accepts anything fails here.
"""

from __future__ import annotations

import copy
import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ocsf_json_schema import get_packaged_versions

import bot
from bot.audit import control, ocsf
from bot.audit.models import AccountSummary, AuditResult, KeySlot, RootRow, Status, Verdict
from bot.audit.verdict import decide
from tests.support import ocsf_released

REPO = Path(__file__).resolve().parents[2]
# The newest OCSF release (2026-03-16); its compliance_finding class and the objects rootkey
# fills (compliance, finding_info, cloud, account, resource_details, evidences, remediation)
# take every event below.
RELEASE = "1.8.0"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REPORT_TIME = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


def root_row(account: str, *keys: KeySlot) -> RootRow:
    return RootRow(
        arn=f"arn:aws:iam::{account}:root",
        account_id=account,
        password_enabled=True,
        password_last_used=None,
        mfa_active=False,
        keys=keys,
    )


def key(slot: int, active: bool) -> KeySlot:
    return KeySlot(
        slot=slot,
        active=active,
        last_rotated=NOW - timedelta(days=400),
        last_used_date=NOW - timedelta(days=2),
        last_used_region="eu-west-1",
        last_used_service="s3",
    )


def summary(keys: bool) -> AccountSummary:
    return AccountSummary(
        access_keys_present=keys,
        mfa_enabled=False,
        signing_certificates_present=False,
        password_present=True,
    )


def verdicts(now: datetime = NOW) -> dict[str, Verdict]:
    return {
        "active": decide(
            "111111111111",
            source="aws",
            now=now,
            summary=summary(True),
            root=root_row("111111111111", key(1, True), key(2, False)),
            report_generated_at=REPORT_TIME,
            account_name="payments-prod",
        ),
        "inactive": decide(
            "222222222222",
            source="aws",
            now=now,
            summary=summary(True),
            root=root_row("222222222222", key(2, False)),
            report_generated_at=REPORT_TIME,
        ),
        "error": decide(
            "333333333333",
            source="aws",
            now=now,
            errors=["GetAccountSummary: AccessDenied", "GetCredentialReport: AccessDenied"],
        ),
        "compliant": decide("444444444444", source="aws", now=now, summary=summary(False)),
        "report": decide(
            "unknown", source="report:root.csv", now=now, errors=["root.csv: not a report"]
        ),
    }


def assert_valid(event: dict[str, Any]) -> None:
    errors = ocsf_released.errors(event, RELEASE)
    assert not errors, "\n".join(errors)


def test_the_output_claims_a_released_ocsf_version() -> None:
    assert ocsf.OCSF_VERSION == RELEASE
    assert RELEASE in get_packaged_versions() and "-" not in RELEASE
    assert ocsf_released.released(RELEASE)["version"] == RELEASE


def test_a_version_that_is_not_released_cannot_be_validated_against() -> None:
    with pytest.raises(KeyError, match=r"1\.9\.0-dev"):
        ocsf_released.released("1.9.0-dev")


@pytest.mark.parametrize("name", ["active", "inactive", "error", "compliant", "report"])
def test_every_verdict_is_a_valid_ocsf_compliance_finding(name: str) -> None:
    event = ocsf.finding(verdicts()[name])
    assert_valid(event)
    assert (event["class_uid"], event["category_uid"], event["type_uid"]) == (2003, 2, 200301)
    assert event["metadata"]["version"] == ocsf.OCSF_VERSION == RELEASE


def test_compliance_status_and_severity_follow_the_verdict() -> None:
    got = {name: ocsf.finding(v) for name, v in verdicts().items()}
    status = {n: (e["compliance"]["status"], e["severity"]) for n, e in got.items()}
    assert status == {
        "active": ("Fail", "Critical"),
        "inactive": ("Fail", "High"),
        "error": ("Warning", "Medium"),
        "compliant": ("Pass", "Informational"),
        "report": ("Warning", "Medium"),
    }
    assert got["compliant"]["status"] == "Resolved"
    assert got["active"]["status"] == "New"


def test_the_account_is_the_cloud_account_and_the_resource() -> None:
    event = ocsf.finding(verdicts()["active"])
    assert event["cloud"]["provider"] == "AWS"
    assert event["cloud"]["account"] == {
        "uid": "111111111111",
        "name": "payments-prod",
        "type_id": 10,
        "type": "AWS Account",
    }
    (resource,) = event["resources"]
    assert (resource["uid"], resource["name"], resource["type"]) == (
        "111111111111",
        "payments-prod",
        "AwsAccount",
    )
    assert resource["cloud_partition"] == event["cloud"]["cloud_partition"] == "aws"


def test_compliance_names_the_cis_control() -> None:
    compliance = ocsf.finding(verdicts()["active"])["compliance"]
    assert compliance["standards"] == [
        "CIS AWS Foundations Benchmark v1.2.0",
        "CIS AWS Foundations Benchmark v1.4.0",
        "CIS AWS Foundations Benchmark v3.0.0",
    ]
    assert "CIS AWS Foundations Benchmark v1.2.0/1.12" in compliance["requirements"]
    assert "Ensure no 'root' user account access key exists" in compliance["control"]
    assert "IAM.4" in compliance["control"]


def test_the_finding_uid_is_stable_per_account_across_audits() -> None:
    first = {n: ocsf.finding(v)["finding_info"]["uid"] for n, v in verdicts().items()}
    later = {
        n: ocsf.finding(v)["finding_info"]["uid"]
        for n, v in verdicts(NOW + timedelta(days=3)).items()
    }
    assert first == later
    assert len(set(first.values())) == len(first)  # one finding per account
    assert first["active"] == "rootkey/root-access-key/111111111111"


def test_evidence_carries_key_detail_and_no_key_id() -> None:
    event = ocsf.finding(verdicts()["active"])
    (evidence,) = event["evidences"]
    data = evidence["data"]
    assert [(k["slot"], k["active"], k["age_days"]) for k in data["keys"]] == [
        (1, True, 400),
        (2, False, 400),
    ]
    assert data["keys"][0]["last_used_service"] == "s3"
    assert data["account_summary"]["access_keys_present"] is True
    assert data["report_generated_at"] == "2026-06-01T09:30:00Z"
    assert "AKIA" not in json.dumps(event) and "ASIA" not in json.dumps(event)
    assert "400 days old" in event["finding_info"]["desc"]


def test_to_ocsf_is_a_json_array_worst_first() -> None:
    result = AuditResult(verdicts=tuple(verdicts().values()))
    events = json.loads(ocsf.to_ocsf(result))
    assert len(events) == 5
    for event in events:
        assert_valid(event)
    assert [e["compliance"]["status_code"] for e in events] == [
        "noncompliant",
        "noncompliant",
        "error",
        "error",
        "compliant",
    ]
    assert json.loads(ocsf.to_ocsf(AuditResult(verdicts=()))) == []


def test_product_version_matches_the_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    event = ocsf.finding(verdicts()["compliant"])
    assert event["metadata"]["product"]["version"] == bot.__version__ == project["version"]


def test_severity_rule_covers_every_status() -> None:
    assert {control.severity(v) for v in verdicts().values()} == set(control.Severity)
    for v in verdicts().values():
        if v.status is Status.COMPLIANT:
            assert control.severity(v) is control.Severity.INFORMATIONAL


# ------------------------------------------------------- the schema refuses wrong events


def broken(change: str) -> dict[str, Any]:
    event = copy.deepcopy(ocsf.finding(verdicts()["active"]))
    if change == "no compliance":
        del event["compliance"]
    elif change == "type_uid not class*100+activity":
        event["type_uid"] = 200401
    elif change == "severity caption mismatch":
        event["severity"] = "Low"
    elif change == "compliance caption mismatch":
        event["compliance"]["status"] = "Pass"
    elif change == "unknown top-level attribute":
        event["account_id"] = "111111111111"
    elif change == "old schema version":
        event["metadata"]["version"] = "1.7.0"
    elif change == "unreleased schema version":
        event["metadata"]["version"] = "1.9.0-dev"
    elif change == "type_name caption mismatch":
        event["type_name"] = "Compliance Finding: Update"
    elif change == "finding status caption mismatch":
        event["status"] = "Resolved"
    elif change == "unknown profile declared":
        event["metadata"]["profiles"] = ["cloud", "rootkey"]
    elif change == "unknown attribute in an object":
        event["compliance"]["account_id"] = "111111111111"
    elif change == "time as a string":
        event["time"] = "2026-06-01T12:00:00Z"
    elif change == "cloud profile not declared":
        event["metadata"]["profiles"] = []
    elif change == "finding without uid":
        del event["finding_info"]["uid"]
    elif change == "other class":
        event["class_uid"] = 2004
    elif change == "empty evidence":
        event["evidences"] = [{"name": "nothing"}]
    elif change == "account without name or uid":
        event["cloud"]["account"] = {"type_id": 10, "type": "AWS Account"}
    elif change == "remediation without desc":
        event["remediation"] = {"references": []}
    else:  # pragma: no cover
        raise AssertionError(change)
    return event


@pytest.mark.parametrize(
    "change",
    [
        "no compliance",
        "type_uid not class*100+activity",
        "severity caption mismatch",
        "compliance caption mismatch",
        "unknown top-level attribute",
        "old schema version",
        "unreleased schema version",
        "type_name caption mismatch",
        "finding status caption mismatch",
        "unknown profile declared",
        "unknown attribute in an object",
        "time as a string",
        "cloud profile not declared",
        "finding without uid",
        "other class",
        "empty evidence",
        "account without name or uid",
        "remediation without desc",
    ],
)
def test_the_released_schema_refuses_a_wrong_event(change: str) -> None:
    assert ocsf_released.errors(broken(change), RELEASE), change
