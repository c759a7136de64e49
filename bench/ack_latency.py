"""Ack latency of ``/rootkey check``: 200 signed requests, 20 at a time, against the HTTP bot.

    python bench/ack_latency.py                      # starts everything locally: moto's server
                                                     # with an Organization, the Slack stand-in,
                                                     # and the real bot (python -m bot)
    python bench/ack_latency.py --url http://127.0.0.1:3000/slack/events  # a running bot
        (SLACK_SIGNING_SECRET must be its secret)

Prints the machine (cores, load average) before and after, and the ack latency with its
sample count (p50 / p90 / p99 by nearest rank where the sample allows, ``bench/figures.py``,
and max) in milliseconds, plain and again while ``--held`` (200) idle
connections are held open to the bot (half of them sending a byte of a request's headers every
10 s), side by side.

    python bench/ack_latency.py --slow-aws 5         # every AWS call waits 5 s

With ``--slow-aws S`` it measures instead what clicks that audit do to everyone else: ``/rootkey
help`` acks alone, then ``--requests`` "Request remediation" clicks (each opens its form and
queues a fresh audit that waits on AWS), then ``/rootkey help`` acks again while those audits
hang, side by side. No listener waits on AWS, so the two help columns should match and every
click should be acked (Slack shows a click acked after 3 s as failed).

    python bench/ack_latency.py --slow-aws-forms 30 --requests 24 --concurrency 16

With ``--slow-aws-forms S`` the bot runs in assume-root mode: ``--requests`` people open a
request form each (one account each, AWS fast), then ``ListOrganizationsFeatures`` waits S s
on the management account while they all submit; ``/rootkey help`` acks alone, the
submissions, and help again meanwhile, side by side; then AWS answers and the requests posted
are counted (each submission must end in one).

    python bench/ack_latency.py --socket-mode

With ``--socket-mode`` the bot runs in Socket Mode (``SLACK_APP_TOKEN``) against the stand-in's
Socket Mode server: ``--requests`` ``/rootkey help`` envelopes, then as many ``/rootkey check``
(``BENCH_TEXT``), ``--concurrency`` at a time, each timed from its push down the socket to the
bot's ack (slack_sdk's Socket Mode client runs envelopes on 10 workers).

Slack's limit is 3 s; the aim is p99 under 100 ms. No ack waits for the database (repeats are
checked in memory; the cross-replica claim comes after the ack). Each command asks for an audit;
identical checks share the one waiting to start, so these 200 start two or three. Past the bot's
queue limit (distinct scopes, e.g. BENCH_TEXT="check 111111111111") the ack says it is busy, which
is still an ack (counted separately).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import latency, machine  # noqa: E402
from tests.support.signing import TEST_SIGNING_SECRET, command_body, signed_headers  # noqa: E402

if TYPE_CHECKING:
    from simulator.slack import SlackStandin, SocketModeServer

TEXT = os.environ.get("BENCH_TEXT", "check")  # e.g. "help": the ack without an audit


@contextlib.contextmanager
def simulated_aws(members: int, latency: float = 0.0) -> Iterator[dict[str, str]]:
    """moto's server with an Organization, in its own process (its CPU is not ours); every AWS
    call waits ``latency`` seconds. ``ROOTKEY_BENCH_ACCOUNT`` is its management account."""
    from simulator.aws import FAKE_KEY_ID, FAKE_SECRET, REGION

    command = [sys.executable, "-m", "simulator.aws", "--members", str(members)]
    proc = subprocess.Popen(
        [*command, "--latency", str(latency)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        yield {
            "AWS_ENDPOINT_URL": info["endpoint_url"],
            "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "ROOTKEY_BENCH_ACCOUNT": info["management"],  # not a setting of the bot
        }
    finally:
        proc.terminate()
        proc.wait(10)


def cpu_seconds(pid: int) -> Callable[[], float] | None:
    """CPU time (user + system) of process ``pid`` so far, from /proc (Linux only)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return None
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime

    return read


@contextlib.contextmanager
def local_bot(
    members: int, latency: float = 0.0
) -> Iterator[tuple[str, str, str, Callable[[], float] | None, str, SlackStandin]]:
    """(events URL, signing secret, a response_url, the bot's CPU clock, an account of the
    Organization, the Slack stand-in) of a bot started here. Audits run in worker processes of
    their own, so the bot's CPU is the acks' (and the posting and saving of results)."""
    from simulator.slack import SlackStandin
    from tests.support.botproc import BotProcess, bot_env

    with (
        simulated_aws(members, latency) as aws_env,
        SlackStandin(bot_token="xoxb-bench") as slack,
    ):
        account = aws_env.pop("ROOTKEY_BENCH_ACCOUNT")
        env = bot_env(slack, None, aws_env, ROOTKEY_SCOPE="org")
        with BotProcess(env) as bot:
            cpu = cpu_seconds(bot.proc.pid) if bot.proc is not None else None
            yield bot.events_url, TEST_SIGNING_SECRET, slack.response_url(), cpu, account, slack


