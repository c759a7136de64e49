"""How fast is an Organization audited? Prints wall time beside the lower bound.

    .venv/bin/python bench/org_scan.py                      # 200 and 1,000 accounts, 100 ms
    .venv/bin/python bench/org_scan.py --accounts 200 --latency 0.05 --concurrency 32

The simulated Organization (moto's server with the test extensions) runs in its own process and
adds a fixed latency to every AWS call in the server. ``AwsAuditor`` audits it from this
process exactly as ``python -m bot check --org`` would. The lower bound is

    ceil(N / concurrency) x 2 x latency  +  ceil(N / 20) x latency

(two calls per account on ``concurrency`` workers, plus listing 20 accounts per page). Streaming
the listing into the audit lets the two overlap, so the ratio can go below 1.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.audit.models import Scope  # noqa: E402
from bot.aws.auditor import AwsAuditor  # noqa: E402
from bot.config import Config  # noqa: E402
from simulator.aws import FAKE_KEY_ID, FAKE_SECRET, REGION, start_served  # noqa: E402

PER_ACCOUNT_ACTIONS = ("AssumeRole", "GetAccountSummary")
REPORT_ACTIONS = ("GenerateCredentialReport", "GetCredentialReport")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scan(n: int, latency: float, concurrency: int, share: float) -> dict[str, float]:
    noncompliant = max(1, round((n - 1) * share)) if share > 0 else 0
    proc, info = start_served(n - 1, noncompliant, latency)
    try:
        endpoint = info["endpoint_url"]
        # As `python -m bot check --org` runs: the default sessions, aimed by the environment.
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID=FAKE_KEY_ID,
            AWS_SECRET_ACCESS_KEY=FAKE_SECRET,
            AWS_DEFAULT_REGION=REGION,
        )
        config = Config(concurrency=concurrency)
        auditor = AwsAuditor(config)
        runs = []
        for label in ("cold", "warm"):
            requests.post(f"{endpoint}/rootkey-sim/calls", timeout=10)
            s0 = cpu_seconds(proc.pid)
            t0, c0 = time.perf_counter(), time.process_time()
            result = auditor.audit(Scope("org"))
            wall = time.perf_counter() - t0
            print(
                f"         ({label}: CPU of the auditing process {time.process_time() - c0:.2f} s,"
                f" of the simulated AWS {cpu_seconds(proc.pid) - s0:.2f} s)"
            )
            by_action = requests.get(f"{endpoint}/rootkey-sim/calls", timeout=10).json()
            runs.append((label, wall, result, by_action))
        auditor.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    bound = math.ceil(n / concurrency) * 2 * latency + math.ceil(n / 20) * latency
    out: dict[str, float] = {}
    for label, wall, result, by_action in runs:
        s = result.summary
        total = sum(by_action.values())
        report_calls = sum(by_action.get(a, 0) for a in REPORT_ACTIONS)
        per_account = sum(by_action.get(a, 0) for a in PER_ACCOUNT_ACTIONS)
        # the noncompliant accounts' share of AssumeRole/GetAccountSummary is 2 each (1 for the
        # management account, which is read with the current credentials)
        compliant_calls = per_account - 2 * s.noncompliant
        print(
            f"N={n:5d} {label}: wall {wall:6.2f} s   bound {bound:6.2f} s   "
            f"ratio {wall / bound:4.2f}   accounts {s.total} ({s.noncompliant} noncompliant, "
            f"{s.error} error)"
        )
        print(
            f"         AWS calls {total} (client counted {result.calls}): "
            f"{total / n:.2f} per account, {compliant_calls / max(1, s.compliant):.2f} per "
            f"compliant account, report calls {report_calls}; by action {by_action}"
        )
        out[f"{label}_wall"] = wall
    out["bound"] = bound
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per AWS call")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--noncompliant-share", type=float, default=0.02, help="share of members with a root key"
    )
    args = parser.parse_args()
    print(
        f"latency {args.latency * 1000:.0f} ms per AWS call (in the server), "
        f"concurrency {args.concurrency}"
    )
    for n in args.accounts:
        scan(n, args.latency, args.concurrency, args.noncompliant_share)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
