"""An SQS message body -> ``ApiCall``, strictly.

EventBridge delivers an event to an SQS target as the event's JSON:
``{"version": "0", "id": ..., "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
"account": "111111111111", "time": "2026-11-30T10:42:00Z", "region": "us-east-1",
"detail": {CloudTrail record}}``. Through an SNS topic (without raw message delivery) the same
JSON arrives as the string ``Message`` of ``{"Type": "Notification", ...}``.

A body that is not such an event raises ``NotAnEvent``: not JSON, not an object, no
``detail-type``, an account that is not 12 ASCII digits, a time that does not parse or falls
outside 2000-9998 (a record's bad ``eventTime`` gives way to EventBridge's ``time``), a
CloudTrail record without an ``eventID``. Any other failure while reading a body (an overflow,
the recursion limit, an encoding) is ``NotAnEvent`` too: the parser raises nothing else, so
one message never holds back the others. Optional text fields of the wrong type are read as
empty; NULs and lone surrogates (valid JSON escapes that PostgreSQL and UTF-8 refuse) become
U+FFFD; their content is never interpreted (builders escape it).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from bot.events.models import ApiCall, NotAnEvent
from bot.rules import is_account_id

API_CALL = "AWS API Call via CloudTrail"
EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_TEXT = 1024  # a user agent or an IP address longer than this is cut
MAX_BODY = 1024 * 1024  # SQS's largest message
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # before AWS: no CloudTrail record is older
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # shown in any time zone without overflowing
UNENCODABLE = re.compile("[\x00\ud800-\udfff]")


def parse_message(body: str) -> ApiCall:
    """The event in an SQS message body (raw or SNS-wrapped); ``NotAnEvent`` otherwise, and
    never another exception."""
    try:
        return read_message(body)
    except NotAnEvent:
        raise
    except Exception as exc:  # the rule above: whatever failed, this body is not an event
        raise NotAnEvent(f"could not be read ({type(exc).__name__})") from None


def read_message(body: str) -> ApiCall:
    data = load_object(body)
    if data.get("Type") == "Notification" and "detail-type" not in data:
        message = data.get("Message")
        if not isinstance(message, str):
            raise NotAnEvent("an SNS notification without a Message string")
        data = load_object(message)
    return parse_event(data)


def load_object(body: str) -> dict[str, Any]:
    if not isinstance(body, str) or len(body) > MAX_BODY:
        raise NotAnEvent("not a message body")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise NotAnEvent("not JSON") from None
    if not isinstance(data, dict):
        raise NotAnEvent("not a JSON object")
    return data


def parse_event(data: dict[str, Any]) -> ApiCall:
    detail_type = data.get("detail-type")
    if not isinstance(detail_type, str) or not detail_type:
        raise NotAnEvent("no detail-type: not an EventBridge event")
    source = data.get("source")
    if not isinstance(source, str) or not source.startswith("aws."):
        # only AWS writes "aws." sources; anyone allowed to put events on the bus could write
        # any other, so such an event is never read as a root call, whatever the rule lets in
        raise NotAnEvent(f"source {str(source)[:40]!r} is not AWS's: not written by CloudTrail")
    account = data.get("account")
    if not isinstance(account, str) or not is_account_id(account):
        raise NotAnEvent("no 12-digit account")
    detail = data.get("detail")
    if not isinstance(detail, dict):
        raise NotAnEvent("no detail object")
    envelope_time = parse_time(data.get("time"))
    region = text(data.get("region"))
    if detail_type != API_CALL:
        # Another kind of event (a console sign-in, a scheduled event): recognised as an event,
        # identified by EventBridge's id, never alerted on.
        return ApiCall(
            event_id=event_id(data.get("id")),
            detail_type=detail_type,
            account_id=account,
            at=require(envelope_time, "time"),
            region=region,
        )
    identity = detail.get("userIdentity")
    identity = identity if isinstance(identity, dict) else {}
    return ApiCall(
        event_id=event_id(detail.get("eventID")),
        detail_type=detail_type,
        account_id=account,
        at=require(parse_time(detail.get("eventTime")) or envelope_time, "eventTime"),
        region=text(detail.get("awsRegion")) or region,
        event_source=text(detail.get("eventSource")),
        event_name=text(detail.get("eventName")),
        identity_type=text(identity.get("type")),
        access_key_id=text(identity.get("accessKeyId")),
        session=isinstance(identity.get("sessionContext"), dict),
        source_ip=text(detail.get("sourceIPAddress")),
        user_agent=text(detail.get("userAgent")),
        error_code=text(detail.get("errorCode")),
        request=mapping(detail.get("requestParameters")),
        response=mapping(detail.get("responseElements")),
    )


def event_id(value: object) -> str:
    if not isinstance(value, str) or not EVENT_ID.fullmatch(value):
        raise NotAnEvent("no usable event id")
    return value


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        at = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # year 1 at +01:00 is before year 1 in UTC
        return None
    return at if EARLIEST <= at < LATEST else None


def require(value: datetime | None, name: str) -> datetime:
    if value is None:
        raise NotAnEvent(f"no usable {name}")
    return value


def text(value: object) -> str:
    return UNENCODABLE.sub("\ufffd", value[:MAX_TEXT]) if isinstance(value, str) else ""


def mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
