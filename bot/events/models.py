"""What the parser returns: one CloudTrail API call, and root activity worth an alert."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class NotAnEvent(ValueError):
    """The message is not an EventBridge CloudTrail event (left on the queue, logged once)."""


class Activity(StrEnum):
    KEY_CREATED = "created"
    KEY_REACTIVATED = "reactivated"
    KEY_USED = "used"
    KEY_DELETED = "deleted"


@dataclass(frozen=True)
class ApiCall:
    """One event of EventBridge's "AWS API Call via CloudTrail" (or another detail-type).

    Strings are as AWS sent them (hostile text included): builders escape them, never this.
    """

    event_id: str  # CloudTrail's eventID: unique per event, the same in every redelivery
    detail_type: str
    account_id: str
    at: datetime
    region: str
    event_source: str = ""  # "iam.amazonaws.com"
    event_name: str = ""  # "CreateAccessKey"
    identity_type: str = ""  # userIdentity.type: "Root", "IAMUser", "AssumedRole", ...
    access_key_id: str = ""  # userIdentity.accessKeyId: the key that signed the call
    session: bool = False  # userIdentity.sessionContext present: temporary credentials
    source_ip: str = ""
    user_agent: str = ""
    error_code: str = ""  # set when the call failed
    request: dict[str, Any] = field(default_factory=dict)  # requestParameters
    response: dict[str, Any] = field(default_factory=dict)  # responseElements

    @property
    def is_api_call(self) -> bool:
        return self.detail_type == "AWS API Call via CloudTrail"

    @property
    def action(self) -> str:
        """``s3:ListBuckets``: the service prefix of ``eventSource`` and the event name."""
        service = self.event_source.split(".", 1)[0] if self.event_source else "unknown"
        return f"{service}:{self.event_name or 'unknown'}"


@dataclass(frozen=True)
class RootActivity:
    """Root activity rootkey alerts on (see ``bot.events.classify``)."""

    activity: Activity
    call: ApiCall
    key_id: str  # the key concerned: created, reactivated, deleted, or the one that signed;
    # "" when the event's key id does not look like one ("key id not readable")

    @property
    def event_id(self) -> str:
        return self.call.event_id

    @property
    def account_id(self) -> str:
        return self.call.account_id
