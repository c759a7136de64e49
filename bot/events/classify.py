"""Which CloudTrail calls are root activity worth an alert.

The rules, in order (root = ``userIdentity.type`` "Root"; a failed call, one with an
``errorCode``, changed nothing):

1. Not an API call, or not made by root: nothing.
2. ``iam:CreateAccessKey`` for the root user itself (no ``userName``: with one, root created an
   IAM user's key), succeeded: **key created**, the key id from ``responseElements``.
3. ``iam:UpdateAccessKey`` of a root key to ``Active``, succeeded: **key reactivated**.
4. ``iam:DeleteAccessKey`` of a root key, succeeded: **key deleted**.
5. Any other root call signed with a long-term key (``userIdentity.accessKeyId`` starting
   ``AKIA``; console and AssumeRoot sessions sign with temporary ``ASIA`` keys): **key used**.
6. Anything else: nothing.
"""

from __future__ import annotations

import re

from bot.events.models import Activity, ApiCall, RootActivity

IAM = "iam.amazonaws.com"
KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
LONG_TERM = "AKIA"


def classify(call: ApiCall) -> RootActivity | None:
    if not call.is_api_call or call.identity_type != "Root":
        return None
    own_key = not call.request.get("userName")
    if call.event_source == IAM and own_key and not call.error_code:
        if call.event_name == "CreateAccessKey":
            access_key = call.response.get("accessKey")
            created = access_key.get("accessKeyId") if isinstance(access_key, dict) else None
            if key_id(created):
                return RootActivity(Activity.KEY_CREATED, call, str(created))
        target = call.request.get("accessKeyId")
        reactivated = call.request.get("status") == "Active"
        if call.event_name == "UpdateAccessKey" and reactivated and key_id(target):
            return RootActivity(Activity.KEY_REACTIVATED, call, str(target))
        if call.event_name == "DeleteAccessKey" and key_id(target):
            return RootActivity(Activity.KEY_DELETED, call, str(target))
    if call.access_key_id.startswith(LONG_TERM) and key_id(call.access_key_id):
        return RootActivity(Activity.KEY_USED, call, call.access_key_id)
    return None


def key_id(value: object) -> bool:
    return isinstance(value, str) and KEY_ID.fullmatch(value) is not None
