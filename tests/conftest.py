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
