"""CloudTrail's ``LookupEvents`` for the simulated AWS (moto 5.2 has no such operation).

The event history of each account and region is what a test records with ``TrailHistory.record``
(management events made with an access key). ``lookup`` answers the real API's JSON as AWS does:

* one lookup attribute at most (``InvalidLookupAttributesException``), one of the documented
  keys, a value of 1 to 2,000 characters;
* ``MaxResults`` 1 to 50 (``InvalidMaxResultsException``), default 50;
* ``StartTime`` after ``EndTime``: ``InvalidTimeRangeException``; only the last 90 days exist;
* newest first; a ``NextToken`` is valid only with the parameters it came from
  (``InvalidNextTokenException``);
* two requests per second per account and region: a token bucket of two, refilled at two per
  second; beyond it ``ThrottlingException`` ("Rate exceeded"), HTTP 400, as AWS answers;
* ``EventTime`` as epoch seconds, ``ReadOnly`` as the string "true"/"false", ``CloudTrailEvent``
  the record as a JSON string.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

LOOKUP_KEYS = {
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
}
RATE = 2.0  # requests per second, per account, per region
RETENTION = timedelta(days=90)
JSON_TYPE = "application/x-amz-json-1.1"

Answer = tuple[int, dict[str, str], bytes]


def error(code: str, message: str) -> Answer:
    body = json.dumps({"__type": code, "Message": message}).encode()
    return 400, {"Content-Type": JSON_TYPE}, body


@dataclass(frozen=True)
class TrailEvent:
    """One management event as the event history keeps it."""

    event_id: str
    at: datetime
    event_source: str  # "s3.amazonaws.com"
    event_name: str  # "ListBuckets"
    access_key_id: str
    source_ip: str
    user_agent: str
    username: str
    account_id: str
    region: str
    read_only: bool

    def item(self) -> dict[str, Any]:
        record = {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "Root",
                "principalId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:root",
                "accountId": self.account_id,
                "accessKeyId": self.access_key_id,
            },
            "eventTime": self.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": self.event_source,
            "eventName": self.event_name,
            "awsRegion": self.region,
            "sourceIPAddress": self.source_ip,
            "userAgent": self.user_agent,
            "requestParameters": None,
            "responseElements": None,
            "eventID": self.event_id,
            "readOnly": self.read_only,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": self.account_id,
            "eventCategory": "Management",
        }
        return {
            "EventId": self.event_id,
            "EventName": self.event_name,
            "ReadOnly": "true" if self.read_only else "false",
            "AccessKeyId": self.access_key_id,
            "EventTime": self.at.timestamp(),
            "EventSource": self.event_source,
            "Username": self.username,
            "Resources": [],
            "CloudTrailEvent": json.dumps(record),
        }

    def matches(self, key: str, value: str) -> bool:
        return {
            "EventId": self.event_id,
            "EventName": self.event_name,
            "ReadOnly": "true" if self.read_only else "false",
            "Username": self.username,
            "EventSource": self.event_source,
            "AccessKeyId": self.access_key_id,
        }.get(key) == value


@dataclass
class Bucket:
    tokens: float
    at: float


@dataclass
class TrailHistory:
    """Every account's and region's recorded events, and the lookup rate of each."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    events: dict[tuple[str, str], list[TrailEvent]] = field(default_factory=dict)
    buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)
    throttled: int = 0  # lookups answered ThrottlingException
    clock: Callable[[], float] = time.monotonic

    def clear(self) -> None:
        with self.lock:
            self.events.clear()
            self.buckets.clear()
            self.throttled = 0

    def record(
        self,
        account_id: str,
        region: str,
        access_key_id: str,
        action: str,
        at: datetime,
        *,
        source_ip: str = "203.0.113.5",
        user_agent: str = "aws-cli/2.22.0",
    ) -> None:
        service, name = action.split(":", 1)
        event = TrailEvent(
            event_id=str(uuid.uuid4()),
            at=at.astimezone(UTC).replace(microsecond=0),
            event_source=f"{service}.amazonaws.com",
            event_name=name,
            access_key_id=access_key_id,
            source_ip=source_ip,
            user_agent=user_agent,
            username="root",
            account_id=account_id,
            region=region,
            read_only=name.startswith(("List", "Get", "Describe")),
        )
        with self.lock:
            self.events.setdefault((account_id, region), []).append(event)

    def admit(self, account_id: str, region: str) -> bool:
        """Take a token from the account's and region's bucket; False when it is empty."""
        now = self.clock()
        with self.lock:
            bucket = self.buckets.setdefault((account_id, region), Bucket(RATE, now))
            bucket.tokens = min(RATE, bucket.tokens + (now - bucket.at) * RATE)
            bucket.at = now
            if bucket.tokens < 1.0:
                self.throttled += 1
                return False
            bucket.tokens -= 1.0
            return True

    def lookup(self, account_id: str, region: str, params: dict[str, Any]) -> Answer:
        if not self.admit(account_id, region):
            return error("ThrottlingException", "Rate exceeded")
        attributes = params.get("LookupAttributes") or []
        if not isinstance(attributes, list) or len(attributes) > 1:
            return error(
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute.",
            )
        wanted: tuple[str, str] | None = None
        if attributes:
            attribute = attributes[0] if isinstance(attributes[0], dict) else {}
            key, value = attribute.get("AttributeKey"), attribute.get("AttributeValue")
            if key not in LOOKUP_KEYS:
                return error("InvalidLookupAttributesException", f"Invalid attribute key {key}.")
            if not isinstance(value, str) or not 1 <= len(value) <= 2000:
                return error("InvalidLookupAttributesException", "Invalid attribute value.")
            wanted = (key, value)
        limit = params.get("MaxResults", 50)
        if not isinstance(limit, int) or not 1 <= limit <= 50:
            return error("InvalidMaxResultsException", "MaxResults must be from 1 to 50.")
        now = datetime.now(UTC)
        start = stamp(params.get("StartTime"), now - RETENTION)
        end = stamp(params.get("EndTime"), now)
        if start is None or end is None:
            return error("ValidationException", "StartTime and EndTime must be timestamps.")
        if start > end:
            return error("InvalidTimeRangeException", "StartTime is after EndTime.")
        # A token belongs to the query as it was asked (not to this moment's 90-day window).
        fingerprint = hashlib.sha256(
            json.dumps([wanted, limit, params.get("StartTime"), params.get("EndTime")]).encode()
        ).hexdigest()[:16]
        start = max(start, now - RETENTION)
        token = params.get("NextToken")
        offset = 0 if token is None else read_token(token, fingerprint)
        if offset is None:
            return error("InvalidNextTokenException", "Invalid NextToken.")
        with self.lock:
            found = [
                e
                for e in self.events.get((account_id, region), [])
                if start <= e.at <= end and (wanted is None or e.matches(*wanted))
            ]
        found.sort(key=lambda e: e.at, reverse=True)
        page = found[offset : offset + limit]
        reply: dict[str, Any] = {"Events": [e.item() for e in page]}
        if offset + limit < len(found):
            reply["NextToken"] = make_token(offset + limit, fingerprint)
        return 200, {"Content-Type": JSON_TYPE}, json.dumps(reply).encode()


def stamp(value: object, default: datetime) -> datetime | None:
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return None


def make_token(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{fingerprint}:{offset}".encode()).decode()


def read_token(token: object, fingerprint: str) -> int | None:
    if not isinstance(token, str):
        return None
    try:
        made_for, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return int(offset) if made_for == fingerprint and offset.isdigit() else None
    except (ValueError, UnicodeDecodeError):
        return None


_sqs_patched = False


def install_sqs_speedup() -> None:
    """Speed only: moto's ReceiveMessage checks each message's retention through
    ``get_queue_attributes``, which recomputes every attribute of the queue (counting all its
    messages) three times per message returned; read the retention period directly instead.
    Idempotent."""
    global _sqs_patched
    if _sqs_patched:
        return
    from moto.sqs import models as sqs_models

    def retained(self: Any, queue_name: str, message: Any) -> bool:
        queue = self.get_queue(queue_name)
        period = int(queue.message_retention_period)
        return bool(period + message.sent_timestamp / 1000 > sqs_models.unix_time())  # SQS's clock

    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = retained  # type: ignore[method-assign]
    _sqs_patched = True
