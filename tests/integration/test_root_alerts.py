"""Root-activity alerts end to end below the bot: moto's SQS, a real database, the Slack
stand-in through the poster.

At-least-once delivery is attacked from every side: the same event sent twice, two consumers
on one queue, a consumer that dies before handling (redelivery after the visibility timeout),
one that dies between posting and deleting, and one that dies between posting and recording
the post. Each root event is posted exactly once; a non-root event is posted never; a body that
is not an event stays on the queue until its redrive policy moves it to the dead-letter queue.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from sqlalchemy import text

from bot.audit.models import KeySlot, Status
from bot.aws.queue import EventQueue
from bot.remediation.keys import KeyPrint, coverage
from bot.remediation.models import Conversation, Request
from bot.remediation.states import Kind, State
from bot.runtime import Runtime
from bot.services.alert_followup import DeletionFollowUp
from bot.services.alerts import AlertPoller, AlertService, Placed
from bot.slack.alerts import SlackAlerts
from bot.slack.poster import Poster
from bot.store import Store
from bot.store.alerts import AlertStore
from simulator import trail
from simulator.aws import SimulatedAws
from simulator.slack import SlackStandin
from tests.support.database import BACKENDS, database
from tests.support.signing import FINDING_MESSAGE
from tests.support.waiting import wait_until

VISIBILITY = 1  # seconds: the queue's visibility timeout
CHANNEL = "C0ALERTS01"
ACCOUNT = "111111111111"
OTHER_KEY = "AKIAI44QH8DHBEXAMPLE"


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token="xoxb-test", earlier=[FINDING_MESSAGE]) as standin:
        yield standin


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AlertStore]:
    with database(request.param, tmp_path) as url:
        opened = Store.open(url)
        yield AlertStore(opened.engine)
        opened.close()


@pytest.fixture
def queues(aws: SimulatedAws) -> tuple[str, str]:
    """A queue (visibility timeout 1 s) whose redrive policy moves a message received three
    times to its dead-letter queue; (queue url, dead-letter queue url)."""
    sqs = sqs_client(aws)
    dead = sqs.create_queue(QueueName="rootkey-events-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName="rootkey-events",
        Attributes={
            "VisibilityTimeout": str(VISIBILITY),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 3}),
        },
    )["QueueUrl"]
    return url, dead


def consumer(
    aws: SimulatedAws,
    url: str,
    store: AlertStore,
    slack: SlackStandin,
    *,
    wait: int = 0,
    lease: timedelta = timedelta(minutes=2),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[AlertPoller, AlertService]:
    client = WebClient(token="xoxb-test", base_url=slack.base_url + "/")
    notifier = SlackAlerts(Poster(client, base_delay=0.01), CHANNEL, ZoneInfo("UTC"))
    service = AlertService(
        store, notifier, lease=lease, account_name=lambda _: "Payments prod", now=now
    )
    queue = EventQueue(url, region="us-east-1", session_factory=aws.session, wait_seconds=wait)
    return AlertPoller(service, queue), service


def poll(poller: AlertPoller, aws: SimulatedAws) -> int:
    """One poll, as a long poll of the visibility timeout would be: a short poll, and when it
    receives nothing, that much of SQS's clock passes (a message in flight comes back by the
    next poll) instead of the test waiting for it. The number received."""
    received = poller.poll_once()
    if not received:
        aws.advance_sqs(VISIBILITY)
    return received


CLIENTS: dict[str, Any] = {}


def sqs_client(aws: SimulatedAws) -> Any:
    """The test's own SQS client, one per simulated AWS (building one costs a tenth of a
    second: the tests read the queue's depth after every poll)."""
    if aws.endpoint_url not in CLIENTS:
        CLIENTS[aws.endpoint_url] = aws.client("sqs")
    return CLIENTS[aws.endpoint_url]


def send(aws: SimulatedAws, url: str, *bodies: str) -> None:
    sqs = sqs_client(aws)
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)


def depth(aws: SimulatedAws, url: str) -> int:
    """Messages on the queue, visible or in flight."""
    attributes = sqs_client(aws).get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def alerts(slack: SlackStandin) -> list[Any]:
    return [m for m in slack.messages(CHANNEL) if not m.thread_ts]


