"""After root deleted a key: the re-audit of a tracked request runs once, ``delay`` after the
deletion by the bot's clock (a ``ManualClock`` the test moves; the runtime's scheduler runs the
job), never at once and never for a request that is not tracked; the deletion's note goes to
the threads of the account's open requests that it did not reach already."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.events.models import Activity, ApiCall, RootActivity
from bot.remediation.models import Request
from bot.remediation.states import Kind, State
from bot.runtime import Runtime
from bot.services.alert_followup import DeletionFollowUp
from bot.services.ports import Placed
from simulator.clock import ManualClock
from simulator.fake_services import NOW, request

DELAY = timedelta(seconds=5)
ACCOUNT = request().account_id
FINDING = Placed(request().where.place, str(request().where.replies_under))


class Requests:
    """The store's open requests (``RequestFinder``)."""

    def __init__(self, *found: Request) -> None:
        self.found = list(found)

    def find(
        self,
        states: Iterable[State] | None = None,
        kind: Kind | None = None,
        account_id: str | None = None,
    ) -> list[Request]:
        wanted = set(states) if states is not None else None
        return [
            r
            for r in self.found
            if (wanted is None or r.state in wanted) and (kind is None or r.kind is kind)
        ]


def deleted(account: str = ACCOUNT) -> RootActivity:
    call = ApiCall("event-1", "AWS API Call via CloudTrail", account, NOW, "us-east-1")
    return RootActivity(Activity.KEY_DELETED, call, "AKIAIOSFODNN7EXAMPLE")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def runtime(clock: ManualClock) -> Iterator[Runtime]:
    runtime = Runtime(clock)
    runtime.start()
    yield runtime
    runtime.stop()


def follow_up(runtime: Runtime, *found: Request) -> tuple[DeletionFollowUp, list[int]]:
    """The follow-up over ``found``, and the ids of the requests it re-audited, in order."""
    rechecked: list[int] = []
    made = DeletionFollowUp(
        Requests(*found), lambda req: rechecked.append(req.id), runtime.scheduler, delay=DELAY
    )
    return made, rechecked


def test_a_tracked_request_is_re_audited_once_the_delay_has_passed(
    clock: ManualClock, runtime: Runtime
) -> None:
    tracked = replace(request(3), state=State.TRACKING)
    follow, rechecked = follow_up(runtime, tracked)

    assert follow(deleted(), []) == [FINDING]
    assert runtime.settle()
    assert rechecked == []  # not at once: IAM's summary may lag the deletion
    clock.advance(DELAY - timedelta(seconds=1))
    assert runtime.settle()
    assert rechecked == []
    clock.advance(timedelta(seconds=1))
    assert runtime.settle()
    assert rechecked == [3]
    clock.advance(timedelta(hours=1))
    assert runtime.settle()
    assert rechecked == [3]  # once


def test_a_request_not_tracked_gets_the_note_and_no_re_audit(
    clock: ManualClock, runtime: Runtime
) -> None:
    waiting = request(4)  # requested: nobody approved it yet
    other_account = replace(request(5), state=State.TRACKING, account_id="210987654321")
    follow, rechecked = follow_up(runtime, waiting, other_account)

    assert follow(deleted(), []) == [FINDING]
    clock.advance(DELAY + timedelta(minutes=1))
    assert runtime.settle()
    assert rechecked == []


def test_a_thread_the_deletion_was_noted_in_already_is_not_noted_again(
    clock: ManualClock, runtime: Runtime
) -> None:
    tracked = replace(request(3), state=State.DEACTIVATED)
    follow, rechecked = follow_up(runtime, tracked)

    assert follow(deleted(), [FINDING]) == []
    clock.advance(DELAY)
    assert runtime.settle()
    assert rechecked == [3]  # the re-audit does not depend on where the note went


def test_a_failing_re_audit_is_logged_and_the_scheduler_goes_on(
    clock: ManualClock, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = (replace(request(n), state=State.TRACKING) for n in (3, 8))
    done: list[int] = []

    def recheck(req: Request) -> None:
        if req.id == 3:
            raise RuntimeError("AWS said no")
        done.append(req.id)

    follow = DeletionFollowUp(Requests(first, second), recheck, runtime.scheduler, delay=DELAY)
    follow(deleted(), [])
    clock.advance(DELAY)
    assert runtime.settle()
    assert done == [8]
    assert "re-audit of request #3 after a root deletion failed" in caplog.text
