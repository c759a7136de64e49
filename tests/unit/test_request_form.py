"""The request form's use case (``bot.services.request_form``) over a recording screen: what the
form shows and when, the usage lookup, and the checks of a submitted form."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.audit.models import Status, Verdict
from bot.events.usage import UsageReport
from bot.remediation.events import (
    AlreadyRequested,
    FormContext,
    NothingToRemedy,
    RemediationOffer,
    RequestForm,
)
from bot.remediation.models import Conversation
from bot.remediation.states import Kind, Mode, State
from bot.services.request_form import FormNotChecked, RequestFormService, Stopping
from simulator.fake_services import request

ACCOUNT = "123456789012"
CTX = FormContext(Kind.REMEDIATION, ACCOUNT, "C0FINDINGS", "1700000000.000100")


class Screen:
    def __init__(self) -> None:
        self.shown: list[tuple[str, ...]] = []
        self.open_view: str | None = "V0FORM0001"  # None: the trigger was spent
        self.refuses = False  # the form was closed

    def open_loading(self, trigger_id: str, view_id: str | None) -> str | None:
        self.shown.append(("loading", trigger_id, str(view_id)))
        return view_id or self.open_view

    def no_channel(self, trigger_id: str, view_id: str | None) -> None:
        self.shown.append(("no channel", trigger_id))

    def busy(self, view_id: str) -> None:
        self.shown.append(("busy", view_id))

    def failed(self, view_id: str) -> bool:
        self.shown.append(("failed", view_id))
        return True

    def show(self, view_id: str, outcome: Any) -> bool:
        self.shown.append(("form", view_id, type(outcome).__name__))
        return not self.refuses

    def show_usage(self, view_id: str, offer: Any, report: UsageReport | None) -> bool:
        self.shown.append(("usage", view_id, "looking up" if report is None else "found"))
        return not self.refuses

    def post_usage(self, req: Any, report: UsageReport) -> None:
        self.shown.append(("thread", str(req.id), report.account_id))


class Source:
    def __init__(self, outcome: Any = None, channel: str | None = "C0REQUESTS") -> None:
        self.outcome = outcome
        self.channel = channel
        self.asked: list[FormContext] = []
        self.created: list[Any] = []
        self.problem: Exception | None = None

    def form(self, ctx: FormContext, user: str) -> Any:
        self.asked.append(ctx)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def home_channel(self) -> str | None:
        return self.channel

    def prepare(self, form: RequestForm, user: str) -> Any:
        if self.problem is not None:
            raise self.problem
        return ("new", form.reason)

    def create(self, new: Any) -> Any:
        self.created.append(new)
        return request(7)


class Pool:
    """Runs each job at once; ``full``: refuses it."""

    def __init__(self) -> None:
        self.full = False
        self.stopping = False
        self.released = 0

    def submit(self, name: str, fn: Callable[[], None]) -> bool:
        if self.full:
            return False
        fn()
        return True

    def reserve(self, name: str) -> bool:
        return not self.full

    def run_reserved(self, name: str, fn: Callable[[], None]) -> bool:
        if self.stopping:
            return False
        fn()
        return True

    def release(self) -> None:
        self.released += 1


class Usage:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, verdict: Verdict) -> UsageReport:
        self.asked.append("verdict")
        return UsageReport(account_id=verdict.account_id, regions=())

    def account(self, account_id: str) -> UsageReport:
        self.asked.append("account")
        return UsageReport(account_id=account_id, regions=())


class Checks:
    """The checks' lane, as the use case waits on it: here they run at once."""

    def within(self, seconds: float, fn: Callable[[], Any]) -> Any:
        return fn()


class Unanswered:
    """Checks that never finish (the database hanging): waited for, then given up on."""

    def within(self, seconds: float, fn: Callable[[], Any]) -> Any:
        return Future().result(seconds)


def offer() -> RemediationOffer:
    verdict = Verdict(
        account_id=ACCOUNT,
        status=Status.NONCOMPLIANT,
        reason="root access key present",
        source="aws",
    )
    return RemediationOffer(CTX, verdict, Mode.TRACKED, "", datetime(2026, 3, 2, tzinfo=UTC))


def service(
    source: Source, screen: Screen, pool: Pool | None = None, usage: Usage | None = None
) -> RequestFormService:
    return RequestFormService(
        source,  # type: ignore[arg-type]
        screen,
        pool or Pool(),
        Checks(),
        usage=usage,
        check_seconds=0.05,
    )


def test_the_form_opens_loading_then_shows_what_the_audit_offers() -> None:
    screen = Screen()
    forms = service(Source(NothingToRemedy(ACCOUNT)), screen)
    forms.open(CTX, "U0BOB", "1.2.click", None)
    assert screen.shown == [
        ("loading", "1.2.click", "None"),
        ("form", "V0FORM0001", "NothingToRemedy"),
    ]


def test_a_spent_trigger_opens_nothing_and_audits_nothing() -> None:
    screen, source = Screen(), Source(NothingToRemedy(ACCOUNT))
    screen.open_view = None
    service(source, screen).open(CTX, "U0BOB", "1.2.click", None)
    assert source.asked == []


