"""How fast is an Organization audited, and at what cost? Prints wall time beside the bound.

    .venv/bin/python bench/org_scan.py                          # 10,001 accounts in 100 OUs
    .venv/bin/python bench/org_scan.py --ous 0                  # the same, flat (ListAccounts)
    .venv/bin/python bench/org_scan.py --accounts 2001 --rate AssumeRole=20   # a throttling STS

The Organization is ``simulator.fast_org`` (a small threaded fake of the calls a scan makes,
in its own process, so that its CPU is not rootkey's), each call answered after ``--latency``.
``AwsAuditor`` audits it from this process with the default settings, exactly as
``python -m bot check --org`` would. Printed: wall time; the lower bound at the concurrency
reached, ``max(listing, scan)`` where

    listing = (2 + pages / LIST_WORKERS) x latency    (ListAccounts: 2 + pages, in series)
    scan    = ceil(calls / concurrency) x latency      (2 calls per account, 4 with a key)

AWS calls per account, rootkey's CPU per account (this process, every thread, and a flat
Organization's listing process, ``bot.aws.listing``), peak RSS (this process) and
the load average before the run; then every verdict is checked against the Organization.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.audit.models import Scope, Status  # noqa: E402
from bot.aws.auditor import AwsAuditor  # noqa: E402
from bot.aws.organizations import LIST_WORKERS, PAGE_SIZE  # noqa: E402
from bot.config import Config  # noqa: E402
from simulator.aws import FAKE_KEY_ID, FAKE_SECRET  # noqa: E402


def start_org(args: argparse.Namespace) -> tuple[subprocess.Popen[str], dict]:
    command = [
        sys.executable,
        "-m",
        "simulator.fast_org",
        f"--accounts={args.accounts}",
        f"--ous={args.ous}",
        f"--latency={args.latency}",
        f"--suspended-every={args.suspended_every}",
        *(f"--rate={r}" for r in args.rate),
    ]
    proc = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the simulated Organization did not start")
    return proc, json.loads(line)


def calls_so_far(proc: subprocess.Popen[str]) -> dict[str, int]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("calls\n")
    proc.stdin.flush()
    return dict(json.loads(proc.stdout.readline()))


def children_cpu() -> float:
    """CPU seconds of the child processes ended so far (a flat Organization's listing process;
    the simulated Organization is still running, so not counted)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10001, help="management account included")
    parser.add_argument("--ous", type=int, default=100, help="0: every account in the root")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per AWS call")
    parser.add_argument("--suspended-every", type=int, default=500)
    parser.add_argument("--rate", action="append", default=[], help="Action=calls per second")
    parser.add_argument("--concurrency", type=int, help="ROOTKEY_CONCURRENCY (default: default)")
    args = parser.parse_args()

    load = os.getloadavg()
    proc, org = start_org(args)
    try:
        os.environ.update(
            AWS_ENDPOINT_URL=org["endpoint_url"],
            AWS_ACCESS_KEY_ID=FAKE_KEY_ID,
            AWS_SECRET_ACCESS_KEY=FAKE_SECRET,
            AWS_DEFAULT_REGION="us-east-1",
        )
        config = Config() if args.concurrency is None else Config(concurrency=args.concurrency)
        auditor = AwsAuditor(config)
        calls_so_far(proc)
        t0, c0, k0 = time.perf_counter(), time.process_time(), children_cpu()
        result = auditor.audit(Scope("org"))
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0 + children_cpu() - k0  # and the listing's process
        by_action = calls_so_far(proc)
        reached = auditor.pacer.summary()
        auditor.close()
    finally:
        proc.kill()
        proc.wait(timeout=30)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    n = len(result.verdicts)
    keyed = set(org["noncompliant"])
    got = {v.account_id: v.status for v in result.verdicts}
    wrong = [
        a
        for a in set(org["active"]) | set(got)
        if got.get(a) != (Status.NONCOMPLIANT if a in keyed else Status.COMPLIANT)
    ]
    concurrency = reached.get("AssumeRole", config.concurrency)
    if args.ous:
        pages = by_action.get("ListAccountsForParent", 0) + by_action.get(
            "ListOrganizationalUnitsForParent", 0
        )
        listing = (2 + pages / LIST_WORKERS) * args.latency
    else:
        listing = (2 + math.ceil(args.accounts / PAGE_SIZE)) * args.latency
    scan = math.ceil((2 * n + 2 * len(keyed)) / concurrency) * args.latency
    bound = max(listing, scan)
    total = sum(by_action.values())
    print(
        f"{args.accounts} accounts in {args.ous or 'no'} OUs, {args.latency * 1000:.0f} ms per "
        f"call, rates {args.rate or 'unlimited'}; load average before {load[0]:.2f}"
    )
    print(
        f"wall {wall:6.2f} s   bound {bound:6.2f} s (listing {listing:.2f}, scan {scan:.2f} at "
        f"concurrency {concurrency})   ratio {wall / bound:4.2f}"
    )
    print(
        f"accounts {n} ({result.summary.noncompliant} noncompliant, {result.summary.error} "
        f"error); verdicts wrong or missing: {len(wrong)}"
    )
    print(
        f"AWS calls {total}: {total / max(1, n):.2f} per account; CPU {cpu:.2f} s = "
        f"{cpu / max(1, n) * 1000:.2f} ms per account; peak RSS {rss_mb:.0f} MB"
    )
    print(f"by action {by_action}; concurrency reached {reached}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