def visible(aws: SimulatedAws, url: str) -> int:
    """Messages on the queue that a receive would return now."""
    attributes = sqs_client(aws).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def drain(
    poller: AlertPoller, aws: SimulatedAws, url: str, *, alone: bool = True, timeout: float = 20.0
) -> None:
    """Poll until the queue is empty. Alone, each poll is ``poll``'s; beside other consumers
    (in threads) SQS's clock is left to the real time, and a poll that receives nothing waits
    for the messages the others hold: deleted, or visible again after the timeout."""
    deadline = time.monotonic() + timeout
    while depth(aws, url) and time.monotonic() < deadline:
        if alone:
            poll(poller, aws)
        elif not poller.poll_once():
            wait_until(
                lambda: visible(aws, url) or not depth(aws, url),
                timeout=max(deadline - time.monotonic(), 0.1),
                what="the other consumer's messages deleted or visible again",
            )


def button_ids(message: Any) -> list[str]:
    return [
        element["action_id"]
        for block in message.args["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def text_of(message: Any) -> str:
    return json.dumps(message.args["blocks"], ensure_ascii=False)


@pytest.fixture(autouse=True)
def clean_slack(slack: SlackStandin) -> None:
    slack.reset()


def test_a_root_key_created_is_alerted_once_with_both_buttons(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    poller, service = consumer(aws, url, store, slack)
    body = trail.body(trail.key_created(OTHER_KEY, ip="198.51.100.20"))
    send(aws, url, body, body)  # delivered twice
    drain(poller, aws, url)
    (alert,) = alerts(slack)
    assert button_ids(alert) == ["rootkey_request_remediation", "rootkey_rerun"]
    shown = text_of(alert)
    assert "Root access key created" in shown
    assert "AKIA************MPLE" in shown and OTHER_KEY not in shown
    assert "198.51.100.20" in shown and ACCOUNT in shown and "Payments prod" in shown
    assert service.counts["duplicate"] == 1
    assert depth(aws, url) == 0


def test_a_non_root_event_posts_nothing_and_is_deleted(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    poller, service = consumer(aws, url, store, slack)
    send(
        aws,
        url,
        trail.body(trail.key_created(OTHER_KEY, kind="IAMUser")),
        trail.body(trail.key_used("s3:ListBuckets", key="ASIAIOSFODNN7EXAMPLE")),
        trail.sns_body(trail.body(trail.key_updated(OTHER_KEY, "Inactive", key=None))),
    )
    drain(poller, aws, url)
    assert alerts(slack) == []
    assert service.counts["ignored"] == 3
    assert depth(aws, url) == 0


def test_sns_wrapped_event_is_alerted(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    poller, _ = consumer(aws, url, store, slack)
    send(aws, url, trail.sns_body(trail.body(trail.key_updated(OTHER_KEY, "Active"))))
    drain(poller, aws, url)
    (alert,) = alerts(slack)
    assert "Root access key reactivated" in text_of(alert)


def test_hostile_text_in_the_event_is_inert(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    poller, _ = consumer(aws, url, store, slack)
    agent = "<!channel> <@U0EVIL0001> <https://evil.example|click> @here"
    send(aws, url, trail.body(trail.key_created(OTHER_KEY, agent=agent, ip="<!here>")))
    drain(poller, aws, url)
    (alert,) = alerts(slack)
    shown = text_of(alert) + alert.args["text"]
    for live in ("<!channel>", "<@U0EVIL0001>", "<https://evil.example", "<!here>", "@here"):
        assert live not in shown
    assert "&lt;!channel&gt;" in shown


def test_two_consumers_on_one_queue_post_each_event_once(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    events = [trail.body(trail.key_created(f"AKIAEXAMPLE{i:09d}")) for i in range(12)]
    send(aws, url, *events, *events[:6])  # half of them delivered twice
    pollers = [consumer(aws, url, store, slack)[0] for _ in range(2)]
    threads = [
        threading.Thread(target=drain, args=(p, aws, url), kwargs={"alone": False}) for p in pollers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    posted = alerts(slack)
    keys = sorted(m.args["text"].rsplit(" ", 1)[-1] for m in posted)
    assert len(posted) == 12 and len(set(keys)) == 12
    assert depth(aws, url) == 0


def test_a_consumer_that_died_before_handling_leaves_the_event_to_the_next(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    send(aws, url, trail.body(trail.key_created(OTHER_KEY)))
    dead = EventQueue(url, region="us-east-1", session_factory=aws.session, wait_seconds=0)
    assert len(dead.receive()) == 1  # received, then the process died: nothing deleted
    poller, _ = consumer(aws, url, store, slack)
    drain(poller, aws, url)  # visible again after the visibility timeout (SQS's clock)
    assert len(alerts(slack)) == 1
    assert depth(aws, url) == 0


def test_a_crash_between_post_and_delete_posts_nothing_twice(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    send(aws, url, trail.body(trail.key_created(OTHER_KEY)))
    first, first_service = consumer(aws, url, store, slack)
    (message,) = first.queue.receive()
    assert first_service.handle(message)  # posted and recorded; the process dies before delete
    assert len(alerts(slack)) == 1
    second, second_service = consumer(aws, url, store, slack)
    drain(second, aws, url)
    assert len(alerts(slack)) == 1
    assert second_service.counts["duplicate"] == 1
    assert depth(aws, url) == 0


class DiesAfterPosting:
    """A notifier that posts, then the process dies before the post is recorded."""

    def __init__(self, inner: SlackAlerts) -> None:
        self.inner = inner

    def key_alert(self, *args: Any, **kwargs: Any) -> Placed | None:
        self.inner.key_alert(*args, **kwargs)
        raise SystemExit("killed")


def test_a_crash_between_post_and_record_posts_nothing_twice(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    send(aws, url, trail.body(trail.key_created(OTHER_KEY)))
    first, first_service = consumer(aws, url, store, slack, lease=timedelta(0))
    first_service.notifier = DiesAfterPosting(first_service.notifier)  # type: ignore[arg-type,assignment]
    (message,) = first.queue.receive()
    with pytest.raises(SystemExit):
        first_service.handle(message)
    assert len(alerts(slack)) == 1
    second, _ = consumer(aws, url, store, slack, lease=timedelta(0))
    drain(second, aws, url)  # the claim is stale: taken over, the earlier post found
    assert len(alerts(slack)) == 1
    assert depth(aws, url) == 0


def test_a_body_that_is_not_an_event_stays_for_the_dead_letter_queue_and_is_logged_once(
    aws: SimulatedAws,
    queues: tuple[str, str],
    store: AlertStore,
    slack: SlackStandin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, dead = queues
    poller, service = consumer(aws, url, store, slack)
    send(aws, url, "this is not an event")
    caplog.set_level(logging.WARNING, logger="bot.services.alerts")
    drain(poller, aws, url)  # received again after each visibility timeout, then moved
    assert depth(aws, dead) == 1  # moved by the redrive policy, never deleted by rootkey
    assert service.counts["not_an_event"] >= 2  # received again after each visibility timeout
    logged = [r for r in caplog.records if "not an EventBridge event" in r.getMessage()]
    assert len(logged) == 1
    assert alerts(slack) == []


def test_uses_of_one_key_fold_into_one_message_updated_in_place(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    start = start.replace(minute=start.minute - start.minute % 10)
    uses = [
        trail.body(trail.key_used(action, at=start + timedelta(seconds=i)))
        for i, action in enumerate(["s3:ListBuckets"] * 9 + ["iam:ListUsers"] * 5)
    ]
    later = trail.body(trail.key_used("s3:ListBuckets", at=start + timedelta(minutes=10)))
    send(aws, url, *uses, uses[0], later)  # one duplicate; one use in the next window
    pollers = [consumer(aws, url, store, slack)[0] for _ in range(2)]
    threads = [
        threading.Thread(target=drain, args=(p, aws, url), kwargs={"alone": False}) for p in pollers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    posted = alerts(slack)
    assert len(posted) == 2  # one per window
    folded = next(m for m in posted if "14 times" in text_of(m))
    shown = text_of(folded)
    assert "s3:ListBuckets ×9" in shown and "iam:ListUsers ×5" in shown
    assert f"since {start:%H:%M}" in shown
    assert button_ids(folded) == ["rootkey_request_remediation", "rootkey_rerun"]


def test_a_root_deletion_is_noted_in_the_thread_of_the_keys_alert(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    poller, service = consumer(aws, url, store, slack)
    deleted: list[str] = []
    service.on_key_deleted = lambda activity, threads: deleted.append(activity.account_id)
    send(aws, url, trail.body(trail.key_created(OTHER_KEY)))
    drain(poller, aws, url)
    (alert,) = alerts(slack)
    send(aws, url, trail.body(trail.key_deleted(OTHER_KEY, key=None)))
    drain(poller, aws, url)
    notes = [m for m in slack.messages(CHANNEL) if m.thread_ts == alert.ts]
    assert len(notes) == 1 and "deleted access key AKIA************MPLE" in notes[0].args["text"]
    assert deleted == [ACCOUNT]


class Clock:
    """The service's clock: the real time, moved on by the test (past a retry pause)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


def poll_until(
    poller: AlertPoller, aws: SimulatedAws, done: Callable[[], object], timeout: float = 20.0
) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        poll(poller, aws)


def test_a_key_created_while_slack_refuses_past_the_redrive_limit_is_posted_once_it_is_back(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    """The attack: Slack refuses every post for longer than the queue redelivers a message
    (here 3 receives, 1 s apart; in deploy/, 5), while root creates a key in one account and
    reactivates one in another. The events leave the queue at once, none for the dead-letter
    queue, and both keys are recorded as changes before any post (an accepted risk stops
    covering them meanwhile); once Slack takes posts again each alert is posted, once."""
    url, dead = queues
    clock = Clock()
    poller, service = consumer(aws, url, store, slack, now=clock)
    slack.fail("chat.postMessage", "account_inactive", times=10_000)  # a long outage
    other = "222222222222"
    send(
        aws,
        url,
        trail.body(trail.key_created(OTHER_KEY)),
        trail.body(trail.key_updated(OTHER_KEY, "Active", account_id=other)),
    )
    poll_until(poller, aws, lambda: depth(aws, url) == 0)
    for _ in range(3):  # as long again as the queue would have redelivered them
        poll(poller, aws)
    assert alerts(slack) == [] and service.counts["undelivered"] >= 2
    changes = store.key_changes()  # recorded before any post
    assert {a: c.activity for a, c in changes.items()} == {
        ACCOUNT: "created",
        other: "reactivated",
    }
    slack.stop_failing("chat.postMessage")  # Slack is back
    clock.ahead += timedelta(minutes=1)  # past the pause between two tries
    poll_until(poller, aws, lambda: len(alerts(slack)) >= 2)
    for _ in range(3):
        poll(poller, aws)
    clock.ahead += timedelta(minutes=5)  # past any claim's lease: nothing is posted twice
    for _ in range(3):
        poll(poller, aws)
    shown = sorted(text_of(m) for m in alerts(slack))
    assert len(shown) == 2
    assert "Root access key created" in shown[0] and ACCOUNT in shown[0]
    assert "Root access key reactivated" in shown[1] and other in shown[1]
    assert depth(aws, url) == 0 and depth(aws, dead) == 0


def test_a_deletion_noted_while_slack_refuses_is_noted_once_it_is_back(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    """The attack: root deletes the key of a posted alert while Slack refuses every post for
    longer than the queue redelivers a message. The note is posted in the alert's thread once
    Slack takes posts again, once."""
    url, dead = queues
    clock = Clock()
    poller, _ = consumer(aws, url, store, slack, now=clock)
    send(aws, url, trail.body(trail.key_created(OTHER_KEY)))
    drain(poller, aws, url)
    (alert,) = alerts(slack)
    slack.fail("chat.postMessage", "account_inactive", times=10_000)

    def notes() -> list[Any]:
        return [m for m in slack.messages(CHANNEL) if m.thread_ts == alert.ts]

    send(aws, url, trail.body(trail.key_deleted(OTHER_KEY, key=None)))
    poll_until(poller, aws, lambda: depth(aws, url) == 0)
    for _ in range(3):
        poll(poller, aws)
    assert notes() == []
    slack.stop_failing("chat.postMessage")
    clock.ahead += timedelta(minutes=1)
    poll_until(poller, aws, notes)
    clock.ahead += timedelta(minutes=5)
    for _ in range(3):
        poll(poller, aws)
    (note,) = notes()
    assert "deleted access key AKIA************MPLE" in note.args["text"]
    assert len(alerts(slack)) == 1 and depth(aws, dead) == 0


def test_old_handled_events_and_alerts_are_pruned_and_recent_ones_kept(
    store: AlertStore, slack: SlackStandin
) -> None:
    from bot.aws.queue import Received

    clock = [datetime(2026, 11, 1, 9, 0, tzinfo=UTC)]
    client = WebClient(token="xoxb-test", base_url=slack.base_url + "/")
    notifier = SlackAlerts(Poster(client, base_delay=0.01), CHANNEL, ZoneInfo("UTC"))
    service = AlertService(store, notifier, now=lambda: clock[0])

    class NoQueue:
        def delete(self, messages: Any) -> list[str]:
            return []

    old = trail.key_created(OTHER_KEY, at=clock[0])
    assert service.handle(Received("m1", "r1", trail.body(old), 1))
    clock[0] += timedelta(days=16)
    fresh = trail.key_created(trail.ROOT_KEY, at=clock[0])
    assert service.handle(Received("m2", "r2", trail.body(fresh), 1))
    service.handle_batch(NoQueue(), [])  # the first batch of the process prunes
    with store.engine.connect() as conn:
        events = conn.exec_driver_sql("SELECT event_id FROM root_events").scalars().all()
    assert events == [fresh["detail"]["eventID"]]  # the 16-day-old event is forgotten
    assert [a.key_id for a in store.posted_since(clock[0] - timedelta(days=30))] == [
        trail.ROOT_KEY,
        OTHER_KEY,
    ]  # alerts are kept 90 days (what used a key looks that far back)


def test_a_window_slack_refused_is_posted_by_its_next_use(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    poller, service = consumer(aws, url, store, slack)
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    start = start.replace(minute=start.minute - start.minute % 10)
    slack.refuse_channel(CHANNEL, "channel_not_found")
    send(aws, url, trail.body(trail.key_used("s3:ListBuckets", at=start)))
    drain(poller, aws, url)  # counted, but its message could not be posted
    assert service.counts["undelivered"] >= 1 and alerts(slack) == []
    slack.reset()
    send(aws, url, trail.body(trail.key_used("iam:ListUsers", at=start + timedelta(seconds=5))))
    drain(poller, aws, url)
    (alert,) = alerts(slack)
    final = next(m for m in slack.messages(CHANNEL) if m.ts == alert.ts)
    assert "used 2 times" in text_of(final)


def poison(at: datetime) -> str:
    """A root call whose ``eventTime`` and ``time`` are year 1 at +01:00: before year 1 in UTC
    (``OverflowError`` when converted)."""
    event = trail.key_used("s3:ListBuckets", at=at)
    stamp = "0001-01-01T00:00:00+01:00"
    return json.dumps({**event, "time": stamp, "detail": {**event["detail"], "eventTime": stamp}})


def test_a_poison_message_holds_back_nothing_and_a_new_key_under_an_accepted_risk_is_shown(
    aws: SimulatedAws,
    queues: tuple[str, str],
    store: AlertStore,
    slack: SlackStandin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The attack: an event no parser can place in time, received in the same batch as a real
    root CreateAccessKey, in an account whose only key is under an accepted risk. The alert is
    posted from that very batch and the account's accepted risk stops covering it; the poison
    alone stays for the dead-letter queue, logged once."""
    url, dead = queues
    report_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    old = report_at - timedelta(days=700)
    accepted = (KeyPrint(created=old, active=True, slot=1),)
    audited = (KeySlot(slot=1, active=True, last_rotated=old),)  # the report shows the old key
    assert coverage(Status.NONCOMPLIANT, audited, accepted, report_at=report_at).covered

    poller, service = consumer(aws, url, store, slack)
    send(aws, url, poison(report_at), trail.body(trail.key_created(OTHER_KEY)))
    received = poller.queue.receive()
    deadline = time.monotonic() + 20
    while len(received) < 2 and time.monotonic() < deadline:
        received += poller.queue.receive()
    assert len(received) == 2
    received.sort(key=lambda m: "0001-01-01" not in m.body)  # the poison first in its batch
    caplog.set_level(logging.WARNING, logger="bot.services.alerts")
    service.handle_batch(poller.queue, received)

    (alert,) = alerts(slack)
    assert "Root access key created" in text_of(alert)
    change = store.key_changes().get(ACCOUNT)
    assert change is not None
    shown = coverage(Status.NONCOMPLIANT, audited, accepted, change=change, report_at=report_at)
    assert not shown.covered and "after the credential report" in shown.why
    assert depth(aws, url) == 1  # the poison alone is left, for the dead-letter queue
    drain(poller, aws, url)
    assert depth(aws, dead) == 1
    logged = [r for r in caplog.records if "not an EventBridge event" in r.getMessage()]
    assert len(logged) == 1 and "eventTime" in logged[0].getMessage()
    assert len(alerts(slack)) == 1


class FailsFor:
    """A notifier that fails in an unforeseen way for one account's alerts."""

    def __init__(self, inner: SlackAlerts, account: str) -> None:
        self.inner = inner
        self.account = account

    def key_alert(self, activity: Any, *args: Any, **kwargs: Any) -> Placed | None:
        if activity.account_id == self.account:
            raise ValueError("an unforeseen failure")
        return self.inner.key_alert(activity, *args, **kwargs)


def test_an_unforeseen_failure_on_one_message_leaves_the_rest_of_the_batch_handled(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    poller, service = consumer(aws, url, store, slack)
    service.notifier = FailsFor(service.notifier, "222222222222")  # type: ignore[arg-type,assignment]
    send(
        aws,
        url,
        trail.body(trail.key_created(OTHER_KEY, account_id="222222222222")),
        trail.body(trail.key_created(OTHER_KEY)),
    )
    received = poller.queue.receive()
    deadline = time.monotonic() + 20
    while len(received) < 2 and time.monotonic() < deadline:
        received += poller.queue.receive()
    received.sort(key=lambda m: "222222222222" not in m.body)  # the failing one first
    service.handle_batch(poller.queue, received)
    (alert,) = alerts(slack)
    assert ACCOUNT in text_of(alert)
    assert service.counts["failed"] == 1
    assert depth(aws, url) == 1  # the failed one stays: redelivered, then dead-lettered


def test_a_root_key_created_with_an_unreadable_key_id_is_alerted_and_counts_as_a_change(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    """A root CreateAccessKey whose new key id is no key id (``1111``, as a public detection
    rule's test log has it redacted) is alerted as a created key, "key id not readable"."""
    url, _ = queues
    poller, _ = consumer(aws, url, store, slack)
    event = trail.key_created("1111", key="ASIAIOSFODNN7EXAMPLE")  # the console's session
    send(aws, url, trail.body(event))
    drain(poller, aws, url)
    (alert,) = alerts(slack)
    shown = text_of(alert) + alert.args["text"]
    assert "Root access key created" in shown and "Key (key id not readable)" in shown
    change = store.key_changes().get(ACCOUNT)
    assert change is not None and change.activity == "created"
    assert depth(aws, url) == 0


def test_a_use_slack_refused_once_is_posted_once_when_slack_takes_posts_again(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    """The attack: Slack refuses the one post of a root key's use, and no other use of that key
    follows. The use is counted and its message leaves the queue (the window waits in the
    store, durably, for its post); once Slack takes posts again the alert is posted, once."""
    url, _ = queues
    poller, service = consumer(aws, url, store, slack)
    slack.fail("chat.postMessage", "account_inactive")  # refused once, then Slack is back
    send(aws, url, trail.body(trail.key_used("s3:ListBuckets")))
    deadline = time.monotonic() + 20
    while service.counts["undelivered"] == 0 and time.monotonic() < deadline:
        poll(poller, aws)
    assert service.counts["undelivered"] >= 1
    deadline = time.monotonic() + 20
    while not alerts(slack) and time.monotonic() < deadline:
        poll(poller, aws)  # nothing more on the queue: the next polls post it
    (alert,) = alerts(slack)
    assert "Root access key used: s3:ListBuckets" in text_of(alert)
    for _ in range(3):
        poll(poller, aws)
    assert len(alerts(slack)) == 1
    assert depth(aws, url) == 0


class DiesBeforePostingUses:
    """A notifier whose process dies once a use is counted, before its window is posted."""

    def __init__(self, inner: SlackAlerts) -> None:
        self.inner = inner

    def uses_opened(self, *args: Any, **kwargs: Any) -> Placed | None:
        raise SystemExit("killed")


def test_a_use_counted_by_a_process_that_died_before_posting_is_posted_once_by_another(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    url, _ = queues
    send(aws, url, trail.body(trail.key_used("iam:ListUsers")))
    first, first_service = consumer(aws, url, store, slack, lease=timedelta(0))
    first_service.notifier = DiesBeforePostingUses(first_service.notifier)  # type: ignore[arg-type,assignment]
    (message,) = first.queue.receive()
    with pytest.raises(SystemExit):
        first_service.handle(message)  # counted and done in the store; nothing posted
    second, _ = consumer(aws, url, store, slack, lease=timedelta(0))
    deadline = time.monotonic() + 20
    while not alerts(slack) and time.monotonic() < deadline:
        poll(second, aws)
    (alert,) = alerts(slack)
    assert "Root access key used: iam:ListUsers" in text_of(alert)
    for _ in range(3):
        poll(second, aws)
    assert len(alerts(slack)) == 1
    assert depth(aws, url) == 0


def test_a_note_whose_alert_was_deleted_in_slack_holds_back_no_later_alert(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    """The attack: someone (or a retention policy) deletes a root key's alert in Slack, then root
    deletes the key, so its note's thread is gone for ever (``thread_not_found``); meanwhile a
    short Slack outage refuses the alert of a key root creates in another account, whose queue
    message has already left. The note is posted in the alert channel saying its alert is gone,
    once, and the new key's alert is posted once Slack is back."""
    url, dead = queues
    clock = Clock()
    poller, _ = consumer(aws, url, store, slack, now=clock)
    send(aws, url, trail.body(trail.key_created(OTHER_KEY)))
    drain(poller, aws, url)
    (first,) = alerts(slack)
    slack.workspace.delete(CHANNEL, first.ts)
    send(aws, url, trail.body(trail.key_deleted(OTHER_KEY, key=None)))
    drain(poller, aws, url)
    slack.fail("chat.postMessage", "account_inactive", times=10_000)  # a short outage
    other = "222222222222"
    send(aws, url, trail.body(trail.key_created("AKIAIOSFODNN7EXAMPLE", account_id=other)))
    poll_until(poller, aws, lambda: depth(aws, url) == 0)
    slack.stop_failing("chat.postMessage")
    for _ in range(6):  # Slack is back; polls past any pause between two tries, and any lease
        clock.ahead += timedelta(minutes=5)
        poll(poller, aws)
    created = [m for m in alerts(slack) if other in text_of(m)]
    assert len(created) == 1 and "Root access key created" in text_of(created[0])
    notes = [m for m in alerts(slack) if "deleted access key AKIA************MPLE" in text_of(m)]
    assert len(notes) == 1 and "no longer in Slack" in notes[0].args["text"]
    assert depth(aws, url) == 0 and depth(aws, dead) == 0


class RefusesFor:
    """A notifier whose posts Slack refuses for ever for one account's key alerts."""

    def __init__(self, inner: SlackAlerts, account: str) -> None:
        self.inner = inner
        self.account = account
        self.refused = 0

    def key_alert(self, activity: Any, *args: Any, **kwargs: Any) -> Placed | None:
        if activity.account_id == self.account:
            self.refused += 1
            return None
        return self.inner.key_alert(activity, *args, **kwargs)


def test_alerts_slack_refuses_for_ever_hold_back_no_later_alert(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    """The attack: a dozen alerts Slack refuses on every try (more than one retry pass took),
    then a short outage refuses a new key's alert whose queue message has left. The new alert
    is posted once Slack is back, and the alerts refused for ever are tried again less and less
    often, never on every poll."""
    url, _ = queues
    clock = Clock()
    poller, service = consumer(aws, url, store, slack, now=clock)
    refusing = RefusesFor(service.notifier, "333333333333")  # type: ignore[arg-type]
    service.notifier = refusing  # type: ignore[assignment]
    keys = [f"AKIAEXAMPLE{i:09d}" for i in range(12)]
    send(aws, url, *(trail.body(trail.key_created(k, account_id="333333333333")) for k in keys))
    poll_until(poller, aws, lambda: depth(aws, url) == 0)
    slack.fail("chat.postMessage", "account_inactive", times=10_000)
    send(aws, url, trail.body(trail.key_created(OTHER_KEY)))
    poll_until(poller, aws, lambda: depth(aws, url) == 0)
    slack.stop_failing("chat.postMessage")
    for _ in range(4):
        clock.ahead += timedelta(minutes=1)
        poll(poller, aws)
    (alert,) = alerts(slack)
    assert "Root access key created" in text_of(alert) and ACCOUNT in text_of(alert)
    tried = refusing.refused
    for _ in range(3):  # no time passes: none of them is due again yet
        poll(poller, aws)
    assert refusing.refused == tried


def test_an_alert_never_posted_is_never_pruned_silently(
    store: AlertStore, slack: SlackStandin, caplog: pytest.LogCaptureFixture
) -> None:
    """The attack: the alert channel refuses every post for longer than alerts are kept (90
    days). A created key's alert is kept until it is posted, and posted once the channel takes
    posts; an unposted window of uses, forgotten with the other old alerts, is logged as an
    error and counted."""
    from bot.aws.queue import Received

    clock = [datetime(2026, 11, 1, 9, 0, tzinfo=UTC)]
    client = WebClient(token="xoxb-test", base_url=slack.base_url + "/")
    notifier = SlackAlerts(Poster(client, base_delay=0.01), CHANNEL, ZoneInfo("UTC"))
    service = AlertService(store, notifier, now=lambda: clock[0])

    class NoQueue:
        def delete(self, messages: Any) -> list[str]:
            return []

    slack.refuse_channel(CHANNEL, "channel_not_found")
    created = trail.key_created(OTHER_KEY, at=clock[0])
    used = trail.key_used("s3:ListBuckets", at=clock[0])
    assert service.handle(Received("m1", "r1", trail.body(created), 1))
    assert service.handle(Received("m2", "r2", trail.body(used), 1))
    assert service.counts["undelivered"] == 2
    clock[0] += timedelta(days=91)
    caplog.set_level(logging.ERROR, logger="bot.services.alerts")
    service.handle_batch(NoQueue(), [])  # the first batch of the process prunes
    slack.reset()  # the channel takes posts again
    service.post_unposted()
    (alert,) = alerts(slack)
    assert "Root access key created" in text_of(alert)
    assert service.counts["unposted_pruned"] == 1
    errors = [r.getMessage() for r in caplog.records if "never posted" in r.getMessage()]
    assert len(errors) == 1 and "used" in errors[0] and ACCOUNT in errors[0]


class OneOpenRequest:
    """The remediation store's view with one open request."""

    def __init__(self, req: Request) -> None:
        self.req = req

    def find(self, states: Any, *, kind: Any = None) -> list[Request]:
        return [self.req]


def test_a_deletion_note_for_an_open_request_slack_refused_is_posted_once_it_is_back(
    aws: SimulatedAws, queues: tuple[str, str], store: AlertStore, slack: SlackStandin
) -> None:
    """The attack: root deletes a key while a remediation request of the account waits in a
    finding's thread, and Slack refuses every post for longer than the queue redelivers a
    message. The note in the request's thread is posted once Slack is back, once."""
    url, dead = queues
    clock = Clock()
    poller, service = consumer(aws, url, store, slack, now=clock)
    channel, thread = FINDING_MESSAGE
    now = datetime.now(UTC)
    req = Request(
        id=7,
        kind=Kind.REMEDIATION,
        account_id=ACCOUNT,
        state=State.REQUESTED,
        requester="U0REQUEST1",
        reason="a root key in use",
        where=Conversation(channel, thread),
        created_at=now,
        expires_at=now + timedelta(days=1),
        state_since=now,
    )
    follow_up = DeletionFollowUp(OneOpenRequest(req), lambda _: None, Runtime().scheduler)
    service.on_key_deleted = follow_up
    slack.fail("chat.postMessage", "account_inactive", times=10_000)

    def notes() -> list[Any]:
        return [m for m in slack.messages(channel) if m.thread_ts == thread]

    send(aws, url, trail.body(trail.key_deleted(OTHER_KEY, key=None)))
    poll_until(poller, aws, lambda: depth(aws, url) == 0)
    for _ in range(3):
        poll(poller, aws)
    assert notes() == []
    slack.stop_failing("chat.postMessage")
    clock.ahead += timedelta(minutes=1)
    poll_until(poller, aws, notes)
    clock.ahead += timedelta(minutes=5)
    for _ in range(3):
        poll(poller, aws)
    (note,) = notes()
    assert "deleted access key AKIA************MPLE" in note.args["text"]
    assert depth(aws, dead) == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_alert_left_unposted_before_the_upgrade_is_due_after_it(
    backend: str, tmp_path: Path
) -> None:
    """Revision 0011 gives each alert its own next try: an alert Slack refused under 0010 (its
    claim given back) is due at once after the upgrade, with no refusal counted."""
    with database(backend, tmp_path) as url:
        old = Store.open(url, migrate=False)
        old.migrate("0010")
        row = {"account": ACCOUNT, "key": OTHER_KEY, "at": datetime(2026, 12, 1, 9, 0)}
        with old.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO root_alerts (activity, account_id, key_id, event_id, first_at, "
                    "last_at, counts, sources, version, created_at) VALUES ('created', :account, "
                    ":key, 'e-1', :at, :at, '{}', '[]', 1, :at)"
                ),
                row,
            )
        old.close()
        opened = Store.open(url)
        alert_store = AlertStore(opened.engine)
        (due,) = alert_store.unposted(datetime.now(UTC), 25)
        assert (due.key_id, due.tries, due.threads) == (OTHER_KEY, 0, ())
        opened.close()
