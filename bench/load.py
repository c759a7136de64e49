"""Load on the running bot: signed commands and button clicks over about a minute.

    .venv/bin/python bench/load.py                      # 1,000 commands, 200 clicks, 500 accounts
    .venv/bin/python bench/load.py --commands 200 --clicks 40 --members 50 --duration 15
    .venv/bin/python bench/load.py --postgres           # the store on a throw-away PostgreSQL

What runs: moto's server with a simulated Organization (its own process,
``python -m simulator.aws``), the Slack Web API stand-in, and the real bot
(``python -m bot``) in HTTP mode on SQLite (or, with ``--postgres``, on a PostgreSQL cluster
made for the run by ``tests/support/pg_cluster.py``). The load is open-loop: request ``i`` is
sent at ``i * duration / total`` seconds, by a pool of senders, whatever the bot's pace.

The commands: ``check <one account>``, ``check all``, ``help``, ``status``, ``history <id>``,
unknown words; one in ten is sent again with ``X-Slack-Retry-Num`` as Slack does when an ack
is late. The clicks: "Re-run" on results, and "Approve" on a few remediation requests by many
approvers at once. Each check and re-run has a channel of its own, so every audit result can be
traced to the request that asked for it.

Printed: the machine (cores, load average) before and after, ack latency with its sample count
(p50 / p90 / p99 by nearest rank, ``bench/figures.py``, and max), errors (non-200 or no
answer), "busy" answers (the bot refusing an audit because its queue is full, said to the
user), results posted, and duplicate executions: an audit posted twice for one request, or a
request approved twice. Duplicate executions must be 0. The load is paced (open loop), so an ack
waits only behind what arrived before it.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import requests  # noqa: E402

from bench.figures import enough_for, latency, machine, nearest_rank  # noqa: E402
from bot.slack.action_ids import ActionId  # noqa: E402
from bot.store.engine import create_store_engine  # noqa: E402
from bot.store.remediation import RemediationStore  # noqa: E402
from simulator.aws import FAKE_KEY_ID, FAKE_SECRET, REGION, start_served  # noqa: E402
from simulator.slack import APP_ID, TEAM, SlackStandin  # noqa: E402
from tests.support.botproc import BotProcess  # noqa: E402
from tests.support.signing import (  # noqa: E402
    FINDING_MESSAGE,
    actions_body,
    command_body,
    signed_headers,
)
from tests.support.slackflow import click, decide_buttons, filled_form, submit  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402

BOT_TOKEN = "xoxb-111-222-loadbenchtoken"
SIGNING_SECRET = "loadbenchsigningsecret"
ALICE = "U0ALICE001"  # asks for the fixes the approvers click on
APPROVERS = [f"U0LOADAP{i:02d}" for i in range(10)]


@dataclass
class Shot:
    kind: str  # "command" or "click"
    body: str
    channel: str | None = None  # set for work that posts a result (check, re-run)
    retry: bool = False
    response_path: str = ""  # where its response_url points (the stand-in records by path)


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    busy: set[str] = field(default_factory=set)  # channels whose audit was refused as busy
    lock: threading.Lock = field(default_factory=threading.Lock)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def member_ids(endpoint: str) -> tuple[list[str], list[str]]:
    """(every member account id, the ids of those given a root key), by name order."""
    org = boto3.client(
        "organizations",
        endpoint_url=endpoint,
        aws_access_key_id=FAKE_KEY_ID,
        aws_secret_access_key=FAKE_SECRET,
        region_name=REGION,
    )
    accounts = []
    for page in org.get_paginator("list_accounts").paginate():
        accounts += [a for a in page["Accounts"] if a["Name"].startswith("member-")]
    accounts.sort(key=lambda a: a["Name"])
    ids = [a["Id"] for a in accounts]
    return ids, ids[:20]  # simulator.aws gives the first members (by name) a root key


def ask_for(bot: BotProcess, slack: SlackStandin, store: RemediationStore, account: str) -> int:
    """What a person does to ask for a fix: the button, the form, submit; the new request id."""
    known = set(decide_buttons(slack))
    updates = len(slack.calls("views.update"))
    action = ActionId.REQUEST_REMEDIATION.value
    reply = click(bot.events_url, slack, action, f"{account}:", ALICE, secret=SIGNING_SECRET)
    assert reply.status_code == 200
    view = filled_form(slack, account, after=updates)
    values = {"reason": "unused since 2019, owner agrees", "ticket": None}
    assert submit(bot.events_url, view, ALICE, values, secret=SIGNING_SECRET).status_code == 200
    new = slack.wait_for(lambda: set(decide_buttons(slack)) - known, timeout=60)
    request_id = max(new)
    wait_until(
        lambda: store.get(request_id).where.message == decide_buttons(slack)[request_id],
        what=f"request #{request_id} saved with its message",
    )
    return request_id


def plan(
    commands: int, clicks: int, members: list[str], slack: SlackStandin, requests_: list[int]
) -> list[Shot]:
    rng = random.Random(6)
    shots: list[Shot] = []
    distinct = commands - commands // 10
    for i in range(distinct):
        roll = rng.random()
        channel = None
        if roll < 0.28:
            channel = f"C0LOAD{i:05d}"
            text = f"check {rng.choice(members)}"
        elif roll < 0.30:
            channel = f"C0LOAD{i:05d}"
            text = "check all"
        elif roll < 0.55:
            text = "help"
        elif roll < 0.75:
            text = "status"
        elif roll < 0.95:
            text = f"history {rng.choice(members)}"
        else:
            text = rng.choice(["frobnicate", "check nope", "<!channel>"])
        url = slack.response_url()
        body = command_body(
            text, response_url=url, channel=channel or "C0ROOTKEY1", user=f"U0LOADUS{i % 50:02d}"
        )
        shots.append(Shot("command", body, channel, response_path=path_of(url)))
    for shot in rng.sample(shots, commands - distinct):  # Slack retrying a slow ack
        shots.append(Shot("command", shot.body, shot.channel, True, shot.response_path))
    approve_clicks = min(clicks // 5, len(requests_) * len(APPROVERS))
    for i in range(clicks - approve_clicks):
        channel = f"C0RERUN{i:04d}"
        value = "accounts:" + rng.choice(members)
        url = slack.response_url()
        body = actions_body(ActionId.RERUN.value, value, response_url=url, channel=channel)
        shots.append(Shot("click", body, channel, response_path=path_of(url)))
    for i in range(approve_clicks):
        request_id = requests_[i % len(requests_)]
        body = actions_body(
            ActionId.APPROVE.value,
            str(request_id),
            response_url=slack.response_url(),
            user=APPROVERS[(i // len(requests_)) % len(APPROVERS)],
        )
        shots.append(Shot("click", body))
    rng.shuffle(shots)
    return shots


def fire(url: str, shot: Shot, outcome: Outcome) -> None:
    headers = signed_headers(shot.body, SIGNING_SECRET)
    if shot.retry:
        headers.update({"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    started = time.perf_counter()
    try:
        reply = requests.post(url, data=shot.body.encode(), headers=headers, timeout=10)
    except requests.RequestException as exc:
        with outcome.lock:
            outcome.errors[type(exc).__name__] += 1
        return
    took = time.perf_counter() - started
    with outcome.lock:
        outcome.latencies.append(took)
        if reply.status_code != 200:
            outcome.errors[f"http {reply.status_code}"] += 1
        elif "already running" in reply.text and shot.channel:
            outcome.busy.add(shot.channel)


def run_load(url: str, shots: list[Shot], duration: float, senders: int) -> tuple[Outcome, float]:
    outcome = Outcome()
    interval = duration / max(1, len(shots))
    started = time.perf_counter()

    def scheduled(i: int, shot: Shot) -> None:
        delay = started + i * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        fire(url, shot, outcome)

    with ThreadPoolExecutor(max_workers=senders) as pool:
        for i, shot in enumerate(shots):
            pool.submit(scheduled, i, shot)
    return outcome, time.perf_counter() - started


def drain(slack: SlackStandin, quiet: float, limit: float) -> None:
    """Wait until the bot has posted nothing new for ``quiet`` seconds (or ``limit`` passed)."""
    deadline = time.monotonic() + limit
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(slack.attempts())
        if count != seen:
            seen, since = count, time.monotonic()
        elif time.monotonic() - since > quiet:
            return
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--clicks", type=int, default=200)
    parser.add_argument("--members", type=int, default=500, help="member accounts")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to spread over")
    parser.add_argument("--senders", type=int, default=32, help="concurrent senders")
    parser.add_argument("--drain", type=float, default=300.0, help="max seconds to wait after")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="store on a throw-away PostgreSQL cluster (initdb in a temp dir) instead of SQLite",
    )
    args = parser.parse_args(argv)

    print(f"machine: {machine()}", flush=True)
    print(f"starting a simulated Organization of {args.members} member accounts…", flush=True)
    sim, info = start_served(args.members, noncompliant=20)
    endpoint = info["endpoint_url"]
    workdir = Path(tempfile.mkdtemp(prefix="rootkey-load-"))
    cluster = None
    try:
        database_url = f"sqlite:///{workdir / 'rootkey.db'}"
        if args.postgres:
            from tests.support.pg_cluster import PgCluster

            cluster = PgCluster()
            cluster.start()
            database_url = cluster.url
        print(f"store: {database_url.split(':', 1)[0]}", flush=True)
        members, keyed = member_ids(endpoint)
        with SlackStandin(bot_token=BOT_TOKEN, earlier=[FINDING_MESSAGE]) as slack:
            env = {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": slack.base_url,
                "SLACK_TEAM_ID": TEAM,
                "SLACK_APP_ID": APP_ID,
                **aws_env(endpoint),
                "DATABASE_URL": database_url,
                "ROOTKEY_SCOPE": "org",
                "ROOTKEY_APPROVERS": ",".join(APPROVERS),
            }
            bot = BotProcess(env).start(60.0)
            store = RemediationStore(create_store_engine(database_url))
            try:
                request_ids = [ask_for(bot, slack, store, account) for account in keyed[:4]]
                slack.reset()
                shots = plan(args.commands, args.clicks, members, slack, request_ids)
                print(
                    f"sending {sum(s.kind == 'command' for s in shots)} commands and "
                    f"{sum(s.kind == 'click' for s in shots)} clicks over {args.duration:.0f} s…",
                    flush=True,
                )
                outcome, took = run_load(bot.events_url, shots, args.duration, args.senders)
                drain(slack, quiet=15.0, limit=args.drain)
                report(slack, shots, outcome, took, store, request_ids)
            finally:
                bot.stop()
    finally:
        sim.kill()
        sim.wait(10)
        if cluster is not None:
            cluster.cleanup()
    return 0


def report(
    slack: SlackStandin,
    shots: list[Shot],
    outcome: Outcome,
    took: float,
    store: RemediationStore,
    request_ids: list[int],
) -> None:
    per_channel = Counter(m.channel for m in slack.messages() if not m.thread_ts)
    traced = {s.channel for s in shots if s.channel}
    posted = sum(per_channel[c] for c in traced)
    duplicate_audits = sum(1 for c in traced if per_channel[c] > 1)
    busy_paths = {path for path, body in slack.response_log() if "already running" in str(body)}
    busy = set(outcome.busy) | {s.channel for s in shots if s.response_path in busy_paths}
    unanswered = sorted(c for c in traced if not per_channel[c] and c not in busy)
    approvals = Counter(
        e.request_id
        for e in store.log()
        if e.event == "transition" and e.to_state == "approved" and e.request_id in request_ids
    )
    duplicate_approvals = sum(1 for r in request_ids if approvals[r] > 1)
    lat = outcome.latencies
    figures = {
        "requests": len(shots),
        "commands": sum(s.kind == "command" for s in shots),
        "clicks": sum(s.kind == "click" for s in shots),
        "seconds": round(took, 1),
        "acks": len(lat),
        **{
            f"ack_p{q}_ms": round(nearest_rank(lat, q) * 1000, 1)
            for q in (50, 90, 99)
            if lat and enough_for(q, len(lat))
        },
        "ack_max_ms": round(max(lat, default=float("nan")) * 1000, 1),
        "errors": sum(outcome.errors.values()),
        "error_kinds": dict(outcome.errors),
        "audits_asked": len(traced),
        "results_posted": posted,
        "busy_answers": len(busy - {c for c in traced if per_channel[c]}),
        "unanswered": len(unanswered),
        "requests_approved": sum(1 for r in request_ids if approvals[r] >= 1),
        "duplicate_executions": duplicate_audits + duplicate_approvals,
    }
    print(
        f"{figures['requests']} requests ({figures['commands']} commands, "
        f"{figures['clicks']} clicks) in {figures['seconds']} s"
    )
    print(f"ack latency: {latency([x * 1000 for x in lat])}")
    print(f"errors: {figures['errors']} {figures['error_kinds'] or ''}".rstrip())
    print(
        f"audits asked: {figures['audits_asked']}, results posted: {figures['results_posted']}, "
        f"refused as busy (said to the user): {figures['busy_answers']}, "
        f"unanswered: {figures['unanswered']}"
    )
    print(f"approved: {figures['requests_approved']} of {len(request_ids)} requests")
    print(f"duplicate executions: {figures['duplicate_executions']}")
    print(f"machine after: {machine()}")
    print(json.dumps(figures))


if __name__ == "__main__":
    raise SystemExit(main())
