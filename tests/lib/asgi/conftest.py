"""ASGI fixtures: ours is configured from the SESSION_* environment (its default), pointed at
the suite's cluster."""

from __future__ import annotations

import pytest


@pytest.fixture()
def cluster_env(cluster, monkeypatch):
    for key, value in cluster.client_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SESSION_STORE_TIMEOUT_MS", "10000")
    # TLS handshakes with six nodes on two cores shared by every suite in CI: not 0.5 s.
    monkeypatch.setenv("SESSION_STORE_CONNECT_TIMEOUT_MS", "5000")
