"""How the benches state a figure (``bench/figures.py``): percentiles by nearest rank, none
from a sample too small for it, the sample count and the machine with every figure."""

from __future__ import annotations

import re
from pathlib import Path

from bench.figures import latency, machine, nearest_rank, repeated

ROOT = Path(__file__).resolve().parents[2]


def test_a_percentile_is_the_nearest_ranked_sample() -> None:
    hundred = [float(x) for x in range(100, 0, -1)]  # unordered on purpose
    assert nearest_rank(hundred, 50) == 50
    assert nearest_rank(hundred, 90) == 90
    assert nearest_rank(hundred, 99) == 99  # not the maximum: one sample is above it
    assert nearest_rank([3.0, 1.0, 2.0], 50) == 2
    assert nearest_rank([7.0], 50) == 7


def test_no_p99_from_44_samples_the_maximum_is_called_the_maximum() -> None:
    """44 alert latencies were published as "p99 963 ms": that was the largest of 44."""
    samples = [float(x) for x in range(1, 45)]
    text = latency(samples)
    assert "p99" not in text
    assert "n=44" in text and "max 44.0 ms" in text
    assert "p90 40.0 ms" in text and "p50 22.0 ms" in text


def test_a_p99_is_given_from_a_hundred_samples_and_is_not_the_maximum() -> None:
    text = latency([float(x) for x in range(1, 201)])
    assert "n=200" in text and "p99 198 ms" in text and "max 200 ms" in text


def test_a_single_sample_is_only_its_value() -> None:
    assert latency([12.34]) == "n=1: 12.3 ms"


def test_repeated_timings_give_their_count_median_and_spread() -> None:
    text = repeated([0.61, 0.55, 0.80, 0.60, 0.58], "s")
    assert text == "median 0.600 s (min 0.550, max 0.800; n=5)"


def test_the_machine_line_names_cores_and_the_load_average() -> None:
    line = machine()
    assert re.search(r"\d+ cores", line), line
    assert re.search(r"load average \d+\.\d\d, \d+\.\d\d, \d+\.\d\d", line), line


def test_every_bench_computes_percentiles_in_one_place_and_states_the_machine() -> None:
    """A bench with its own percentile (two of them gave the maximum as p99) or without the
    machine's load beside its figures fails here."""
    for path in sorted((ROOT / "bench").glob("*.py")):
        if path.name == "figures.py":
            continue
        source = path.read_text()
        assert "def percentile" not in source, path.name
        if re.search(r"\bp99\b|\bp50\b", source):
            assert "from bench.figures import" in source, path.name
    for name in ("digest.py", "alert_latency.py", "load.py", "ack_latency.py"):
        assert "machine()" in (ROOT / "bench" / name).read_text(), name
