"""Which CloudTrail calls are root activity worth an alert.

The rules, in order (root = ``userIdentity.type`` "Root"; a failed call, one with an
``errorCode``, changed nothing). When in doubt about a root key event, it is alerted: a key id
that does not look like one never drops the event, it is alerted as "key id not readable"
(``key_id`` empty).

1. Not an API call, or not made by root: nothing.
2. ``iam:CreateAccessKey`` for the root user itself (no ``userName``: with one, root created an
   IAM user's key), succeeded: **key created**, the key id from ``responseElements``.
3. ``iam:UpdateAccessKey`` of a root key to ``Active``, succeeded: **key reactivated**.
4. ``iam:DeleteAccessKey`` of a root key, succeeded: **key deleted**.
5. Any other root call signed with a long-term key: **key used**. AWS adds
   ``userIdentity.sessionContext`` only for temporary credentials (console and AssumeRoot
   sessions), so a call signed with an access key and no ``sessionContext`` is long-term key
   use, whatever the key id's prefix; one with a long-term prefix (``AKIA``) is too.
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
            return RootActivity(Activity.KEY_CREATED, call, readable(created))
        target = readable(call.request.get("accessKeyId"))
        if call.event_name == "UpdateAccessKey" and call.request.get("status") == "Active":
            return RootActivity(Activity.KEY_REACTIVATED, call, target)
        if call.event_name == "DeleteAccessKey":
            return RootActivity(Activity.KEY_DELETED, call, target)
    signer = call.access_key_id
    if signer and (not call.session or signer.startswith(LONG_TERM)):
        return RootActivity(Activity.KEY_USED, call, readable(signer))
    return None


def readable(value: object) -> str:
    """The key id when it looks like one; "" (not readable) otherwise."""
    return value if isinstance(value, str) and KEY_ID.fullmatch(value) else ""
