"""Shared fixtures. Others append their own below; keep each block self-contained."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.aws import SimulatedAws

TESTS = Path(__file__).resolve().parent
# A test's tier is its folder: ``pytest -m unit`` picks the tier to run (README, "Tests").
TIERS = ("unit", "integration", "e2e", "reliability")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.resolve().relative_to(TESTS).parts
        tier = parts[0] if len(parts) > 1 and parts[0] in TIERS else "templates"
        item.add_marker(tier)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``-m <tier>`` alone: the other tiers' files are not even imported (each of their tests
    would be deselected by the tier marker of its folder anyway)."""
    chosen = (config.option.markexpr or "").strip()
    if chosen not in (*TIERS, "templates"):
        return None
    try:
        parts = collection_path.resolve().relative_to(TESTS).parts
    except ValueError:
        return None
    if len(parts) >= 1 and parts[0] in TIERS and parts[0] != chosen:
        return True
    top_level_test = len(parts) == 1 and parts[0].startswith("test_") and parts[0].endswith(".py")
    if top_level_test and chosen != "templates":
        return True
    return None


@pytest.fixture(scope="session")
def moto_server() -> Iterator[SimulatedAws]:
    """moto's server on 127.0.0.1 (a free port) with the root-user and fault extensions."""
    sim = SimulatedAws().start()
    yield sim
    sim.stop()


@pytest.fixture
def aws(moto_server: SimulatedAws) -> Iterator[SimulatedAws]:
    """The simulated AWS, empty: moto's state, root users and faults reset for each test."""
    moto_server.reset()
    yield moto_server
    moto_server.clear_faults()
