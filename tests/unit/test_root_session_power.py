"""What a root session of rootkey may send: three IAM calls on the root user, nothing else.

The IAMDeleteRootUserCredentials task policy would also let the session delete the root
password and signing certificates and deactivate MFA; rootkey's client refuses those before a
request is signed. The client here points at a closed port: a refusal that came from anywhere
but the client would be a connection error instead.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import boto3
import botocore.endpoint
import botocore.session
import pytest
from botocore.exceptions import EndpointConnectionError

from bot.aws.root import ROOT_SESSION_CALLS, RootAccess, RootAccessError, refuse_other_calls

CLOSED = "http://127.0.0.1:9"


# botocore reads its service models once for this module, not once per test's session
LOADER = botocore.session.get_session().get_component("data_loader")


def session(region: str) -> boto3.session.Session:
    """A fresh boto3 Session (its own events and credentials) sharing the model loader."""
    core = botocore.session.Session()
    core.register_component("data_loader", LOADER)
    return boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=region,
        botocore_session=core,
    )


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's pauses between retries of a connection error are recorded, not slept: the
    attempts are the same, only their spacing is gone."""
    pauses: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=pauses.append))
    return pauses


def root_client() -> Any:
    iam = session("us-east-1").client("iam", endpoint_url=CLOSED)
    iam.meta.events.register("before-parameter-build.iam", refuse_other_calls)
    return iam


@pytest.mark.parametrize(
    ("call", "params"),
    [
        ("delete_login_profile", {}),  # the root password
        ("deactivate_mfa_device", {"SerialNumber": "arn:aws:iam::111111111111:mfa/root"}),
        ("delete_virtual_mfa_device", {"SerialNumber": "arn:aws:iam::111111111111:mfa/root"}),
        ("delete_signing_certificate", {"CertificateId": "A" * 24}),
        ("update_access_key", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "Status": "Inactive"}),
        ("create_access_key", {}),
        ("get_login_profile", {}),
        ("list_mfa_devices", {}),
    ],
)
def test_every_other_call_is_refused_before_it_is_sent(call: str, params: dict[str, Any]) -> None:
    with pytest.raises(RootAccessError, match="refused"):
        getattr(root_client(), call)(**params)


@pytest.mark.parametrize("call", ["list_access_keys", "delete_access_key"])
def test_an_iam_users_keys_are_refused(call: str) -> None:
    params = {"UserName": "alice"}
    if call == "delete_access_key":
        params["AccessKeyId"] = "AKIAIOSFODNN7EXAMPLE"
    with pytest.raises(RootAccessError, match="root user"):
        getattr(root_client(), call)(**params)


def test_the_three_calls_rootkey_needs_do_go_out() -> None:
    assert {"ListAccessKeys", "GetAccessKeyLastUsed", "DeleteAccessKey"} == ROOT_SESSION_CALLS
    iam = root_client()
    for call, params in (
        ("list_access_keys", {}),
        ("get_access_key_last_used", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE"}),
        ("delete_access_key", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE"}),
    ):
        with pytest.raises(EndpointConnectionError):  # sent, to a port where nothing listens
            getattr(iam, call)(**params)


@pytest.mark.parametrize(
    ("region", "partition"),
    [("eu-west-1", "aws"), ("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn")],
)
def test_assume_root_names_the_task_policy_of_the_regions_partition(
    region: str, partition: str
) -> None:
    sent: list[dict[str, list[str]]] = []

    def factory() -> boto3.session.Session:
        made = session(region)

        def capture(request: Any, **_: Any) -> None:
            body = request.body or b""
            sent.append(parse_qs(body.decode() if isinstance(body, bytes) else body))
            raise EndpointConnectionError(endpoint_url=request.url)

        made.events.register("before-send.sts.AssumeRoot", capture)
        return made

    with pytest.raises(RootAccessError, match="sts:AssumeRoot"):
        RootAccess(region, session_factory=factory).open("111111111111")
    assert sent  # every attempt (the connection error is retried) names the same policy
    for body in sent:
        assert body["TaskPolicyArn.arn"] == [
            f"arn:{partition}:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"
        ]
