"""Root-activity alerts through the running bot: events put on moto's SQS queue, the bot
long-polling it, the Slack stand-in recording what it posts. Two replicas are two processes;
the other tests run the bot in the test's process (``InProcessBot``: the same start, wiring
and stop as ``python -m bot``).

No assertion waits for something not to happen: a root event sent after the others marks the
point by which everything before it was read (one queue, handled in order of arrival is not
assumed either: the bot deletes every message it handled, so an empty queue means done).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.remediation.states import State
from bot.slack.action_ids import ActionId
from bot.store.engine import create_store_engine
from bot.store.remediation import RemediationStore
from simulator import trail
from simulator.aws import RootKeySpec, SimulatedAws, days_ago
from simulator.slack import SlackStandin
from tests.e2e.test_slack_home import home_opened, post_event
from tests.support import slackflow
from tests.support.botproc import BotProcess, bot_env
from tests.support.inprocess import InProcessBot
from tests.support.signing import FINDING_MESSAGE
from tests.support.slackflow import filled_form, submit_ok

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-test-token"
ALERTS = "C0ALERTS01"
NEW_KEY = "AKIAI44QH8DHBEXAMPLE"
REQUESTER = "U0ALICE001"
APPROVER = "U0APPROVE1"


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    with SlackStandin(bot_token=BOT_TOKEN, earlier=[FINDING_MESSAGE]) as standin:
        yield standin


@pytest.fixture
def queue(aws: SimulatedAws, slack: SlackStandin) -> str:
    slack.reset()
    sqs = aws.client("sqs")
    return str(sqs.create_queue(QueueName="rootkey-root-activity")["QueueUrl"])


def send(aws: SimulatedAws, url: str, *events: dict[str, Any]) -> None:
    for event in events:
        aws.client("sqs").send_message(QueueUrl=url, MessageBody=trail.body(event))


def alerts(slack: SlackStandin) -> list[Any]:
    return [m for m in slack.messages(ALERTS) if not m.thread_ts]


def shown(message: Any) -> str:
    return json.dumps(message.args["blocks"], ensure_ascii=False)


def queue_empty(aws: SimulatedAws, url: str) -> bool:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(v == "0" for v in attributes.values())


def test_a_root_key_created_is_alerted_once_by_two_replicas_with_both_buttons(
    aws: SimulatedAws, slack: SlackStandin, queue: str, tmp_path: Path
) -> None:
    org = aws.create_organization(members=["payments-prod"])
    account = org.members[0].account_id
    settings = bot_env(
        slack,
        f"sqlite:///{tmp_path / 'rootkey.db'}",
        aws.env(),
        ROOTKEY_EVENTS_QUEUE_URL=queue,
        ROOTKEY_ALERT_CHANNEL=ALERTS,
    )
    with BotProcess(settings) as one, BotProcess(settings) as two:
        created = trail.key_created(NEW_KEY, account_id=account, ip="198.51.100.20")
        send(aws, queue, created, created)  # delivered twice, to whichever replica polls
        send(aws, queue, trail.key_used("s3:ListBuckets", account_id=account, kind="IAMUser"))
        (alert,) = slack.wait_for(lambda: alerts(slack) or None)
        buttons = [
            e["action_id"]
            for b in alert.args["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        ]
        assert buttons == ["rootkey_request_remediation", "rootkey_rerun"]
        assert "Root access key created" in shown(alert)
        assert "AKIA************MPLE" in shown(alert) and NEW_KEY not in shown(alert)
        slack.wait_for(lambda: queue_empty(aws, queue) or None)
        # The queue is empty: the duplicate and the IAM user's call were handled; still one post.
        assert len(alerts(slack)) == 1
        assert "polling the events queue" in one.logs and "polling the events queue" in two.logs

        # The Home tab lists it among the root activity of the last 7 days.
        assert post_event(two, home_opened(REQUESTER)) == 200
        home = slack.wait_for(
            lambda: next(
                (
                    json.dumps(c.args["view"])
                    for c in slack.calls("views.publish")
                    if f"root key created in {account}" in json.dumps(c.args["view"])
                ),
                None,
            )
        )
        assert f"<#{ALERTS}>" in home


def test_a_root_keys_uses_fold_into_one_message(
    aws: SimulatedAws, slack: SlackStandin, queue: str, tmp_path: Path
) -> None:
    account = "111111111111"
    settings = bot_env(
        slack,
        f"sqlite:///{tmp_path / 'rootkey.db'}",
        aws.env(),
        ROOTKEY_EVENTS_QUEUE_URL=queue,
        ROOTKEY_DIGEST_CHANNEL=ALERTS,  # the default channel
    )
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    start = start.replace(minute=start.minute - start.minute % 10)
    with InProcessBot(settings):
        uses = [
            trail.key_used(action, account_id=account, at=start + timedelta(seconds=i))
            for i, action in enumerate(["s3:ListBuckets"] * 3 + ["iam:ListUsers"] * 2)
        ]
        send(aws, queue, *uses)
        slack.wait_for(lambda: queue_empty(aws, queue) or None)
        (alert,) = alerts(slack)

        def folded() -> str | None:
            text = shown(next(m for m in slack.messages(ALERTS) if m.ts == alert.ts))
            return text if "used 5 times" in text else None

        text = slack.wait_for(folded)
        assert "s3:ListBuckets ×3" in text and "iam:ListUsers ×2" in text


def test_without_a_channel_the_bot_says_alerts_are_off(
    aws: SimulatedAws, slack: SlackStandin, queue: str, tmp_path: Path
) -> None:
    settings = bot_env(
        slack, f"sqlite:///{tmp_path / 'rootkey.db'}", aws.env(), ROOTKEY_EVENTS_QUEUE_URL=queue
    )
    with InProcessBot(settings) as bot:
        slack.wait_for(lambda: "alerts are off" in bot.logs or None)


def click(
    bot: BotProcess | InProcessBot, slack: SlackStandin, action: str, value: str, user: str, ts: str
) -> None:
    """A click on a button of an alert (in the alert channel)."""
    reply = slackflow.click(bot.events_url, slack, action, value, user, ts, channel=ALERTS)
    assert reply.status_code == 200


def test_a_root_deletion_moves_the_tracked_request_to_verified(
    aws: SimulatedAws, slack: SlackStandin, queue: str, tmp_path: Path
) -> None:
    """Request remediation from the alert itself, approve (tracked), then root deletes the key:
    the deletion event is noted in the thread and the re-audit verifies the request, long
    before the 6-hour recheck."""
    org = aws.create_organization(members=["payments-prod"])
    account = org.members[0].account_id
    aws.set_root_keys(account, [RootKeySpec(slot=1, active=True, created=days_ago(3))])
    db = tmp_path / "rootkey.db"
    settings = bot_env(
        slack,
        f"sqlite:///{db}",
        aws.env(),
        ROOTKEY_EVENTS_QUEUE_URL=queue,
        ROOTKEY_ALERT_CHANNEL=ALERTS,
        ROOTKEY_APPROVERS=APPROVER,
        ROOTKEY_REMEDIATION="tracked",
    )
    with InProcessBot(settings) as bot:
        send(aws, queue, trail.key_created(NEW_KEY, account_id=account))
        (alert,) = slack.wait_for(lambda: alerts(slack) or None)
        click(bot, slack, ActionId.REQUEST_REMEDIATION.value, f"{account}:", REQUESTER, alert.ts)

        view = filled_form(slack, account)
        submit_ok(bot.events_url, view, REQUESTER, {"reason": "created by mistake"})
        store = RemediationStore(create_store_engine(f"sqlite:///{db}"))
        (req,) = slack.wait_for(lambda: store.open_requests() or None)
        assert req.where.thread == alert.ts  # the request lives in the alert's thread
        slack.wait_for(lambda: store.get(req.id).where.message)
        click(bot, slack, ActionId.APPROVE.value, str(req.id), APPROVER, alert.ts)
        slack.wait_for(lambda: store.get(req.id).state is State.TRACKING or None)

        aws.set_root_keys(account, [])  # root deletes the key ...
        send(
            aws, queue, trail.key_deleted(NEW_KEY, account_id=account, key=None)
        )  # ... and says so
        slack.wait_for(lambda: store.get(req.id).state is State.VERIFIED or None, timeout=60)

        def deletion_notes() -> list[str]:
            return [
                m.args["text"]
                for m in slack.messages(ALERTS)
                if m.thread_ts == alert.ts
                and "deleted access key AKIA************MPLE" in m.args["text"]
            ]

        # The note and the re-audit run side by side: the request may be verified first.
        assert len(slack.wait_for(lambda: deletion_notes() or None)) == 1


# -- what used the key, before anyone deletes it -----------------------------------------------


def usage_in(view: dict[str, Any]) -> str | None:
    for block in view.get("blocks") or []:
        if block.get("block_id") == "rootkey_key_usage":
            return str(block["text"]["text"])
    return None


def latest_form(slack: SlackStandin, done: str) -> dict[str, Any] | None:
    """The newest request form whose usage section is no longer 'looking'."""
    for call in reversed(slack.calls("views.update")):
        view = call.args["view"]
        text = usage_in(view)
        if view.get("submit") and text and done in text:
            return {**view, "id": call.args["view_id"]}
    return None


@pytest.mark.parametrize("denied", [False, True], ids=["recorded", "denied"])
def test_the_request_form_and_thread_show_what_used_the_key(
    aws: SimulatedAws, slack: SlackStandin, queue: str, tmp_path: Path, denied: bool
) -> None:
    org = aws.create_organization(members=["payments-prod"])
    account = org.members[0].account_id
    aws.set_root_keys(
        account,
        [
            RootKeySpec(
                slot=1,
                active=True,
                created=days_ago(40),
                last_used=days_ago(1),
                region="eu-west-1",
                service="s3",
            )
        ],
    )
    now = datetime.now(UTC)
    for hours in (1, 2, 30):
        aws.trail.record(
            account, "eu-west-1", trail.ROOT_KEY, "s3:ListBuckets", now - timedelta(hours=hours)
        )
    aws.trail.record(
        account,
        "us-east-1",
        trail.ROOT_KEY,
        "iam:ListUsers",
        now - timedelta(days=10),
        source_ip="198.51.100.7",
    )
    if denied:
        aws.deny(account, "LookupEvents")
    settings = bot_env(
        slack,
        f"sqlite:///{tmp_path / 'rootkey.db'}",
        aws.env(),
        ROOTKEY_EVENTS_QUEUE_URL=queue,
        ROOTKEY_ALERT_CHANNEL=ALERTS,
        ROOTKEY_APPROVERS=APPROVER,
        ROOTKEY_REMEDIATION="tracked",
    )
    with InProcessBot(settings) as bot:
        send(aws, queue, trail.key_used("s3:ListBuckets", account_id=account))
        (alert,) = slack.wait_for(lambda: alerts(slack) or None)
        click(bot, slack, ActionId.REQUEST_REMEDIATION.value, f"{account}:", REQUESTER, alert.ts)
        done = "Not read" if denied else "4 calls"
        view = slack.wait_for(lambda: latest_form(slack, done))
        text = usage_in(view) or ""
        if denied:
            assert "eu-west-1: access denied" in text and "us-east-1: access denied" in text
            assert "No recorded use" not in text
        else:
            assert "AKIA************MPLE: 4 calls" in text
            assert "s3:ListBuckets ×3" in text and "iam:ListUsers ×1" in text
            assert "203.0.113.5 ×3" in text and "198.51.100.7 ×1" in text
        submit_ok(bot.events_url, view, REQUESTER, {"reason": "left over from 2019"})
        note = slack.wait_for(
            lambda: next(
                (
                    m
                    for m in slack.messages(ALERTS)
                    if m.thread_ts == alert.ts and "What used the root keys" in m.args["text"]
                ),
                None,
            )
        )
        assert ("Not read" in note.args["text"]) is denied
