"""CloudTrail records as EventBridge delivers them to SQS, for tests and benchmarks.

    body = trail.body(trail.key_created("AKIA..."))
    sns = trail.sns_body(body)    # the same event inside an SNS notification

Field names and nesting follow the "AWS API Call via CloudTrail" event: an EventBridge
envelope (``version``, ``id``, ``detail-type``, ``source``, ``account``, ``time``, ``region``,
``resources``, ``detail``) around a CloudTrail record (``eventVersion``, ``userIdentity``,
``eventTime``, ``eventSource``, ``eventName``, ``awsRegion``, ``sourceIPAddress``,
``userAgent``, ``requestParameters``, ``responseElements``, ``requestID``, ``eventID``,
``readOnly``, ``eventType``, ``managementEvent``, ``recipientAccountId``, ``eventCategory``).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

API_CALL = "AWS API Call via CloudTrail"
ROOT_KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documentation example, not a credential


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def identity(
    account_id: str, kind: str = "Root", key: str | None = ROOT_KEY, session: bool | None = None
) -> dict[str, Any]:
    """``userIdentity``. A call signed with temporary credentials (``session``; by default a
    key starting ``ASIA``) carries ``sessionContext``, as CloudTrail writes it for a console or
    assumed session (the shape of the "Root Access Key Created" test log of
    panther-labs/panther-analysis, rules/aws_cloudtrail_rules/aws_root_access_key_created.yml);
    a long-term key's call has none."""
    if kind == "Root":
        found: dict[str, Any] = {
            "type": "Root",
            "principalId": account_id,
            "arn": f"arn:aws:iam::{account_id}:root",
            "accountId": account_id,
        }
    else:
        found = {
            "type": kind,
            "principalId": "AIDAEXAMPLEUSER00001",
            "arn": f"arn:aws:iam::{account_id}:user/alice",
            "accountId": account_id,
            "userName": "alice",
        }
    if key:
        found["accessKeyId"] = key
    if session if session is not None else bool(key and key.startswith("ASIA")):
        found["sessionContext"] = {
            "sessionIssuer": {},
            "attributes": {"creationDate": "2026-11-30T10:31:55Z", "mfaAuthenticated": "true"},
        }
    return found


def api_call(
    event_name: str,
    *,
    account_id: str = "111111111111",
    source: str = "iam.amazonaws.com",
    kind: str = "Root",
    key: str | None = ROOT_KEY,
    at: datetime | None = None,
    region: str = "us-east-1",
    ip: str = "203.0.113.5",
    agent: str = "aws-cli/2.22.0 Python/3.12.6 Linux/6.8 exe/x86_64.ubuntu.24",
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error_code: str | None = None,
    event_id: str | None = None,
    session: bool | None = None,
) -> dict[str, Any]:
    """An EventBridge event carrying one CloudTrail management event."""
    at = at or datetime.now(UTC)
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity(account_id, kind, key, session),
        "eventTime": stamp(at),
        "eventSource": source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": request,
        "responseElements": response,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id or str(uuid.uuid4()),
        "readOnly": event_name.startswith(("List", "Get", "Describe")),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }
    if error_code:
        detail["errorCode"] = error_code
        detail["errorMessage"] = "The call failed."
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": API_CALL,
        "source": "aws." + source.split(".", 1)[0],
        "account": account_id,
        "time": stamp(at),
        "region": region,
        "resources": [],
        "detail": detail,
    }


def key_created(key_id: str = ROOT_KEY, **kwargs: Any) -> dict[str, Any]:
    account = kwargs.get("account_id", "111111111111")
    response = {
        "accessKey": {
            "userName": account,
            "accessKeyId": key_id,
            "status": "Active",
            "createDate": "Nov 30, 2026, 10:42:00 AM",
        }
    }
    return api_call("CreateAccessKey", response=response, **kwargs)


def key_updated(key_id: str = ROOT_KEY, status: str = "Active", **kwargs: Any) -> dict[str, Any]:
    return api_call("UpdateAccessKey", request={"accessKeyId": key_id, "status": status}, **kwargs)


def key_deleted(key_id: str = ROOT_KEY, **kwargs: Any) -> dict[str, Any]:
    return api_call("DeleteAccessKey", request={"accessKeyId": key_id}, **kwargs)


def key_used(action: str = "s3:ListBuckets", **kwargs: Any) -> dict[str, Any]:
    service, name = action.split(":", 1)
    return api_call(name, source=f"{service}.amazonaws.com", **kwargs)


def body(event: dict[str, Any]) -> str:
    return json.dumps(event)


def sns_body(event_body: str) -> str:
    """The event as an SNS topic delivers it to SQS without raw message delivery."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": "arn:aws:sns:us-east-1:111111111111:root-activity",
            "Message": event_body,
            "Timestamp": "2026-11-30T10:42:01.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/unsubscribe",
        }
    )
