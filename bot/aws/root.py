"""Centralized root access: delete a member account's root access keys through sts:AssumeRoot.

Only the management account (or a delegated administrator) can do this, and only when the
Organization has the ``RootCredentialsManagement`` and ``RootSessions`` features. The session is
short (``DurationSeconds`` at most 900) and comes from a regional STS endpoint (AssumeRoot is not
served by the global one).

The session's power is the AWS-managed task policy
``arn:<partition>:iam::aws:policy/root-task/IAMDeleteRootUserCredentials``, on the root user
only (every other action, and these on any other resource, is denied). It allows more than
rootkey needs:

* read: ``iam:ListAccessKeys``, ``iam:GetAccessKeyLastUsed``, ``iam:ListSigningCertificates``,
  ``iam:GetLoginProfile``, ``iam:ListMFADevices``, ``iam:GetUser``;
* delete: ``iam:DeleteAccessKey``, ``iam:DeleteSigningCertificate``, ``iam:DeleteLoginProfile``
  (the root password), ``iam:DeactivateMFADevice`` and ``iam:DeleteVirtualMFADevice``.

It cannot create, activate or deactivate an access key. rootkey calls only ``ROOT_SESSION_CALLS``
(list the keys, read their last use, delete a key): the root session's IAM client refuses every
other operation before any request is signed, and any ``UserName`` (the calls act on the root
user only), so no code path can remove the root password, MFA or signing certificates.

No AWS call happens at import or construction; every failure is a ``RootAccessError`` whose
text is one line naming the call and AWS's error code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from bot.audit.models import OrgFeatures, mask_key_id
from bot.aws.iam import AWS_CALL_ERRORS
from bot.records.aws import RootKey
from bot.records.errors import RootAccessError

TASK_POLICY = "policy/root-task/IAMDeleteRootUserCredentials"
TASK_POLICY_ARN = f"arn:aws:iam::aws:{TASK_POLICY}"  # in the aws partition
# The only IAM operations a root session of rootkey may send.
ROOT_SESSION_CALLS = frozenset({"ListAccessKeys", "GetAccessKeyLastUsed", "DeleteAccessKey"})
MAX_DURATION = 900
GLOBAL_STS_HOST = "sts.amazonaws.com"
RETRIES = BotoConfig(retries={"mode": "standard", "max_attempts": 4})
KEY_ID = re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}")


def masked(text: str) -> str:
    """``text`` with every access key id in it masked (AWS error messages quote them)."""
    return KEY_ID.sub(lambda m: mask_key_id(m.group(0)), text)


def fail(call: str, account_id: str | None, exc: Exception) -> RootAccessError:
    where = f" in {account_id}" if account_id else ""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        message = masked(" ".join(str(error.get("Message", "")).split()))[:300]
        return RootAccessError(f"{call}{where} failed: {masked(str(code))}: {message}")
    detail = masked(" ".join(str(exc).split()))[:300]
    return RootAccessError(f"{call}{where} failed: {type(exc).__name__}: {detail}")


def task_policy_arn(partition: str) -> str:
    """The delete-credentials task policy in ``partition`` (aws, aws-us-gov, aws-cn)."""
    return f"arn:{partition}:iam::aws:{TASK_POLICY}"


def refuse_other_calls(model: Any, params: dict[str, Any], **_: Any) -> None:
    """botocore ``before-parameter-build`` hook of a root session's IAM client: only the calls
    of ``ROOT_SESSION_CALLS``, on the root user (no ``UserName``), ever leave this process."""
    if model.name not in ROOT_SESSION_CALLS:
        raise RootAccessError(
            f"iam:{model.name} refused: a root session of rootkey only lists and deletes "
            "access keys"
        )
    if "UserName" in params:
        raise RootAccessError(f"iam:{model.name} refused: a root session acts on the root user")


def named(value: str | None) -> str | None:
    return None if value in (None, "", "N/A") else value


class RootSession:
    """Credentials of one AssumeRoot session in one member account."""

    def __init__(self, account_id: str, iam: Any, expiration: datetime | None) -> None:
        self.account_id = account_id
        self.iam = iam
        self.expiration = expiration

    def list_keys(self) -> list[RootKey]:
        """The root user's access keys, each with its last use (GetAccessKeyLastUsed)."""
        try:
            listed = self.iam.list_access_keys()["AccessKeyMetadata"]
        except AWS_CALL_ERRORS as exc:
            raise fail("iam:ListAccessKeys", self.account_id, exc) from None
        keys: list[RootKey] = []
        for item in listed:
            key_id = item["AccessKeyId"]
            try:
                used = self.iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]
            except AWS_CALL_ERRORS as exc:
                raise fail("iam:GetAccessKeyLastUsed", self.account_id, exc) from None
            keys.append(
                RootKey(
                    key_id=key_id,
                    active=item.get("Status") == "Active",
                    created=item.get("CreateDate"),
                    last_used_date=used.get("LastUsedDate"),
                    last_used_region=named(used.get("Region")),
                    last_used_service=named(used.get("ServiceName")),
                )
            )
        return keys

    def delete_key(self, key_id: str) -> None:
        try:
            self.iam.delete_access_key(AccessKeyId=key_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return  # already gone: deleting twice has the same outcome
            raise fail(f"iam:DeleteAccessKey {mask_key_id(key_id)}", self.account_id, exc) from None
        except (BotoCoreError, ResponseParserError) as exc:
            raise fail(f"iam:DeleteAccessKey {mask_key_id(key_id)}", self.account_id, exc) from None


class RootAccess:
    """Opens AssumeRoot sessions from the bot's (management account) credentials."""

    def __init__(
        self,
        region: str,
        session_factory: Callable[[], boto3.session.Session] | None = None,
        duration: int = MAX_DURATION,
    ) -> None:
        if not 0 < duration <= MAX_DURATION:
            raise ValueError(f"AssumeRoot sessions last at most {MAX_DURATION} seconds")
        if not region or region == "aws-global":
            raise ValueError("AssumeRoot needs a regional STS endpoint: set AWS_REGION")
        self.region = region
        self.session_factory = session_factory or boto3.session.Session
        self.duration = duration

    def sts_client(self, session: boto3.session.Session) -> Any:
        client = session.client("sts", region_name=self.region, config=RETRIES)
        if urlparse(client.meta.endpoint_url).hostname == GLOBAL_STS_HOST:
            # AssumeRoot is only served by regional endpoints.
            client = session.client(
                "sts",
                region_name=self.region,
                endpoint_url=f"https://sts.{self.region}.amazonaws.com",
                config=RETRIES,
            )
        return client

    def features(self) -> OrgFeatures:
        """iam:ListOrganizationsFeatures; unknown (None) when the caller may not ask."""
        iam = self.session_factory().client("iam", region_name=self.region, config=RETRIES)
        try:
            enabled = set(iam.list_organizations_features().get("EnabledFeatures", []))
        except ClientError:
            return OrgFeatures()
        except (BotoCoreError, ResponseParserError) as exc:
            raise fail("iam:ListOrganizationsFeatures", None, exc) from None
        return OrgFeatures(
            root_credentials_management="RootCredentialsManagement" in enabled,
            root_sessions="RootSessions" in enabled,
        )

    def open(self, account_id: str) -> RootSession:
        """sts:AssumeRoot into ``account_id`` with the delete-credentials task policy."""
        session = self.session_factory()
        try:
            policy = task_policy_arn(session.get_partition_for_region(self.region))
            answer = self.sts_client(session).assume_root(
                TargetPrincipal=account_id,
                TaskPolicyArn={"arn": policy},
                DurationSeconds=self.duration,
            )
        except AWS_CALL_ERRORS as exc:
            raise fail("sts:AssumeRoot", account_id, exc) from None
        creds = answer.get("Credentials")
        if not isinstance(creds, dict) or not creds.get("SessionToken"):
            raise RootAccessError(
                f"sts:AssumeRoot in {account_id} failed: MalformedAnswer: no Credentials in the "
                "answer"
            )
        iam = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.region,
        ).client("iam", config=RETRIES, **self.endpoint_kwargs(session))
        iam.meta.events.register("before-parameter-build.iam", refuse_other_calls)
        return RootSession(account_id, iam, creds.get("Expiration"))

    @staticmethod
    def endpoint_kwargs(session: boto3.session.Session) -> dict[str, str]:
        """Keep a custom endpoint the bot's own session uses (e.g. a local AWS stand-in)."""
        endpoint = getattr(session, "endpoint_url", None)
        return {"endpoint_url": endpoint} if isinstance(endpoint, str) and endpoint else {}
