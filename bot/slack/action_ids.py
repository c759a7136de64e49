"""Every Block Kit action id and view callback id the bot uses, in one place.

Builders put these on buttons and modals; handlers listen for the same members, so a rename is
one edit here. Button values carry ids only (see ``bot.slack.values``).
"""

from __future__ import annotations

from enum import StrEnum

SLASH_COMMAND = "/rootkey"


class ActionId(StrEnum):
    """``action_id`` of interactive elements."""

    REQUEST_REMEDIATION = "rootkey_request_remediation"
    RERUN = "rootkey_rerun"
    ACCEPT_RISK = "rootkey_accept_risk"
    # The request message's Approve and Reject check the clicker's rights first; then Approve
    # asks privately to confirm (its button is APPROVE), Reject opens the reason form.
    REVIEW_APPROVAL = "rootkey_review_approval"
    REVIEW_REJECTION = "rootkey_review_rejection"
    APPROVE = "rootkey_approve"  # the confirmation's button (and on messages posted before)
    REJECT = "rootkey_reject"  # without a reason: on request messages posted before
    VERIFY_NOW = "rootkey_verify_now"
    CANCEL_REQUEST = "rootkey_cancel_request"  # the requester withdraws, an approver cancels
    REVOKE_EXCEPTION = "rootkey_revoke_exception"  # /rootkey status: end an accepted risk early


class CallbackId(StrEnum):
    """``callback_id`` of modals (view submissions)."""

    REMEDIATION_REQUEST = "rootkey_remediation_request"
    ACCEPT_RISK = "rootkey_accept_risk_request"
    REJECT_REQUEST = "rootkey_reject_request"  # the rejection's optional reason


class BlockId(StrEnum):
    """Prefixes of ``block_id`` values that handlers look up again."""

    HEADER = "rootkey_header"
    SUMMARY = "rootkey_summary"
    FINDING = "rootkey_finding"  # + ":" + account id
    FINDING_ACTIONS = "rootkey_finding_actions"  # + ":" + account id: its buttons
    ERRORS = "rootkey_errors"  # + ":" + n: accounts that could not be checked, for one reason
    ACCEPTED = "rootkey_accepted"  # accounts with an accepted risk, shown apart
    COMPLIANT = "rootkey_compliant"
    ACTIONS = "rootkey_actions"
    NOTE = "rootkey_note"
