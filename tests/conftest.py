"""Shared fixtures. Others append their own below; keep each block self-contained."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator.aws import SimulatedAws


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
