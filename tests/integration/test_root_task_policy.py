"""The real power of a root session, and what rootkey does with it.

The AWS-managed ``IAMDeleteRootUserCredentials`` task policy lets a root session delete the
root user's access keys, signing certificates and password and deactivate its MFA, on the root
user only. The simulated AWS grants exactly that to any client holding the session's
credentials; rootkey's own session must use only the access-key part of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bot.aws.root import RootAccess, RootAccessError
from simulator.aws import (
    FAKE_KEY_ID,
    FAKE_SECRET,
    REGION,
    EndpointSession,
    RootKeySpec,
    SimulatedAws,
)
from simulator.aws_root import (
    DELETE_KEYS_POLICY,
    RootAccessStandIn,
    certificate_id,
    mfa_serial,
    root_key_id,
)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatedAws]:
    with SimulatedAws() as server:
        RootAccessStandIn.install(server)
        yield server


@pytest.fixture
def member(sim: SimulatedAws) -> str:
    sim.reset()
    RootAccessStandIn.install(sim).reset()
    account = sim.create_organization(members=1).members[0].account_id
    sim.set_root(account, keys=[RootKeySpec(slot=1)], mfa=True, password=True, signing_certs=[True])
    return account


def session_with(sim: SimulatedAws, **credentials: str) -> EndpointSession:
    """A boto3 session of its own, with ``credentials``, aimed at ``sim``."""
    return EndpointSession(sim.endpoint_url, region_name=REGION, **credentials)


def sts(sim: SimulatedAws) -> Any:
    """STS as the management account (``sim.client("sts")``, its models read once)."""
    return session_with(
        sim, aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET
    ).client("sts")


def raw_root_iam(sim: SimulatedAws, account_id: str, policy: str = DELETE_KEYS_POLICY) -> Any:
    """An IAM client with a root session's credentials, as any script could open one."""
    creds = sts(sim).assume_root(
        TargetPrincipal=account_id, TaskPolicyArn={"arn": policy}, DurationSeconds=900
    )["Credentials"]
    return session_with(
        sim,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).client("iam")


def summary(sim: SimulatedAws, account_id: str) -> dict[str, int]:
    creds = sts(sim).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/RootkeyAudit", RoleSessionName="check"
    )["Credentials"]
    iam = session_with(
        sim,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).client("iam")
    return iam.get_account_summary()["SummaryMap"]


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# the stand-in: as strong as the real task policy, and no stronger ------------------------------


def test_the_task_policy_removes_password_mfa_and_certificates(
    sim: SimulatedAws, member: str
) -> None:
    iam = raw_root_iam(sim, member)
    assert iam.get_user()["User"]["Arn"] == f"arn:aws:iam::{member}:root"
    assert iam.get_login_profile()["LoginProfile"]
    iam.delete_login_profile()
    (device,) = iam.list_mfa_devices()["MFADevices"]
    assert device["SerialNumber"] == mfa_serial(member)
    with pytest.raises(ClientError) as still_used:
        iam.delete_virtual_mfa_device(SerialNumber=mfa_serial(member))
    assert code(still_used) == "DeleteConflict"
    iam.deactivate_mfa_device(SerialNumber=mfa_serial(member))
    iam.delete_virtual_mfa_device(SerialNumber=mfa_serial(member))
    (cert,) = iam.list_signing_certificates()["Certificates"]
    assert cert["CertificateId"] == certificate_id(member, 0)
    iam.delete_signing_certificate(CertificateId=cert["CertificateId"])
    iam.delete_access_key(AccessKeyId=root_key_id(member, 1))
    flags = summary(sim, member)
    assert flags["AccountPasswordPresent"] == 0
    assert flags["AccountMFAEnabled"] == 0
    assert flags["AccountSigningCertificatesPresent"] == 0
    assert flags["AccountAccessKeysPresent"] == 0


@pytest.mark.parametrize(
    ("call", "params"),
    [
        ("update_access_key", {"AccessKeyId": "AKIARK00000000000001", "Status": "Inactive"}),
        ("create_access_key", {}),
        ("create_login_profile", {"Password": "Not-a-real-password-1"}),
        ("create_virtual_mfa_device", {"VirtualMFADeviceName": "another"}),
        ("list_users", {}),
        ("list_access_keys", {"UserName": "alice"}),  # an IAM user: not the root user
        ("delete_login_profile", {"UserName": "alice"}),
    ],
)
def test_the_task_policy_refuses_everything_else(
    sim: SimulatedAws, member: str, call: str, params: dict[str, Any]
) -> None:
    iam = raw_root_iam(sim, member)
    with pytest.raises(ClientError) as denied:
        getattr(iam, call)(**params)
    assert code(denied) == "AccessDenied"
    assert summary(sim, member)["AccountAccessKeysPresent"] == 1


def test_a_task_policy_of_another_partition_is_refused(sim: SimulatedAws, member: str) -> None:
    other = DELETE_KEYS_POLICY.replace("arn:aws:", "arn:aws-us-gov:")
    with pytest.raises(ClientError) as refused:
        raw_root_iam(sim, member, policy=other)
    assert code(refused) == "ValidationError"


# rootkey: the same session, used only for access keys ---------------------------------------


@pytest.mark.parametrize(
    ("call", "params"),
    [
        ("delete_login_profile", {}),
        ("deactivate_mfa_device", {"SerialNumber": "arn:aws:iam::000000000000:mfa/x"}),
        ("delete_signing_certificate", {"CertificateId": "R" * 24}),
    ],
)
def test_rootkeys_session_never_sends_what_the_policy_would_allow(
    sim: SimulatedAws, member: str, call: str, params: dict[str, Any]
) -> None:
    session = RootAccess("eu-west-1", session_factory=sim.session).open(member)
    action = "".join(part.capitalize() for part in call.split("_"))
    if call == "deactivate_mfa_device":
        action = "DeactivateMFADevice"
    with pytest.raises(RootAccessError, match="refused"):
        getattr(session.iam, call)(**params)
    assert sim.call_count(member, action) == 0
    flags = summary(sim, member)
    assert (flags["AccountPasswordPresent"], flags["AccountMFAEnabled"]) == (1, 1)
    assert flags["AccountSigningCertificatesPresent"] == 1


def test_a_remediation_deletes_keys_and_leaves_password_mfa_and_certificates(
    sim: SimulatedAws, member: str
) -> None:
    session = RootAccess("eu-west-1", session_factory=sim.session).open(member)
    for key in session.list_keys():
        session.delete_key(key.key_id)
    flags = summary(sim, member)
    assert flags["AccountAccessKeysPresent"] == 0
    assert (flags["AccountPasswordPresent"], flags["AccountMFAEnabled"]) == (1, 1)
    assert flags["AccountSigningCertificatesPresent"] == 1


def test_an_empty_assume_root_answer_is_a_one_line_error(sim: SimulatedAws, member: str) -> None:
    empty = (
        b'<AssumeRootResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<AssumeRootResult></AssumeRootResult></AssumeRootResponse>"
    )
    sim.answer_html(None, "AssumeRoot", status=200, page=empty)
    with pytest.raises(RootAccessError) as caught:
        RootAccess("eu-west-1", session_factory=sim.session).open(member)
    assert "MalformedAnswer" in str(caught.value) and "\n" not in str(caught.value)
