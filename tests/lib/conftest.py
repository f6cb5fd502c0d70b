"""Fixtures for the session library and its framework integrations: ONE real Redis Cluster
(3 primaries + 3 replicas, TLS with a throwaway CA, ACL user) for the whole suite, stopped by
PID at teardown."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from memorydb_sessions import SessionPolicy, SessionStore, StoreClient, StoreConfig  # noqa: E402
from tests.cluster_fixture import cluster  # noqa: E402,F401 (the session's cluster)


@pytest.fixture(scope="session")
def store_config(cluster) -> StoreConfig:
    host, port = cluster.endpoint
    # Generous connection timeouts: every suite shares two cores in CI, and a TLS handshake to
    # six nodes can take seconds there. Deadlines are tested with their own values.
    return StoreConfig(host=host, port=port, username=cluster.username, password=cluster.password,
                       ca_file=cluster.ca_file, connect_timeout=5.0, socket_timeout=5.0)


@pytest.fixture()
def make_store(store_config):
    """``async with make_store(**policy) as store`` : a SessionStore on its own connections."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def make(pause=None, **policy):
        client = StoreClient(store_config)
        await client.initialize()
        policy.setdefault("store_timeout", 30.0)  # tests that pause must not hit the deadline
        try:
            yield SessionStore(client, SessionPolicy(**policy), pause=pause)
        finally:
            await client.aclose()

    return make


def run(coro):
    return asyncio.run(coro)