@contextlib.contextmanager
def held_connections(url: str, count: int) -> Iterator[None]:
    """``count`` connections to the bot behind ``url``, held open: even ones dribble a
    request's headers a byte every 10 s, odd ones send nothing."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    sockets = [socket.create_connection(address, timeout=10) for _ in range(count)]
    slow = sockets[::2]
    for sock in slow:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bench\r\nX-Slow: ")
    done = threading.Event()

    def dribble() -> None:
        while not done.wait(10):
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.sendall(b"x")

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(5)
        for sock in sockets:
            sock.close()


def outcome(text: str) -> str:
    """What an ack (HTTP 200, or a Socket Mode ack) said: ``auditing``, ``busy``, ``help`` or
    ``acked`` (nothing)."""
    if "Auditing" in text:
        return "auditing"
    if "already running" in text:
        return "busy"
    if "/rootkey check all" in text:
        return "help"
    return "acked" if not text else "other answer"


def measure(
    url: str,
    secret: str,
    response_url: str,
    total: int,
    concurrency: int,
    bot_cpu: Callable[[], float] | None = None,
    body_of: Callable[[str], str] | None = None,
) -> dict[str, object]:
    """Send ``total`` requests (``body_of(response_url)``, default: the ``TEXT`` command)
    after a warm-up of ``/rootkey help``; their ack latency and outcomes."""
    local = threading.local()
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def one(index: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        if index < 0 or body_of is None:
            body = command_body("help" if index < 0 else TEXT, response_url=response_url)
        else:
            body = body_of(response_url)
        headers = signed_headers(body, secret)
        start = time.perf_counter()
        try:
            reply = session.post(url, data=body.encode(), headers=headers, timeout=10)
        except requests.RequestException as exc:
            kind = type(exc).__name__
        else:
            kind = outcome(reply.text) if reply.status_code == 200 else f"http {reply.status_code}"
        elapsed = (time.perf_counter() - start) * 1000
        with lock:
            latencies.append(elapsed)
            outcomes[kind] = outcomes.get(kind, 0) + 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        # Warm-up with /rootkey help: connections and code paths, without queueing audits.
        list(pool.map(one, range(-concurrency, 0)))
        latencies.clear()
        outcomes.clear()
        cpu = bot_cpu() if bot_cpu else 0.0
        wall = time.perf_counter()
        list(pool.map(one, range(total)))
        wall = time.perf_counter() - wall
        cpu = bot_cpu() - cpu if bot_cpu else 0.0

    return {
        "wall s": f"{wall:.2f}",
        "outcomes": ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        "ack latency": latency(latencies),
        "bot CPU ms/request": f"{cpu * 1000 / total:.2f}" if bot_cpu else "-",
        "ok": all(k in {"auditing", "busy", "help", "acked"} for k in outcomes),
    }


def run(
    url: str,
    secret: str,
    response_url: str,
    args: argparse.Namespace,
    bot_cpu: Callable[[], float] | None = None,
) -> int:
    plain = measure(url, secret, response_url, args.requests, args.concurrency, bot_cpu)
    with held_connections(url, args.held):
        held = measure(url, secret, response_url, args.requests, args.concurrency, bot_cpu)
    print(
        f"requests: {args.requests}, {args.concurrency} at a time (closed loop: each sender "
        "sends its next once its last is acked, so an ack includes waiting behind the others)"
    )
    label = f"{args.held} idle connections held"
    print(f"{'':<20}  {'plain':>48}  {label:>48}")
    for key in plain:
        if key != "ok":
            print(f"{key:<20}  {plain[key]!s:>48}  {held[key]!s:>48}")
    return 0 if plain["ok"] and held["ok"] else 1


def measure_socket(
    ws: SocketModeServer,
    response_url: str,
    text: str,
    total: int,
    concurrency: int,
    bot_cpu: Callable[[], float] | None = None,
) -> dict[str, object]:
    """``measure`` in Socket Mode: ``total`` ``/rootkey text`` envelopes pushed down the bot's
    socket, ``concurrency`` at a time (closed loop), each timed from its push to its ack."""
    from urllib.parse import parse_qsl

    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def one(index: int) -> None:
        sent = "help" if index < 0 else text
        payload = dict(parse_qsl(command_body(sent, response_url=response_url)))
        start = time.perf_counter()
        try:
            ack = ws.wait_ack(ws.push("slash_commands", payload), timeout=10)
        except TimeoutError:
            kind = "no ack in 10 s"
        else:
            answer = ack.get("payload")  # the command's answer, as over HTTP: the whole body
            kind = outcome(json.dumps(answer) if answer else "")
        elapsed = (time.perf_counter() - start) * 1000
        with lock:
            latencies.append(elapsed)
            outcomes[kind] = outcomes.get(kind, 0) + 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(-concurrency, 0)))  # warm-up, as over HTTP
        latencies.clear()
        outcomes.clear()
        cpu = bot_cpu() if bot_cpu else 0.0
        wall = time.perf_counter()
        list(pool.map(one, range(total)))
        wall = time.perf_counter() - wall
        cpu = bot_cpu() - cpu if bot_cpu else 0.0

    return {
        "wall s": f"{wall:.2f}",
        "outcomes": ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        "ack latency": latency(latencies),
        "bot CPU ms/request": f"{cpu * 1000 / total:.2f}" if bot_cpu else "-",
        "ok": all(k in {"auditing", "busy", "help", "acked"} for k in outcomes),
    }


def run_socket_mode(args: argparse.Namespace) -> int:
    """``/rootkey help``, then ``/rootkey check`` (``BENCH_TEXT``), as Socket Mode envelopes
    to a bot connected to the stand-in's Socket Mode server."""
    from simulator.slack import SlackStandin, SocketModeServer
    from tests.support.botproc import BotProcess, bot_env

    app_token = "xapp-1-A0ROOTKEY1-bench"
    with (
        simulated_aws(args.members) as aws_env,
        SlackStandin(bot_token="xoxb-bench", app_token=app_token) as slack,
        SocketModeServer() as ws,
    ):
        aws_env.pop("ROOTKEY_BENCH_ACCOUNT")
        slack.set_socket_url(ws.url)
        env = bot_env(slack, None, aws_env, ROOTKEY_SCOPE="org", SLACK_APP_TOKEN=app_token)
        with BotProcess(env) as bot:
            ws.wait_connected()
            cpu = cpu_seconds(bot.proc.pid) if bot.proc is not None else None
            n, c, reply_to = args.requests, args.concurrency, slack.response_url()
            helped = measure_socket(ws, reply_to, "help", n, c, cpu)
            checked = measure_socket(ws, reply_to, TEXT, n, c, cpu)
    print(
        f"Socket Mode: {n} envelopes per column, {c} at a time (closed loop), each timed from "
        "its push down the socket to the bot's ack"
    )
    columns = ("/rootkey help", f"/rootkey {TEXT}")
    print(f"{'':<20}" + "".join(f"{name:>64}" for name in columns))
    for key in helped:
        if key != "ok":
            print(f"{key:<20}{helped[key]!s:>64}{checked[key]!s:>64}")
    return 0 if helped["ok"] and checked["ok"] else 1


