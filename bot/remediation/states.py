"""The state machine of a request: which states exist and which moves between them are allowed.

Remediation (remove the root key)::

    requested -> approved | rejected | expired
    approved  -> executing -> verified | failed        (assume-root)
    approved  -> expired                               (not started within ROOTKEY_APPROVAL_TTL)
    executing -> approved                              (restart during execution, keys remain)
    approved  -> tracking -> deactivated -> verified   (tracked: a person does it)
    tracking  -> verified                              (deleted without deactivating first)
    deactivated -> tracking                            (key reactivated: the back-out)
    requested | approved | tracking | deactivated -> cancelled
                                 (withdrawn by the requester, or cancelled by an approver)

Risk exception (accept the risk until a date, at most 90 days)::

    requested -> approved | rejected | expired
    approved  -> expired                               (the exception ran out, or revoked)
    requested -> cancelled                             (withdrawn, or cancelled by an approver)
"""

from __future__ import annotations

from enum import StrEnum

from bot.remediation.errors import InvalidTransition


class Kind(StrEnum):
    REMEDIATION = "remediation"
    EXCEPTION = "exception"


class Mode(StrEnum):
    ASSUME_ROOT = "assume-root"
    TRACKED = "tracked"


class State(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTING = "executing"
    TRACKING = "tracking"
    DEACTIVATED = "deactivated"
    VERIFIED = "verified"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = State

TRANSITIONS: dict[Kind, dict[State, frozenset[State]]] = {
    Kind.REMEDIATION: {
        S.REQUESTED: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED, S.CANCELLED}),
        S.APPROVED: frozenset({S.EXECUTING, S.TRACKING, S.EXPIRED, S.CANCELLED}),
        S.EXECUTING: frozenset({S.VERIFIED, S.FAILED, S.APPROVED}),
        S.TRACKING: frozenset({S.DEACTIVATED, S.VERIFIED, S.CANCELLED}),
        S.DEACTIVATED: frozenset({S.VERIFIED, S.TRACKING, S.CANCELLED}),
    },
    Kind.EXCEPTION: {
        S.REQUESTED: frozenset({S.APPROVED, S.REJECTED, S.EXPIRED, S.CANCELLED}),
        S.APPROVED: frozenset({S.EXPIRED}),
    },
}

# States in which a request still waits for something (shown by `/rootkey status`).
OPEN_STATES: dict[Kind, frozenset[State]] = {
    Kind.REMEDIATION: frozenset({S.REQUESTED, S.APPROVED, S.EXECUTING, S.TRACKING, S.DEACTIVATED}),
    Kind.EXCEPTION: frozenset({S.REQUESTED, S.APPROVED}),
}

# Remediation states in which a person is expected to work on the key.
TRACKED_STATES = frozenset({S.TRACKING, S.DEACTIVATED})


def allowed(kind: Kind, from_state: State, to_state: State) -> bool:
    return to_state in TRANSITIONS[kind].get(from_state, frozenset())


def require(kind: Kind, from_state: State, to_state: State) -> None:
    """Raise ``InvalidTransition`` unless the move is in the table."""
    if not allowed(kind, from_state, to_state):
        raise InvalidTransition(kind.value, from_state.value, to_state.value)


def is_terminal(kind: Kind, state: State) -> bool:
    return not TRANSITIONS[kind].get(state)


def is_open(kind: Kind, state: State) -> bool:
    return state in OPEN_STATES[kind]
