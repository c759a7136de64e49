"""Fixtures of the reliability tests: a throw-away PostgreSQL cluster they may restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.pg_cluster import PgCluster, PgClusterUnavailable


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of this test alone (never the machine's shared server)."""
    try:
        cluster = PgCluster()
    except PgClusterUnavailable as exc:
        pytest.skip(f"no throw-away PostgreSQL cluster: {exc}")
    with cluster:
        yield cluster
