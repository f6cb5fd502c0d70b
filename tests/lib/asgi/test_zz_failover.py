"""Failover drill for the ASGI middleware: a primary killed during concurrent traffic (one
event loop, as under uvicorn).  Requests to its shard answer 503 (never 500) while the
replica is promoted, then every request works again, and no acknowledged session is lost.
Runs last in this folder (file name): it reshapes the shared cluster and restarts the
killed node."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx

from memorydb_sessions.asgi import SessionMiddleware

from .test_middleware import APP, COOKIE

# The issue asks for requests working again within 5 s: a measured figure (docs/reliability.md,
# "Framework integrations"), not a timed assertion. The test asserts recovery itself, bounded
# only by what a starved shared CI machine can take (all suites run in parallel on two cores).
RECOVERY_LIMIT_S = 30.0


async def get(client: httpx.AsyncClient, path: str, token: str | None) -> tuple[int, str | None, httpx.Response]:
    headers = {"cookie": f"{COOKIE}={token}"} if token else {}
    r = await client.get(path, headers=headers)
    client.cookies.clear()
    for header in r.headers.get_list("set-cookie"):
        if header.startswith(COOKIE + "="):
            token = header.split("=", 1)[1].split(";")[0]
    return r.status_code, token, r


async def drill(cluster) -> tuple[float, Counter, list]:
    mw = SessionMiddleware(APP)
    transport = httpx.ASGITransport(app=mw, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        tokens = []
        for i in range(30):
            status, token, _ = await get(client, f"/write?n={i}", None)
            assert status == 200
            tokens.append(token)
        codes: Counter = Counter()
        acknowledged: dict[int, str] = {i: str(i) for i in range(30)}
        unconfirmed: dict[int, set[str]] = {}
        stop = asyncio.Event()

        async def traffic(idx: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                value = f"w{idx}-{n}"
                status, _, _ = await get(client, f"/write?n={value}", tokens[idx])
                codes[status] += 1
                if status == 200:
                    acknowledged[idx], unconfirmed[idx] = value, set()
                else:
                    unconfirmed.setdefault(idx, set()).add(value)
                await asyncio.sleep(0.02)

        workers = [asyncio.create_task(traffic(i)) for i in range(30)]
        try:
            await asyncio.sleep(1.0)
            victim = await asyncio.to_thread(cluster.kill_primary, 0)
            killed_at = time.monotonic()
            recovered_at = None
            while time.monotonic() < killed_at + 60:
                statuses = [(await get(client, "/read", t))[0] for t in tokens]
                assert set(statuses) <= {200, 503}, statuses
                if all(s == 200 for s in statuses):
                    recovered_at = time.monotonic()
                    break
                await asyncio.sleep(0.1)
            assert recovered_at is not None, "the middleware did not recover after failover"
        finally:
            stop.set()
            await asyncio.gather(*workers)
        lost = []
        for idx, token in enumerate(tokens):
            _, _, r = await get(client, "/read", token)
            if r.json()["data"].get("n") not in {acknowledged[idx]} | unconfirmed.get(idx, set()):
                lost.append((idx, r.json()))
        await mw._store.client.aclose()
    await asyncio.to_thread(cluster.start_node, victim)
    return recovered_at - killed_at, codes, lost


def test_primary_killed_during_traffic_recovers(cluster, cluster_env, monkeypatch):
    monkeypatch.setenv("SESSION_STORE_TIMEOUT_MS", "1000")
    recovery, codes, lost = asyncio.run(drill(cluster))
    print(f"recovered {recovery:.1f}s after the kill; {dict(codes)}")
    # From the kill to every shard answering (RECOVERY_LIMIT_S says why this is no timing test).
    assert recovery < RECOVERY_LIMIT_S, f"recovery took {recovery:.1f}s"
    assert codes[500] == 0 and set(codes) <= {200, 503}, codes
    assert codes[200] > 0
    assert lost == []  # no acknowledged session lost
    assert len(cluster.primary_nodes()) == 3
