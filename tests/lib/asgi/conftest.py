"""ASGI fixtures: ours is configured from the SESSION_* environment (its default), pointed at
the suite's cluster."""

from __future__ import annotations

import pytest

from tests.cluster_fixture import SHARED_CORE_TIMEOUTS


@pytest.fixture()
def cluster_env(cluster, monkeypatch):
    for key, value in cluster.client_env().items():
        monkeypatch.setenv(key, value)
    for key, value in SHARED_CORE_TIMEOUTS.items():
        monkeypatch.setenv(key, value)
