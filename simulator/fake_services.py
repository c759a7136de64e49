"""Fake services for calling a Bolt listener directly (``handlers``), without Slack, a
database or AWS: ``fake_services()`` returns an object shaped as ``bot.wiring.Services`` as far
as the listeners read it, and ``bolt_context(services)`` the Bolt context the middleware would
have filled. Every fake records what it was asked in ``services.calls`` (name, arguments), so a
test asserts the use case a listener called; ``services.replies.told`` holds the private notes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import BoltContext

from bot.remediation.events import FormContext, RequestForm
from bot.remediation.models import Conversation, Request
from bot.remediation.states import Kind, State
from bot.services.history import AccountHistory
from bot.services.org_state import Counts
from bot.services.status import Status
from bot.slack.blocks.common import Message

Calls = list[tuple[str, tuple[Any, ...]]]
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def request(
    number: int = 7, *, state: State = State.REQUESTED, requester: str = "U0REQUEST"
) -> Request:
    """A remediation request waiting for approval in channel C0FINDINGS."""
    return Request(
        id=number,
        kind=Kind.REMEDIATION,
        account_id="123456789012",
        state=state,
        requester=requester,
        reason="the key is unused",
        where=Conversation("C0FINDINGS", "1700000000.000100", "1700000000.000200"),
        created_at=NOW,
        expires_at=NOW + timedelta(days=1),
        state_since=NOW,
    )


class Recording:
    """A fake whose every method call is recorded in ``calls`` (shared by all the fakes)."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    def record(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))


class FakeChecks(Recording):
    accepts = True

    def start(self, check: Any) -> bool:
        self.record("checks.start", check)
        return self.accepts


class FakeJobs(Recording):
    """Runs each job at once, in the caller's thread; ``full`` refuses them."""

    pending = 0
    full = False

    def submit(self, name: str, fn: Callable[[], None]) -> bool:
        if self.full:
            return False
        fn()
        return True


class FakeGuard:
    """Every request is new, and every claim this replica's."""

    def first_time(self, key: str) -> bool:
        return True

    def claim(self, key: str) -> bool:
        return True


class FakeRemediation(Recording):
    """Each decision recorded; the request returned is ``request(number)``. ``refusal``: raised
    by each decision instead (a refusal, the database failing)."""

    refusal: Exception | None = None

    def decide(self, name: str, *args: Any) -> Request:
        self.record(f"remediation.{name}", *args)
        if self.refusal is not None:
            raise self.refusal
        return request(args[0])

    def may_approve(self, number: int, user: str) -> Request:
        return self.decide("may_approve", number, user)

    def may_reject(self, number: int, user: str) -> Request:
        return self.decide("may_reject", number, user)

    def approve(self, number: int, user: str) -> Request:
        return self.decide("approve", number, user)

    def reject(self, number: int, user: str, reason: str | None = None) -> Request:
        return self.decide("reject", number, user, reason)

    def revoke(self, number: int, user: str) -> Request:
        return self.decide("revoke", number, user)

    def cancel(self, number: int, user: str) -> Request:
        return self.decide("cancel", number, user)

    def verify(self, number: int, user: str) -> Request:
        return self.decide("verify", number, user)

    def where_of(self, number: int) -> Conversation | None:
        return Conversation("C0FINDINGS")


class FakeForms(Recording):
    """The request form's use case: ``check`` accepts every form unless ``problem`` is set."""

    problem: Exception | None = None
    room = True

    def open(
        self,
        ctx: FormContext,
        user: str,
        trigger_id: str,
        view_id: str | None,
        claim: Callable[[], bool] = lambda: True,
    ) -> None:
        self.record("forms.open", ctx, user, trigger_id, view_id)

    def check(self, form: RequestForm, user: str) -> Any:
        """The checked form (what the real one prepares, as far as a listener reads it)."""
        self.record("forms.check", form, user)
        if self.problem is not None:
            raise self.problem
        return SimpleNamespace(form=form, channel=form.context.channel)

    def reserve(self) -> bool:
        return self.room

    def release(self) -> None:
        self.record("forms.release")

    def accept(
        self,
        new: Any,
        view_id: str,
        claim: Callable[[], bool],
        failed: Callable[[Exception], None],
    ) -> None:
        self.record("forms.accept", new, view_id)


