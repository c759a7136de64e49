"""The root-activity alerts' metrics: how late an alert is posted after the event, and what
became of each queue message (handled, or left for the dead-letter queue). moto's SQS, a real
database, the Slack stand-in; the clock is injected, so the lag is exact."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk import WebClient

from bot.aws.queue import EventQueue
from bot.metrics import PrometheusMetrics
from bot.services.alerts import AlertPoller, AlertService
from bot.slack.alerts import SlackAlerts
from bot.slack.poster import Poster
from bot.store import Store
from bot.store.alerts import AlertStore
from simulator import trail
from simulator.aws import SimulatedAws
from simulator.slack import SlackStandin

EVENT_AT = datetime(2026, 11, 30, 10, 42, tzinfo=UTC)
NEW_KEY = "AKIAI44QH8DHBEXAMPLE"


@pytest.fixture
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token="xoxb-test") as standin:
        yield standin


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    opened = Store.open(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield AlertStore(opened.engine)
    opened.close()


def samples(metrics: PrometheusMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, _ = metrics.exposition()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def test_alert_lag_and_queue_outcomes_are_measured(
    aws: SimulatedAws, store: AlertStore, slack: SlackStandin
) -> None:
    url = aws.client("sqs").create_queue(QueueName="rootkey-events")["QueueUrl"]
    for body in (trail.body(trail.key_created(NEW_KEY, at=EVENT_AT)), "not an event"):
        aws.client("sqs").send_message(QueueUrl=url, MessageBody=body)
    metrics = PrometheusMetrics()
    client = WebClient(token="xoxb-test", base_url=slack.base_url + "/")
    service = AlertService(
        store,
        SlackAlerts(Poster(client, base_delay=0.01), "C0ALERTS01", ZoneInfo("UTC")),
        now=lambda: EVENT_AT + timedelta(seconds=42),  # posted 42 s after the event
        metrics=metrics,
    )
    queue = EventQueue(url, region="us-east-1", session_factory=aws.session, wait_seconds=1)
    poller = AlertPoller(service, queue)

    received = 0
    while received < 2:  # SQS may hand the two messages out in two receives
        received += poller.poll_once()

    found = samples(metrics)
    key = frozenset({("activity", "created")})
    assert found[("rootkey_alert_lag_seconds_count", key)] == 1
    assert found[("rootkey_alert_lag_seconds_sum", key)] == 42.0
    assert found[("rootkey_alert_lag_seconds_bucket", key | {("le", "30.0")})] == 0
    assert found[("rootkey_alert_lag_seconds_bucket", key | {("le", "60.0")})] == 1
    assert found[("rootkey_queue_messages_total", frozenset({("outcome", "received")}))] == 2
    assert found[("rootkey_queue_messages_total", frozenset({("outcome", "handled")}))] == 1
    assert found[("rootkey_queue_messages_total", frozenset({("outcome", "dead_lettered")}))] == 1
