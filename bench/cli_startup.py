"""How long `python -m bot check --credential-report FILE` takes, beside `python -c pass`.

    .venv/bin/python bench/cli_startup.py            # 10 runs of each, medians printed
    .venv/bin/python bench/cli_startup.py --runs 20

Each run is a fresh interpreter (what a pipeline pays per call): the offline audit of one
credential report (a sample from tests/samples/reports), ``check --help``, and an empty
interpreter for the floor. Wall time waits for a CPU on a busy machine; the CPU time (user +
system of the child) does not, so both are printed. Also prints which heavy packages the
offline check imported (SQLAlchemy, Alembic, boto3, slack_bolt), from ``python -X importtime``.
Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "tests" / "samples" / "reports" / "content-decoded.json"
HEAVY = ("sqlalchemy", "alembic", "boto3", "botocore", "slack_bolt", "slack_sdk", "apscheduler")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run."""
    cpu, started = children_cpu(), time.perf_counter()
    subprocess.run(command, env=env, cwd=REPO, capture_output=True, check=False)
    return time.perf_counter() - started, children_cpu() - cpu


def median_of(runs: int, command: list[str], env: dict[str, str]) -> tuple[float, float]:
    timed(command, env)  # warm the file cache once
    samples = [timed(command, env) for _ in range(runs)]
    return (
        statistics.median(wall for wall, _ in samples),
        statistics.median(cpu for _, cpu in samples),
    )


def heavy_imports(command: list[str], env: dict[str, str]) -> list[str]:
    proc = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    found = set()
    for line in proc.stderr.splitlines():
        name = line.rsplit("|", 1)[-1].strip()
        top = name.split(".", 1)[0]
        if top in HEAVY:
            found.add(top)
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(REPO), "PYTHONPATH": str(REPO)}
    python = sys.executable
    check = [python, "-m", "bot", "check", "--credential-report", str(SAMPLE)]
    cases = [
        ("python -c pass", [python, "-c", "pass"]),
        ("python -m bot check --credential-report FILE", check),
        ("python -m bot check --help", [python, "-m", "bot", "check", "--help"]),
    ]
    print(f"median of {args.runs} runs, each a fresh interpreter ({os.cpu_count()} CPUs)")
    print(f"{'wall':>8}  {'CPU':>8}  command")
    for label, command in cases:
        wall, cpu = median_of(args.runs, command, env)
        print(f"{wall:7.3f}s  {cpu:7.3f}s  {label}")
    heavy = heavy_imports(check, env)
    print("heavy packages imported by the offline check:", ", ".join(heavy) or "none")


if __name__ == "__main__":
    main()
