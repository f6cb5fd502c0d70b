"""The ASGI app in-process (httpx's ASGI transport) against the real cluster:
readiness during a drain, and request handling without a network hop."""

from __future__ import annotations

import asyncio

import httpx

from app.config import Settings
from app.http import App

from .conftest import TEST_LIMITS


def test_readiness_goes_false_when_draining(cluster):
    async def run():
        app = App(Settings.from_env({**cluster.client_env(), **TEST_LIMITS}), log_requests=False, handle_signals=False)
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                assert (await c.get("/readyz")).status_code == 200
                r = await c.post("/api/session", json={"data": {"k": "v"}})
                assert r.status_code == 201
                sid = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
                app.begin_drain()  # what SIGTERM does first
                r = await c.get("/readyz")
                assert r.status_code == 503 and r.json() == {"status": "draining"}
                # In-flight and keep-alive requests are still served while draining.
                assert (await c.get("/api/session", headers={"Cookie": f"sid={sid}"})).status_code == 200
                assert (await c.get("/healthz")).status_code == 200
        finally:
            await app.shutdown()

    asyncio.run(run())
