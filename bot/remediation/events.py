"""What the remediation use case tells the outside world, as plain data.

The service (``bot.services.remediation``) reports each step of its work as one of these and
tells it (``notices.StepDone``) to its notifier; the Slack adapter words and posts it
(``bot.slack.blocks``). Each step also has a ``record``: the line written to the append-only
audit log.

The request form travels the same way: the form's origin (``FormContext``, carried in the
modal's ``private_metadata``), what the person typed (``RequestForm``), and what a fresh audit
says the form should offer (``FormOutcome``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from bot.audit.models import Verdict
from bot.remediation.models import Conversation
from bot.remediation.states import Kind, Mode
from bot.rules import is_account_id

# -- steps of the work (posted to the request's thread and logged) -----------------------------


@dataclass(frozen=True)
class OpeningRootSession:
    account_id: str
    region: str
    duration: int

    @property
    def record(self) -> str:
        return (
            f"Opening a root session in {self.account_id}: sts:AssumeRoot on the regional "
            f"endpoint ({self.region}), {self.duration} s, task policy "
            "IAMDeleteRootUserCredentials."
        )


@dataclass(frozen=True)
class KeysListed:
    """What the root session lists: one description per key (masked id, state, last use)."""

    described: tuple[str, ...]

    @property
    def record(self) -> str:
        return "keys: " + ("; ".join(self.described) or "none")


@dataclass(frozen=True)
class WouldDelete:
    """Dry run: the key that would have been deleted."""

    masked: str

    @property
    def record(self) -> str:
        return f"Dry run (ROOTKEY_DRY_RUN=true): would delete {self.masked}; nothing was deleted."


@dataclass(frozen=True)
class Deleted:
    masked: str

    @property
    def record(self) -> str:
        return f"Deleted {self.masked}."


@dataclass(frozen=True)
class Reauditing:
    @property
    def record(self) -> str:
        return "Re-auditing the account through the normal audit path."


@dataclass(frozen=True)
class TrackingInstead:
    """assume-root was asked for but cannot run now (``why``)."""

    why: str

    @property
    def record(self) -> str:
        return f"Cannot act as root now ({self.why}); tracking instead."


@dataclass(frozen=True)
class Resuming:
    """An execution that stopped is picked up again (after a restart, or here)."""

    restarted: bool

    @property
    def record(self) -> str:
        why = (
            "rootkey restarted while this request was executing"
            if self.restarted
            else "the execution of this request stopped before it ended"
        )
        return f"{why}; re-auditing the account to see where it stands."


Step = (
    OpeningRootSession
    | KeysListed
    | WouldDelete
    | Deleted
    | Reauditing
    | TrackingInstead
    | Resuming
)


# -- the request form --------------------------------------------------------------------------


@dataclass(frozen=True)
class FormContext:
    """Where a request form came from: ids only (the modal's ``private_metadata``)."""

    kind: Kind
    account_id: str
    channel: str
    thread_ts: str | None

    @property
    def where(self) -> Conversation:
        """The conversation (and thread) the form was opened from."""
        return Conversation(self.channel, self.thread_ts)

    def encode(self) -> str:
        return json.dumps(
            {"k": self.kind.value, "a": self.account_id, "c": self.channel, "t": self.thread_ts}
        )

    @classmethod
    def decode(cls, raw: str) -> FormContext:
        try:
            data = json.loads(raw or "{}")
            ctx = cls(Kind(data["k"]), str(data["a"]), str(data["c"]), data.get("t"))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError("not a rootkey request form") from exc
        if not is_account_id(ctx.account_id):
            raise ValueError("not a rootkey request form")
        if ctx.thread_ts is not None and not isinstance(ctx.thread_ts, str):
            raise ValueError("not a rootkey request form")
        return ctx


@dataclass(frozen=True)
class RequestForm:
    """A submitted request form: where it came from and what was typed (not validated yet)."""

    context: FormContext
    reason: str | None = None
    ticket: str | None = None
    until: str | None = None  # exception: the picked date, ISO
    owner: str | None = None  # exception: the picked Slack user


@dataclass(frozen=True)
class NothingToRemedy:
    """A fresh audit finds no root access key: no request can be made."""

    account_id: str


@dataclass(frozen=True)
class AlreadyRequested:
    """The account already has an open request of the form's kind: no form to fill in (the
    request is shown, and linked, instead)."""

    account_id: str
    request_id: int
    state: str
    where: Conversation  # the open request's (its message, once posted, to link to)


@dataclass(frozen=True)
class CannotAudit:
    account_id: str
    reason: str


@dataclass(frozen=True)
class RemediationOffer:
    """The remediation form: the keys, and the mode that applies with why."""

    context: FormContext
    verdict: Verdict
    mode: Mode
    why: str
    now: datetime


@dataclass(frozen=True)
class ExceptionOffer:
    """The accept-risk form: the keys, and the owner and end date it starts with."""

    context: FormContext
    verdict: Verdict
    owner: str
    today: date
    now: datetime


FormOutcome = NothingToRemedy | CannotAudit | AlreadyRequested | RemediationOffer | ExceptionOffer