class FakeFormScreen(Recording):
    opens = True

    def open_rejection(self, trigger_id: str, req: Request) -> bool:
        self.record("form_screen.open_rejection", trigger_id, req.id)
        return self.opens


class FakeNames(Recording):
    """Accounts by name: ``known`` maps a name to its account id."""

    def __init__(self, calls: Calls) -> None:
        super().__init__(calls)
        self.known: dict[str, str] = {}

    def find(self, name: str) -> tuple[str, str]:
        from bot.services.accounts import UnknownName

        self.record("names.find", name)
        if name not in self.known:
            raise UnknownName(f"No audited account is named '{name}'.")
        return self.known[name], name


class FakeHistory(Recording):
    """No saved audit of any account; a name is looked up in ``names``."""

    def __init__(self, calls: Calls, names: FakeNames) -> None:
        super().__init__(calls)
        self.names = names

    def account(self, account_id: str | None = None, *, name: str | None = None) -> AccountHistory:
        self.record("history.account", account_id, name)
        if account_id is None:
            account_id, _stored = self.names.find(name or "")
        return AccountHistory(account_id, [], None, [], as_of=NOW)


class FakeStatus(Recording):
    counts = Counts(total=3, compliant=2, noncompliant=1)

    def status(self) -> Status:
        self.record("status.status")
        return Status(requests=[request()], exceptions=[], not_covering={}, counts=self.counts)


@dataclass
class Told:
    user: str
    message: Message
    response_url: str | None
    channel: str | None


class FakeReplies:
    """Private notes, kept instead of sent."""

    def __init__(self) -> None:
        self.told: list[Told] = []
        self.replaced: list[tuple[str, Message]] = []

    def tell(
        self,
        user: str,
        message: Message,
        *,
        response_url: str | None = None,
        channel: str | None = None,
    ) -> bool:
        self.told.append(Told(user, message, response_url, channel))
        return True

    def replace(self, response_url: str, message: Message) -> bool:
        self.replaced.append((response_url, message))
        return True

    @property
    def texts(self) -> list[str]:
        return [t.message.text for t in self.told]


@dataclass
class FakeConfig:
    scope: str = "organization"
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    slack_team_id: str | None = None
    slack_enterprise_id: str | None = None
    slack_app_id: str | None = None


@dataclass
class FakeServices:
    """What the listeners read of ``bot.wiring.Services``."""

    calls: Calls = field(default_factory=list)
    config: FakeConfig = field(default_factory=FakeConfig)
    guard: FakeGuard = field(default_factory=FakeGuard)
    replies: FakeReplies = field(default_factory=FakeReplies)

    def __post_init__(self) -> None:
        self.checks = FakeChecks(self.calls)
        self.jobs = FakeJobs(self.calls)
        self.remediation = FakeRemediation(self.calls)
        self.forms = FakeForms(self.calls)
        self.form_screen = FakeFormScreen(self.calls)
        self.names = FakeNames(self.calls)
        self.history = FakeHistory(self.calls, self.names)
        self.status = FakeStatus(self.calls)

    def called(self, name: str) -> list[tuple[Any, ...]]:
        """The arguments of each call of ``name`` (``"remediation.approve"``), in order."""
        return [args for called, args in self.calls if called == name]


def fake_services() -> FakeServices:
    return FakeServices()


def bolt_context(
    services: FakeServices, *, waited: float = 0.0, key: str | None = None
) -> BoltContext:
    """The Bolt context as ``handlers.middleware`` leaves it: the services, the request's
    arrival (``waited`` seconds ago) and its key (None: no claim to make)."""
    from handlers import deadline, middleware

    context = BoltContext()
    context[middleware.SERVICES] = services
    context[deadline.ARRIVED] = time.monotonic() - waited
    if key is not None:
        context[middleware.REQUEST_KEY] = key
    return context


class RecordingAck:
    """Bolt's ``ack``: each call's arguments kept."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, text: str | None = None, **kwargs: Any) -> None:
        self.calls.append({"text": text, **kwargs} if text is not None else dict(kwargs))

    @property
    def once(self) -> dict[str, Any]:
        """The one ack (fails the test when there were none or several)."""
        assert len(self.calls) == 1, self.calls
        return self.calls[0]