def run_slow_aws(
    url: str,
    secret: str,
    response_url: str,
    account: str,
    slack: SlackStandin,
    args: argparse.Namespace,
) -> int:
    """Help alone; the clicks; help again while their audits wait on AWS."""
    from bot.slack.action_ids import ActionId
    from tests.support.signing import actions_body

    def request_click(url_for_answer: str) -> str:
        action = ActionId.REQUEST_REMEDIATION.value
        trigger = slack.workspace.new_trigger("U0ALICE001")  # as Slack's: 3 s, once
        return actions_body(action, f"{account}:", response_url=url_for_answer, trigger_id=trigger)

    def help_body(url_for_answer: str) -> str:
        return command_body("help", response_url=url_for_answer)

    n, c = args.requests, args.concurrency
    alone = measure(url, secret, response_url, n, c, body_of=help_body)
    clicks = measure(url, secret, response_url, n, c, body_of=request_click)
    during = measure(url, secret, response_url, n, c, body_of=help_body)
    print(f"every AWS call waits {args.slow_aws:g} s; {n} requests per column, {c} at a time")
    columns = ("help alone", "Request remediation clicks", "help while they audit")
    print(f"{'':<20}" + "".join(f"  {name:>48}" for name in columns))
    for key in alone:
        if key not in {"ok", "bot CPU ms/request"}:
            cells = (alone[key], clicks[key], during[key])
            print(f"{key:<20}" + "".join(f"  {cell!s:>48}" for cell in cells))
    return 0 if alone["ok"] and clicks["ok"] and during["ok"] else 1