def test_a_home_tab_click_goes_to_the_request_channel_or_says_there_is_none() -> None:
    screen, source = Screen(), Source(NothingToRemedy(ACCOUNT))
    home = replace(CTX, channel="")
    service(source, screen).open(home, "U0BOB", "1.2.click", None)
    assert source.asked[0].channel == "C0REQUESTS"
    nowhere = Source(NothingToRemedy(ACCOUNT), channel=None)
    screen = Screen()
    service(nowhere, screen).open(home, "U0BOB", "1.2.click", None)
    assert screen.shown == [("no channel", "1.2.click")] and nowhere.asked == []


def test_inside_an_open_form_only_the_replica_that_claims_it_shows_it() -> None:
    screen, source = Screen(), Source(NothingToRemedy(ACCOUNT))
    service(source, screen).open(CTX, "U0BOB", "", "V0OPEN", claim=lambda: False)
    assert screen.shown == [] and source.asked == []


def test_a_full_pool_is_said_in_the_form_at_once() -> None:
    screen, pool = Screen(), Pool()
    pool.full = True
    service(Source(NothingToRemedy(ACCOUNT)), screen, pool).open(CTX, "U0BOB", "t", None)
    assert screen.shown[-1] == ("busy", "V0FORM0001")


def test_a_failing_audit_says_so_in_the_form() -> None:
    screen = Screen()
    service(Source(RuntimeError("boom")), screen).fill(CTX, "U0BOB", "V0FORM0001")
    assert screen.shown == [("failed", "V0FORM0001")]


def test_an_open_request_is_shown_without_a_usage_lookup() -> None:
    screen, usage = Screen(), Usage()
    open_one = AlreadyRequested(
        ACCOUNT, 7, "requested", Conversation("C0FINDINGS", None, "1700000000.000200")
    )
    service(Source(open_one), screen, usage=usage).fill(CTX, "U0BOB", "V0FORM0001")
    assert screen.shown == [("form", "V0FORM0001", "AlreadyRequested")] and usage.asked == []


def test_the_remediation_form_shows_looking_up_then_what_used_the_keys() -> None:
    screen, usage = Screen(), Usage()
    forms = service(Source(offer()), screen, usage=usage)
    forms.fill(CTX, "U0BOB", "V0FORM0001")
    assert screen.shown == [("usage", "V0FORM0001", "looking up"), ("usage", "V0FORM0001", "found")]
    assert forms.recent(ACCOUNT) is not None


def test_a_form_submitted_before_the_lookup_ends_is_left_alone() -> None:
    screen, usage = Screen(), Usage()
    forms = service(Source(offer()), screen, usage=usage)
    forms.submitted("V0FORM0001")
    forms.fill(CTX, "U0BOB", "V0FORM0001")
    assert screen.shown == [("usage", "V0FORM0001", "looking up")]


def test_a_submitted_form_is_checked_then_its_request_created_with_the_usage_in_its_thread() -> (
    None
):
    screen, usage, source = Screen(), Usage(), Source(offer())
    forms = service(source, screen, usage=usage)
    form = RequestForm(context=CTX, reason="unused key")
    new = forms.check(form, "U0BOB")
    failures: list[Exception] = []
    assert forms.reserve()
    forms.accept(new, "V0FORM0001", lambda: True, failures.append)
    assert source.created == [("new", "unused key")] and failures == []
    assert screen.shown == [("thread", "7", ACCOUNT)]
    assert forms.was_submitted("V0FORM0001")


def test_a_form_another_replica_claimed_creates_nothing_here() -> None:
    source = Source(offer())
    forms = service(source, Screen())
    forms.accept(("new", "x"), "V0FORM0001", lambda: False, lambda exc: None)
    assert source.created == []


def test_a_stopping_bot_tells_the_submitter_the_form_was_not_saved() -> None:
    pool, failures = Pool(), []
    pool.stopping = True
    forms = service(Source(offer()), Screen(), pool)
    forms.accept(("new", "x"), "V0FORM0001", lambda: True, failures.append)
    assert [type(f) for f in failures] == [Stopping]


def test_checks_that_take_too_long_are_given_up() -> None:
    forms = RequestFormService(
        Source(offer()),  # type: ignore[arg-type]
        Screen(),
        Pool(),
        Unanswered(),
        check_seconds=0.01,
    )
    with pytest.raises(FormNotChecked):
        forms.check(RequestForm(context=CTX, reason="x"), "U0BOB")


def test_only_a_remediation_request_waiting_gets_the_usage_in_its_thread() -> None:
    screen, usage = Screen(), Usage()
    forms = service(Source(offer()), screen, usage=usage)
    forms.request_posted(request(7, state=State.CANCELLED))
    assert screen.shown == [] and usage.asked == []
    forms.request_posted(request(8))
    assert screen.shown == [("thread", "8", ACCOUNT)] and usage.asked == ["account"]
