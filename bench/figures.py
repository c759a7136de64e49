"""How the benches state a figure: its sample count, its percentiles, and the machine.

Every printed figure says how many samples it comes from (``n=…``). A percentile is the
nearest-rank one: the sample at rank ``ceil(q/100 * n)`` of the ``n`` sorted samples, the
smallest with at least ``q`` % of them at or below it, so it is always a measured value, never
an interpolation. A percentile ``q`` is given only when at least one sample lies above it
(``n >= 100 / (100 - q)``: 100 samples for a p99, 10 for a p90); from fewer it would be the
maximum under another name, so only the maximum is printed, called the maximum.

Timings stretch when other work shares the CPUs, so each bench prints ``machine()`` (cores,
CPU model, the 1/5/15-minute load average) beside its figures, before and after the run.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

PERCENTILES = (50, 90, 99)


def nearest_rank(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``samples`` by nearest rank (see the module's docstring)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def enough_for(q: float, n: int) -> bool:
    """Whether ``n`` samples can give a ``q``-th percentile that is not their maximum."""
    return n >= 100 / (100 - q)


def latency(samples_ms: Sequence[float], unit: str = "ms") -> str:
    """``n=44: p50 71 ms, p90 300 ms, max 963 ms``: the percentiles the sample allows, and
    its maximum."""
    n = len(samples_ms)
    if n == 0:
        return "n=0: no samples"
    digits = 1 if max(samples_ms) < 100 else 0
    if n == 1:
        return f"n=1: {samples_ms[0]:.{digits}f} {unit}"
    parts = [
        f"p{q} {nearest_rank(samples_ms, q):.{digits}f} {unit}"
        for q in PERCENTILES
        if enough_for(q, n)
    ]
    parts.append(f"max {max(samples_ms):.{digits}f} {unit}")
    return f"n={n}: " + ", ".join(parts)


def repeated(samples: Sequence[float], unit: str = "s") -> str:
    """The same measurement taken ``n`` times: its median and spread."""
    if not samples:
        return "no samples"
    return (
        f"median {statistics.median(samples):.3f} {unit} "
        f"(min {min(samples):.3f}, max {max(samples):.3f}; n={len(samples)})"
    )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """The machine and how busy it is now: cores, CPU model, load average, time."""
    one, five, fifteen = os.getloadavg()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{os.cpu_count()} cores ({cpu_model()}), load average {one:.2f}, {five:.2f}, "
        f"{fifteen:.2f} (1, 5, 15 min), {now}"
    )
