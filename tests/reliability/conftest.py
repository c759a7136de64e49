"""Fixtures of the reliability tests: a throw-away PostgreSQL cluster they may restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator.aws import SimulatedAws
from simulator.slack import SlackStandin
from tests.reliability.harness import APPROVER_GROUP, BOT_TOKEN, GROUP_APPROVER
from tests.support.pg_cluster import PgCluster, PgClusterUnavailable
from tests.support.signing import FINDING_MESSAGE


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgCluster]:
    """One throw-away PostgreSQL cluster for the test run (never the machine's shared server):
    ``initdb`` once, not once per test."""
    try:
        cluster = PgCluster()
    except PgClusterUnavailable as exc:
        pytest.skip(f"no throw-away PostgreSQL cluster: {exc}")
    with cluster:
        yield cluster


@pytest.fixture
def pg_cluster(pg_server: PgCluster) -> PgCluster:
    """The run's cluster as new for this test (running, no database or role but its own), to
    stop and restart at will."""
    pg_server.reset()
    return pg_server


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandin]:
    """The Slack Web API stand-in, knowing the distinctive bot token of these tests."""
    with SlackStandin(bot_token=BOT_TOKEN, earlier=[FINDING_MESSAGE]) as standin:
        yield standin


@pytest.fixture
def fresh(slack: SlackStandin, aws: SimulatedAws) -> SlackStandin:
    """The stand-in with nothing recorded, the approver group known; AWS empty."""
    slack.reset()
    slack.set_usergroup(APPROVER_GROUP, [GROUP_APPROVER])
    return slack
