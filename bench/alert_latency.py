"""Root-activity alert latency: 1,000 events through a simulated SQS queue to Slack posts.

    python bench/alert_latency.py [--events 1000] [--replicas 2] [--database URL]

Starts moto's server (SQS) and the Slack stand-in on 127.0.0.1, a store (SQLite in a temporary
directory unless --database), and ``--replicas`` bot consumers (the bot's own poller and alerts
service, each with its own process identity, one database) long-polling one queue. It sends
``--events`` EventBridge events: 10 % root activity (key created, reactivated, used), the rest
noise (other identities' calls), then 5 % of them again as duplicates, in batches of ten at
``--rate`` messages per second (0: all at once, for the throughput).

Prints the machine (cores, load average) before and after; for root key creations and
reactivations, the latency from ``SendMessage`` to the Slack post (the stand-in's receipt
time) with its sample count (about 45 of the 1,000 events: p50 / p90 and the maximum, no p99
from fewer than 100 samples; ``bench/figures.py``); messages handled per second (first send to
an empty queue); how many posts and in-place updates the folded uses made; and duplicates
posted (an event posted more than once: must be 0).

The latency depends on the sender's pace. Paced (``--rate 50``, the default, as CloudTrail
delivers a steady stream) it is one alert's way through the queue, the consumers and Slack.
Sent all at once (``--rate 0``) it is mostly the backlog: a message sent last waits behind the
thousand before it, so that run's figure is the time to drain the queue, and its throughput
(messages per second) is the figure to read.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402

from bench.figures import latency, machine  # noqa: E402
from bot.aws.queue import EventQueue  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services.alerts import AlertPoller, AlertService  # noqa: E402
from bot.slack.alerts import SlackAlerts  # noqa: E402
from bot.slack.poster import Poster  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.alerts import AlertStore  # noqa: E402
from simulator import trail  # noqa: E402
from simulator.aws import SimulatedAws  # noqa: E402
from simulator.aws_cloudtrail import install_sqs_speedup  # noqa: E402
from simulator.slack import SlackStandin  # noqa: E402

CHANNEL = "C0ALERTS01"
ACCOUNTS = [f"{n:012d}" for n in range(111111111111, 111111111111 + 8 * 111111111111, 111111111111)]


def events(count: int, rng: random.Random) -> list[tuple[str, str, dict[str, object]]]:
    """(kind, eventID, event) for ``count`` events: 10 % root activity, the rest noise."""
    made = []
    for i in range(count):
        account = rng.choice(ACCOUNTS)
        roll = rng.random()
        if roll < 0.03:
            event = trail.key_created(f"AKIABENCH{i:011d}", account_id=account)
            kind = "created"
        elif roll < 0.04:
            event = trail.key_updated(f"AKIABENCH{i:011d}", "Active", account_id=account, key=None)
            kind = "reactivated"
        elif roll < 0.10:
            action = rng.choice(["s3:ListBuckets", "ec2:DescribeInstances", "iam:ListUsers"])
            event = trail.key_used(action, account_id=account, key=f"AKIAUSED{account[-4:]}EXAMPLE")
            kind = "used"
        else:
            action = rng.choice(["s3:GetObject", "ec2:DescribeInstances", "sts:GetCallerIdentity"])
            event = trail.key_used(
                action, account_id=account, kind="IAMUser", key="AKIAUSEREXAMPLE00001"
            )
            kind = "noise"
        detail = event["detail"]
        assert isinstance(detail, dict)
        made.append((kind, str(detail["eventID"]), event))
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--database", default=None, help="store URL (default: a SQLite file)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--rate", type=float, default=50.0, help="messages sent per second (0: all at once)"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"machine: {machine()}", flush=True)

    install_sqs_speedup()
    with SimulatedAws() as aws, SlackStandin(bot_token="xoxb-bench") as slack:
        url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='rootkey-bench-')}/rootkey.db"
        store = Store.open(url)
        sqs = aws.client("sqs")
        queue_url = sqs.create_queue(
            QueueName="rootkey-root-activity", Attributes={"VisibilityTimeout": "30"}
        )["QueueUrl"]

        runtimes = []  # one per replica, as each bot process has its own
        for _ in range(args.replicas):
            client = WebClient(token="xoxb-bench", base_url=slack.base_url + "/")
            notifier = SlackAlerts(Poster(client), CHANNEL, ZoneInfo("UTC"))
            service = AlertService(AlertStore(store.engine), notifier)
            queue = EventQueue(queue_url, region="us-east-1", session_factory=aws.session)
            runtime = Runtime()
            poller = AlertPoller(service, queue)
            runtime.manage(poller)
            runtime.scheduler.repeat("events queue", poller.poll, pause=timedelta(seconds=5))
            runtimes.append(runtime)
        for runtime in runtimes:
            runtime.start()

        made = events(args.events, rng)
        duplicates = rng.sample(made, k=max(1, args.events * 5 // 100))
        bodies = [(event_id, trail.body(event)) for _, event_id, event in made + duplicates]
        rng.shuffle(bodies)
        sent_at: dict[str, float] = {}
        first = time.time()
        for start in range(0, len(bodies), 10):
            batch = bodies[start : start + 10]
            if args.rate > 0:  # a steady stream, as CloudTrail delivers, not one burst
                time.sleep(max(0.0, first + start / args.rate - time.time()))
            now = time.time()
            for event_id, _ in batch:
                sent_at.setdefault(event_id, now)
            sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, (_, body) in enumerate(batch)],
            )
        sending = time.time() - first

        def depth() -> int:
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            return sum(int(v) for v in attributes.values())

        while depth():
            time.sleep(0.05)
        drained = time.time()
        for runtime in runtimes:  # a long poll in flight is left to end on its own
            threading.Thread(target=runtime.stop, args=(False,), daemon=True).start()

        posts = [c for c in slack.calls("chat.postMessage") if not c.args.get("thread_ts")]
        deliveries: Counter[str] = Counter()
        delays = []
        for call in posts:
            metadata = call.args.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            delivery = ((metadata or {}).get("event_payload") or {}).get("id", "")
            deliveries[delivery] += 1
            if delivery.startswith("event-"):
                event_id = delivery.removeprefix("event-")
                if deliveries[delivery] == 1 and event_id in sent_at:
                    delays.append(call.at - sent_at[event_id])
        kinds = Counter(kind for kind, _, _ in made)
        doubled = sum(n - 1 for n in deliveries.values() if n > 1)
        ms = [x * 1000 for x in delays]
        pace = (
            f"paced at {args.rate:g} messages/s"
            if args.rate > 0
            else "all at once: the latency includes each message's wait behind the backlog"
        )
        print(f"events sent: {len(bodies)} ({args.events} + {len(duplicates)} duplicates)")
        print(f"of which: {dict(kinds)}; {pace}; sending took {sending:.1f} s")
        print(f"replicas: {args.replicas}; store: {url.split(':', 1)[0]}")
        print(f"SendMessage -> Slack post (created/reactivated): {latency(ms)}")
        print(f"messages handled per second: {len(bodies) / (drained - first):.0f}")
        updates = len(slack.calls("chat.update"))
        uses = sum(1 for d in deliveries if d.startswith("uses-"))
        print(f"folded uses: {kinds['used']} events -> {uses} messages, {updates} in-place updates")
        print(f"duplicates posted: {doubled}")
        print(f"machine after: {machine()}")
        store.close()
        return 1 if doubled else 0


if __name__ == "__main__":
    sys.exit(main())