def run_slow_aws_forms(args: argparse.Namespace) -> int:
    """Forms opened with AWS fast; help alone, the submissions and help again while the
    Organization's features hang; then the requests posted once AWS answers."""
    from bot.slack.action_ids import ActionId
    from simulator.aws import RootKeySpec, SimulatedAws, days_ago
    from simulator.slack import SlackStandin
    from tests.support.botproc import BotProcess, bot_env
    from tests.support.signing import FINDING_MESSAGE
    from tests.support.slackflow import click, decide_buttons, filled_form, view_payload

    n, c = args.requests, args.concurrency
    # The finding message the clicks come from, laid out (Slack has no thread without it).
    with SimulatedAws() as aws, SlackStandin("xoxb-bench", earlier=[FINDING_MESSAGE]) as slack:
        org = aws.create_organization(members=[f"bench{i:03d}" for i in range(n)])
        for member in org.members:
            aws.set_root_keys(member.account_id, [RootKeySpec(slot=1, created=days_ago(200))])
        env = bot_env(
            slack, None, aws.env(), ROOTKEY_SCOPE="org", ROOTKEY_REMEDIATION="assume-root"
        )
        with BotProcess(env) as bot:
            forms = []
            for index, member in enumerate(org.members):
                updates = len(slack.calls("views.update"))
                user = f"U0BENCH{index:04d}"
                action = ActionId.REQUEST_REMEDIATION.value
                click(bot.events_url, slack, action, f"{member.account_id}:", user)
                forms.append((filled_form(slack, member.account_id, after=updates), user))
            queue = list(forms)
            lock = threading.Lock()

            def submission(_response_url: str) -> str:
                with lock:
                    form, user = queue.pop()
                return view_payload(form, user, {"reason": "bench", "ticket": None})

            def help_body(url_for_answer: str) -> str:
                return command_body("help", response_url=url_for_answer)

            secret, reply_to = TEST_SIGNING_SECRET, slack.response_url()
            alone = measure(bot.events_url, secret, reply_to, n, c, body_of=help_body)
            aws.set_latency(args.slow_aws_forms, org.management_id)
            try:
                sent = measure(bot.events_url, secret, reply_to, n, c, body_of=submission)
                during = measure(bot.events_url, secret, reply_to, n, c, body_of=help_body)
            finally:
                aws.set_latency(0.0, org.management_id)
                aws.reset()  # the held calls end now
            deadline = time.monotonic() + 300  # every submission should end in a request
            while len(decide_buttons(slack)) < n and time.monotonic() < deadline:
                time.sleep(0.2)
            posted = len(decide_buttons(slack))
    print(f"ListOrganizationsFeatures waits {args.slow_aws_forms:g} s; {n} forms, {c} at a time")
    columns = ("help alone", "form submissions", "help while they wait")
    print(f"{'':<20}" + "".join(f"  {name:>48}" for name in columns))
    for key in alone:
        if key not in {"ok", "bot CPU ms/request"}:
            cells = (alone[key], sent[key], during[key])
            print(f"{key:<20}" + "".join(f"  {cell!s:>48}" for cell in cells))
    print(f"requests posted once AWS answered: {posted} of {n}")
    return 0 if alone["ok"] and sent["ok"] and during["ok"] and posted == n else 1


def main() -> int:
    print(f"machine: {machine()}", flush=True)
    try:
        return measured()
    finally:
        print(f"machine after: {machine()}")


def measured() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="events URL of a running bot (default: start one here)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--members", type=int, default=20, help="Organization size (local bot)")
    parser.add_argument("--held", type=int, default=200, help="idle connections held open")
    parser.add_argument(
        "--slow-aws",
        type=float,
        default=0.0,
        metavar="S",
        help="every AWS call waits S seconds: measure clicks that audit instead (local bot)",
    )
    parser.add_argument(
        "--slow-aws-forms",
        type=float,
        default=0.0,
        metavar="S",
        help="assume-root mode, ListOrganizationsFeatures waits S s: measure form submissions",
    )
    parser.add_argument(
        "--socket-mode",
        action="store_true",
        help="send the commands as Socket Mode envelopes (local bot, Socket Mode stand-in)",
    )
    args = parser.parse_args()
    if args.url:
        secret = os.environ.get("SLACK_SIGNING_SECRET")
        if not secret:
            print("SLACK_SIGNING_SECRET: required with --url", file=sys.stderr)
            return 2
        return run(args.url, secret, "http://127.0.0.1:9/unused", args)
    if args.socket_mode:
        return run_socket_mode(args)
    if args.slow_aws_forms:
        return run_slow_aws_forms(args)
    if args.slow_aws:
        with local_bot(args.members, args.slow_aws) as (url, secret, reply_to, _, account, slack):
            return run_slow_aws(url, secret, reply_to, account, slack, args)
    with local_bot(args.members) as (url, secret, response_url, bot_cpu, _account, _slack):
        return run(url, secret, response_url, args, bot_cpu)


if __name__ == "__main__":
    sys.exit(main())
