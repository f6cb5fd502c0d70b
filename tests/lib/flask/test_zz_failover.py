"""Failover drill for the Flask interface: a primary killed during traffic through Flask's
request cycle.  Requests to its shard answer 503 (never 500) while the replica is promoted,
then every request works again, and no acknowledged session is lost: every session whose
write was answered 200 reads back with that write (or a later one answered 503, which may
have landed).  Runs last in this folder (file name): it reshapes the shared cluster and
restarts the killed node."""

from __future__ import annotations

import threading
import time
from collections import Counter

from memorydb_sessions import SessionPolicy
from memorydb_sessions.sync import SyncSessionStore

from .conftest import make_app

COOKIE = "session"
# The issue asks for requests working again within 5 s: a measured figure (docs/reliability.md,
# "Framework integrations"), not a timed assertion. The test asserts recovery itself, bounded
# only by what a starved shared CI machine can take (all suites run in parallel on two cores).
RECOVERY_LIMIT_S = 30.0


def test_primary_killed_during_traffic_recovers(cluster, store_config):
    store = SyncSessionStore(store_config, SessionPolicy(store_timeout=1.0))
    app = make_app(store)
    clients = []
    for i in range(30):
        c = app.test_client()
        assert c.get(f"/write?n={i}").status_code == 200
        clients.append((c, str(i)))
    readers = []  # the checker's own clients (a test client is not shared between threads)
    for c, _ in clients:
        reader = app.test_client()
        reader.set_cookie(COOKIE, c.get_cookie(COOKIE).value)
        readers.append(reader)

    stop = threading.Event()
    codes: Counter = Counter()
    acknowledged: dict[int, str] = {}
    unconfirmed: dict[int, set[str]] = {}

    def traffic():
        n = 0
        while not stop.is_set():
            for idx, (c, _) in enumerate(clients):
                if stop.is_set():
                    break
                n += 1
                value = f"w{n}"
                r = c.get(f"/write?n={value}")
                codes[r.status_code] += 1
                if r.status_code == 200:
                    acknowledged[idx], unconfirmed[idx] = value, set()
                else:
                    unconfirmed.setdefault(idx, set()).add(value)
            time.sleep(0.01)

    t = threading.Thread(target=traffic)
    t.start()
    try:
        time.sleep(1.0)
        victim = cluster.kill_primary(0)
        killed_at = time.monotonic()
        recovered_at = None
        while time.monotonic() < killed_at + 60:
            statuses = [reader.get("/read").status_code for reader in readers]
            assert set(statuses) <= {200, 503}, statuses
            if all(s == 200 for s in statuses):
                recovered_at = time.monotonic()
                break
            time.sleep(0.1)
        assert recovered_at is not None, "the interface did not recover after failover"
    finally:
        stop.set()
        t.join(30)
    recovery = recovered_at - killed_at
    print(f"recovered {recovery:.1f}s after the kill; {dict(codes)}")
    # From the kill to every shard answering (RECOVERY_LIMIT_S says why this is no timing test).
    assert recovery < RECOVERY_LIMIT_S, f"recovery took {recovery:.1f}s"
    assert codes[500] == 0 and set(codes) <= {200, 503}, codes
    assert codes[200] > 0

    for idx, (c, first) in enumerate(clients):
        body = c.get("/read").json
        assert body["n"] in {acknowledged.get(idx, first)} | unconfirmed.get(idx, set()), (idx, body)

    cluster.start_node(victim)
    assert len(cluster.primary_nodes()) == 3
    store.close()
