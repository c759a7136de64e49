"""How long does sending an Organization's verdicts to Security Hub take? Prints figures.

    .venv/bin/python bench/securityhub_export.py                  # 1,000 accounts, 50 ms a call
    .venv/bin/python bench/securityhub_export.py --accounts 5000 --latency 0.1

The simulated AWS (moto's server with the Security Hub layer) runs in this process and adds a
fixed latency to every AWS call in the server. The first export creates one finding per account
(2 % of them FAILED); the second is the next audit after every key was deleted: the same
findings are updated to PASSED and the workflow of the formerly FAILED ones is resolved. The
requests are few because findings go 100 to a request: per export, one GetCallerIdentity,
ceil(existing / 100) GetFindings pages, ceil(N / 100) BatchImportFindings and, after the fix,
ceil(resolved / 100) BatchUpdateFindings.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.audit.models import AccountSummary, utcnow  # noqa: E402
from bot.audit.verdict import decide  # noqa: E402
from bot.aws.securityhub import SecurityHubExporter  # noqa: E402
from simulator.aws import REGION, SimulatedAws  # noqa: E402


def verdicts(n: int, share: float, fixed: bool) -> list:
    keyed = set(range(0, n, max(1, round(1 / share)))) if share > 0 else set()
    now = utcnow()
    return [
        decide(
            f"{100000000000 + i:012d}",
            source="aws",
            now=now,
            summary=AccountSummary(i in keyed and not fixed, False, False, True),
        )
        for i in range(n)
    ]


def run(n: int, latency: float, share: float) -> None:
    with SimulatedAws() as sim:
        sim.client("securityhub").enable_security_hub()
        sim.set_latency(latency)
        exporter = SecurityHubExporter(sim.session(), REGION)
        for label, fixed in (("first audit (create)", False), ("after the fix (update)", True)):
            batch = verdicts(n, share, fixed)
            sim.reset_calls()
            started = time.perf_counter()
            report = exporter.export(batch)
            wall = time.perf_counter() - started
            calls = sim.calls_by_action()
            assert report.ok, report.failure_lines()[:3]
            by_action = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
            print(
                f"{n:>6} accounts, {label:<22}: {wall:6.2f} s, "
                f"{sum(calls.values())} requests ({by_action}), "
                f"{report.imported} imported, {report.resolved} resolved, "
                f"{n / wall:,.0f} findings/s; "
                f"floor {math.ceil(n / 100) * latency:.2f} s for the imports alone"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[1000])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--share", type=float, default=0.02, help="accounts with a key")
    args = parser.parse_args()
    for n in args.accounts:
        run(n, args.latency, args.share)


if __name__ == "__main__":
    main()
