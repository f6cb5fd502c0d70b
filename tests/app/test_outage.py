"""Store outage: 503 with Retry-After, quickly, never 500; liveness stays up,
readiness goes down; the service recovers by itself."""

from __future__ import annotations

import time

import pytest

from localdev import procs

from .conftest import cookie, start_service


@pytest.fixture(scope="module")
def orphan(cluster, tmp_path_factory):
    """A service whose store endpoint is a port where nothing listens."""
    env = cluster.client_env()
    env["SESSION_STORE_PORT"] = str(procs.free_port())
    s = start_service(tmp_path_factory.mktemp("orphan"), env)
    yield s
    s.stop()


def test_store_down_gives_503_with_retry_after(orphan):
    with orphan.client() as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/readyz")
        assert r.status_code == 503
        for method, path, kw in [
            ("POST", "/api/session", {"json": {"data": {}}}),
            ("GET", "/api/session", {"headers": cookie("A" * 55)}),
            ("PATCH", "/api/session", {"json": {"a": 1}, "headers": cookie("A" * 55)}),
            ("DELETE", "/api/session", {"headers": cookie("A" * 55)}),
            ("POST", "/api/session/rotate", {"headers": cookie("A" * 55)}),
            ("DELETE", "/api/users/u1/sessions", {"headers": cookie("A" * 55)}),
        ]:
            t0 = time.monotonic()
            r = c.request(method, path, **kw)
            elapsed = time.monotonic() - t0
            assert r.status_code == 503, (method, path, r.status_code, r.text)
            assert int(r.headers["retry-after"]) >= 1
            assert r.json()["error"]
            # "Quickly": bounded by the store deadline, not a hang (generous bound).
            assert elapsed < 10, (method, path, elapsed)
        # Requests without a session id never need the store, nor does the static page.
        assert c.get("/api/session").status_code == 401
        assert c.get("/").status_code == 200
    assert '"status":500' not in orphan.logs()


def test_healthcheck_command(orphan):
    import subprocess
    import sys

    from .conftest import ROOT

    env = dict(orphan.env)
    ok = subprocess.run([sys.executable, "-m", "app", "healthcheck"], cwd=ROOT, env=env, timeout=30)
    assert ok.returncode == 0  # liveness does not depend on the store
    env["SESSION_HTTP_PORT"] = str(procs.free_port())
    bad = subprocess.run([sys.executable, "-m", "app", "healthcheck"], cwd=ROOT, env=env, timeout=30)
    assert bad.returncode == 1
