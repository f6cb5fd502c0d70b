"""Failover drill for the ASGI middleware: a primary killed during concurrent traffic (one
event loop, as under uvicorn).  Requests to its shard answer 503 (never 500) while the
replica is promoted, then every request works again, and no acknowledged session is lost
(tests/lib/failover_drill.py). Runs last in this folder (file name): it reshapes the shared cluster and restarts the
killed node."""

from __future__ import annotations

import asyncio
import time

import httpx

from memorydb_sessions.asgi import SessionMiddleware

from ..failover_drill import SESSIONS, Outcome
from .test_middleware import APP, COOKIE



async def get(client: httpx.AsyncClient, path: str, token: str | None) -> tuple[int, str | None, httpx.Response]:
    headers = {"cookie": f"{COOKIE}={token}"} if token else {}
    r = await client.get(path, headers=headers)
    client.cookies.clear()
    for header in r.headers.get_list("set-cookie"):
        if header.startswith(COOKIE + "="):
            token = header.split("=", 1)[1].split(";")[0]
    return r.status_code, token, r


async def drill(cluster) -> Outcome:
    mw = SessionMiddleware(APP)
    transport = httpx.ASGITransport(app=mw, raise_app_exceptions=False)
    outcome = Outcome()
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        tokens = []
        for i in range(SESSIONS):
            status, token, _ = await get(client, f"/write?n={i}", None)
            assert status == 200
            tokens.append(token)
            outcome.acknowledged[i] = str(i)
        stop = asyncio.Event()

        async def traffic(idx: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                value = f"w{idx}-{n}"
                status, _, _ = await get(client, f"/write?n={value}", tokens[idx])
                outcome.record(idx, value, status)
                await asyncio.sleep(0.02)

        async def read_all() -> list[int]:
            return [(await get(client, "/read", t))[0] for t in tokens]

        workers = [asyncio.create_task(traffic(i)) for i in range(SESSIONS)]
        try:
            await asyncio.sleep(1.0)
            victim = await asyncio.to_thread(cluster.kill_primary, 0)
            killed_at = time.monotonic()
            while outcome.recovery_s is None and time.monotonic() < killed_at + 60:
                statuses = await read_all()
                assert set(statuses) <= {200, 503}, statuses
                if all(s == 200 for s in statuses):
                    outcome.recovery_s = time.monotonic() - killed_at
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await asyncio.gather(*workers)
        for idx, token in enumerate(tokens):
            status, _, r = await get(client, "/read", token)
            outcome.check_read(idx, r.json()["data"].get("n") if status == 200 else None)
        await mw._store.client.aclose()
    await asyncio.to_thread(cluster.start_node, victim)
    return outcome


def test_primary_killed_during_traffic_recovers(cluster, cluster_env, monkeypatch):
    monkeypatch.setenv("SESSION_STORE_TIMEOUT_MS", "1000")
    asyncio.run(drill(cluster)).assert_passed()
    assert len(cluster.primary_nodes()) == 3
