"""A primary killed during traffic: requests to its shard get 503 (never 500)
while its replica is promoted, then the service recovers by itself, without a
restart.  Runs last (file name) because it reshapes the shared cluster; it
restarts the killed node and waits for a healthy cluster again."""

from __future__ import annotations

import threading
import time
from collections import Counter

from .conftest import cookie, new_session, user_session


def test_primary_killed_during_traffic_recovers(cluster, service, redis_client):
    with service.client() as c:
        sids = [new_session(c, {"i": i}) for i in range(30)]

    stop = threading.Event()
    codes: Counter = Counter()
    first_ok_after_kill: list[float] = []
    killed_at: list[float] = []

    def traffic():
        with service.client() as c:
            while not stop.is_set():
                for sid in sids:
                    if stop.is_set():
                        break
                    try:
                        r = c.get("/api/session", headers=cookie(sid))
                        codes[r.status_code] += 1
                    except Exception as exc:  # noqa: BLE001 - counted, asserted below
                        codes[type(exc).__name__] += 1
                time.sleep(0.01)

    t = threading.Thread(target=traffic)
    t.start()
    try:
        time.sleep(1.0)
        victim = cluster.kill_primary(0)
        killed_at.append(time.monotonic())
        # Recovery: every session readable again (those on the killed shard
        # were replicated: writes were acknowledged well before the kill).
        deadline = time.monotonic() + 60
        recovered = False
        with service.client() as c:
            while time.monotonic() < deadline:
                statuses = [c.get("/api/session", headers=cookie(s)).status_code for s in sids]
                if all(code == 200 for code in statuses):
                    recovered = True
                    first_ok_after_kill.append(time.monotonic())
                    break
                assert set(statuses) <= {200, 503}, statuses
                time.sleep(0.2)
        assert recovered, "service did not recover after failover"
    finally:
        stop.set()
        t.join(30)
    assert codes[500] == 0, codes
    assert set(codes) <= {200, 503}, codes
    assert codes[200] > 0
    print(f"recovered {first_ok_after_kill[0] - killed_at[0]:.1f}s after the kill; {dict(codes)}")

    # Writes work again too, and the old primary rejoins as a replica.
    with service.client() as c:
        sid = new_session(c, {"after": "failover"})
        assert c.get("/api/session", headers=cookie(sid)).status_code == 200
    cluster.start_node(victim)
    assert len(cluster.primary_nodes()) == 3


def test_whole_cluster_restart_from_aof_keeps_sessions(cluster, service, redis_client):
    """Every node stopped and started again from its append-only file: the
    sessions are still there and the running service reconnects by itself."""
    with service.client() as c:
        sids = [user_session(c, redis_client, "aof-user", {"durable": i}) for i in range(10)]
        time.sleep(1.2)  # appendfsync everysec (a clean SIGTERM also flushes)
    cluster.restart_all()
    deadline = time.monotonic() + 60
    with service.client() as c:
        while time.monotonic() < deadline:
            codes = [c.get("/api/session", headers=cookie(s)).status_code for s in sids]
            assert set(codes) <= {200, 503}, codes
            if codes == [200] * len(sids):
                break
            time.sleep(0.3)
        assert [c.get("/api/session", headers=cookie(s)).json()["data"]["durable"] for s in sids] == list(range(10))
        assert c.get("/readyz").status_code == 200
