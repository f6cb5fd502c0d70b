"""The one real Redis Cluster of a test session (3 primaries + 3 replicas, TLS with a throwaway
CA, ACL user and password), stopped by PID at teardown. Suites that need it import the fixture
into their conftest: `from tests.cluster_fixture import cluster`."""

from __future__ import annotations

import pytest

from localdev.redis_cluster import RedisCluster

# Store timeouts of the clients tests start: CI runs every suite at once on two cores, where a
# TLS handshake with six nodes can take seconds, not the production 0.5 s. Tests of deadlines
# and outages set their own values.
SHARED_CORE_TIMEOUTS = {"SESSION_STORE_CONNECT_TIMEOUT_MS": "5000", "SESSION_STORE_SOCKET_TIMEOUT_MS": "5000",
                        "SESSION_STORE_TIMEOUT_MS": "10000"}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    # Append-only files on, as MemoryDB is durable: the failover drills restart the nodes they kill.
    c = RedisCluster(tmp_path_factory.mktemp("redis-cluster"), appendonly=True)
    c.start()
    try:
        yield c
    finally:
        c.stop()
