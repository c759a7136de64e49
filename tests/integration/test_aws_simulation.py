"""The simulated AWS itself: its extensions of moto show through the real HTTP API."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from simulator.aws import (
    MANAGEMENT_ACCOUNT,
    REGION,
    EndpointSession,
    RootKeySpec,
    SimulatedAws,
    days_ago,
)

REPO = Path(__file__).resolve().parents[2]


def member_iam(aws: SimulatedAws, account_id: str) -> object:
    creds = aws.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/RootkeyAudit", RoleSessionName="sim-test"
    )["Credentials"]
    return EndpointSession(
        aws.endpoint_url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    ).client("iam")


def root_flags(iam: object) -> dict[str, int]:
    summary = iam.get_account_summary()["SummaryMap"]  # type: ignore[attr-defined]
    return {k: v for k, v in summary.items() if k.startswith("Account")}


def root_report_row(iam: object) -> dict[str, str]:
    iam.generate_credential_report()  # type: ignore[attr-defined]
    content = iam.get_credential_report()["Content"].decode()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(content)))
    (root,) = [r for r in rows if r["user"] == "<root_account>"]
    return root


def test_root_state_per_account_through_summary_and_report(aws: SimulatedAws) -> None:
    org = aws.create_organization(2)
    a, b = (m.account_id for m in org.members)
    aws.set_root(
        a,
        keys=[
            RootKeySpec(
                slot=2,
                active=False,
                created=days_ago(10),
                last_used=days_ago(1),
                region="eu-west-1",
                service="s3",
            )
        ],
        mfa=True,
        signing_certs=[True],
    )
    aws.remove_root_credentials(b)

    iam_a, iam_b = member_iam(aws, a), member_iam(aws, b)
    assert root_flags(iam_a) == {
        "AccountAccessKeysPresent": 1,
        "AccountMFAEnabled": 1,
        "AccountSigningCertificatesPresent": 1,
        "AccountPasswordPresent": 1,
    }
    assert root_flags(iam_b) == {
        "AccountAccessKeysPresent": 0,
        "AccountMFAEnabled": 0,
        "AccountSigningCertificatesPresent": 0,
        "AccountPasswordPresent": 0,
    }
    row = root_report_row(iam_a)
    assert row["arn"] == f"arn:aws:iam::{a}:root"
    assert (row["mfa_active"], row["access_key_1_active"], row["access_key_2_active"]) == (
        "true",
        "false",
        "false",
    )
    assert row["access_key_2_last_rotated"] != "N/A"
    assert (row["access_key_2_last_used_region"], row["access_key_2_last_used_service"]) == (
        "eu-west-1",
        "s3",
    )
    assert row["cert_1_active"] == "true"
    # the management account is untouched: no key, as moto has it
    assert root_flags(aws.client("iam"))["AccountAccessKeysPresent"] == 0


def report_of(iam: object) -> tuple[str, dict[str, str]]:
    iam.generate_credential_report()  # type: ignore[attr-defined]
    answer = iam.get_credential_report()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(answer["Content"].decode())))
    (root,) = [r for r in rows if r["user"] == "<root_account>"]
    return answer["GeneratedTime"].isoformat(), root


def test_report_is_kept_for_four_hours_as_aws_does(aws: SimulatedAws) -> None:
    """GenerateCredentialReport answers the existing report while it is younger than 4 hours:
    a key created since is in the summary, not in the report, until the report is replaced."""
    org = aws.create_organization(1)
    account = org.members[0].account_id
    old = RootKeySpec(slot=1, created=days_ago(90))
    aws.set_root_keys(account, [old])
    iam = member_iam(aws, account)
    generated, row = report_of(iam)
    assert (row["access_key_1_active"], row["access_key_2_active"]) == ("true", "false")

    aws.set_root_keys(account, [old, RootKeySpec(slot=2, created=days_ago(0))])
    assert root_flags(iam)["AccountAccessKeysPresent"] == 1
    assert report_of(iam) == (generated, row)  # the same report, the new key not in it

    aws.expire_report(account)  # four hours later
    _, row = report_of(iam)
    assert (row["access_key_1_active"], row["access_key_2_active"]) == ("true", "true")

    dated = days_ago(0.1)  # 2.4 hours ago
    aws.set_report_time(account, dated)  # a report of the root user now, dated then
    aws.set_root_keys(account, [old])
    assert report_of(iam)[0] == dated.isoformat()  # not replaced: younger than 4 hours
    assert report_of(iam)[1]["access_key_2_active"] == "true"


def test_missing_role_is_refused_and_org_features_only_for_management(aws: SimulatedAws) -> None:
    org = aws.create_organization(["with", "without"], missing_role={"without"})
    with pytest.raises(ClientError) as caught:
        member_iam(aws, org.members[1].account_id)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    features = aws.client("iam").list_organizations_features()
    assert set(features["EnabledFeatures"]) == {"RootCredentialsManagement", "RootSessions"}
    with pytest.raises(ClientError) as caught:
        member_iam(aws, org.members[0].account_id).list_organizations_features()  # type: ignore[attr-defined]
    assert (
        caught.value.response["Error"]["Code"]
        == "AccountNotManagementOrDelegatedAdministratorException"
    )


def test_reset_forgets_everything(aws: SimulatedAws) -> None:
    aws.create_organization(1)
    aws.set_root_keys(MANAGEMENT_ACCOUNT, [RootKeySpec()])
    aws.deny(None, "GetAccountSummary")
    aws.reset()
    assert root_flags(aws.client("iam"))["AccountAccessKeysPresent"] == 0
    with pytest.raises(ClientError):
        aws.client("organizations").list_accounts()
    assert aws.call_count(action="GetAccountSummary") == 1


def test_served_from_its_own_process() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator.aws", "--members", "3", "--noncompliant", "1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        org = boto3.client(
            "organizations",
            endpoint_url=info["endpoint_url"],
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert len(org.list_accounts()["Accounts"]) == 4
        calls = requests.get(f"{info['endpoint_url']}/rootkey-sim/calls", timeout=10).json()
        assert calls == {"ListAccounts": 1}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
