"""Typed errors of the remediation flow; each carries one line a person can read."""

from __future__ import annotations


class RemediationError(Exception):
    """Base: ``str(exc)`` is the one line shown to the person who caused it.

    ``mrkdwn``, when given, is the same line as Slack mrkdwn built only from what the bot wrote
    itself (ids, mentions of the configured approvers): it is shown as is, so its mentions stay
    mentions. Without it the line is plain text and the one error handler escapes all of it.
    """

    def __init__(self, message: str, *, mrkdwn: str | None = None) -> None:
        super().__init__(message)
        self.mrkdwn = mrkdwn

    @property
    def user_message(self) -> str:
        """What the one error handler shows, privately, to the person who clicked."""
        return str(self)

    @property
    def user_mrkdwn(self) -> str | None:
        """The line as trusted mrkdwn, or None (then ``user_message`` is escaped)."""
        return self.mrkdwn


class RequestNotFound(RemediationError):
    def __init__(self, request_id: int) -> None:
        super().__init__(f"Request #{request_id} does not exist.")
        self.request_id = request_id


class NotAllowed(RemediationError):
    """The person may not do this (not an approver, own request, already approved)."""


class StaleState(RemediationError):
    """The request is no longer in the state the action needs (decided, expired, running)."""

    def __init__(self, request_id: int, state: str, wanted: str) -> None:
        super().__init__(f"Request #{request_id} is already {state}; nothing to {wanted}.")
        self.request_id = request_id
        self.state = state
        self.wanted = wanted


class InvalidTransition(RemediationError):
    def __init__(self, kind: str, from_state: str, to_state: str) -> None:
        super().__init__(f"A {kind} request cannot go from {from_state} to {to_state}.")
        self.kind = kind
        self.from_state = from_state
        self.to_state = to_state


class InvalidInput(RemediationError):
    """A form field is wrong; ``field`` names the modal block it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ApproverLookupFailed(RemediationError):
    """Slack could not tell who is in an approver group: fail closed."""


class LeaseLost(RemediationError):
    """This process no longer holds the execution lease: another one took the request over."""

    def __init__(self, request_id: int) -> None:
        super().__init__(
            f"Request #{request_id} was taken over by another rootkey process; this one stops."
        )
        self.request_id = request_id


class AlreadyOpen(RemediationError):
    """The account already has an open request of this kind (found when saving a new one)."""

    def __init__(self, account_id: str, kind: str) -> None:
        super().__init__(f"A {kind} request for {account_id} is already open.")
        self.account_id = account_id
        self.kind = kind
