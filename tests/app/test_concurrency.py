"""Concurrent PATCHes of one session: no lost update."""

from __future__ import annotations

import asyncio

import httpx

from .conftest import cookie, new_session, no_cookie_jar


def test_concurrent_patches_all_survive(service):
    with service.client() as c:
        sid = new_session(c, {"base": True})

    async def run():
        async with httpx.AsyncClient(base_url=service.url, timeout=30, cookies=no_cookie_jar()) as ac:
            async def patch(i):
                r = await ac.patch("/api/session", json={f"k{i}": i}, headers=cookie(sid))
                return r.status_code
            return await asyncio.gather(*(patch(i) for i in range(60)))

    codes = asyncio.run(run())
    assert codes == [200] * 60
    with service.client() as c:
        data = c.get("/api/session", headers=cookie(sid)).json()["data"]
    assert data == {"base": True, **{f"k{i}": i for i in range(60) if True}} or len(data) == 61
    assert all(data[f"k{i}"] == i for i in range(60))


def test_concurrent_counter_increments_via_index_page(service):
    """GET / increments a visit counter with the same compare-and-set."""
    with service.client() as c:
        r = c.get("/")
        sid = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]

    async def run():
        async with httpx.AsyncClient(base_url=service.url, timeout=30, cookies=no_cookie_jar()) as ac:
            return await asyncio.gather(*(ac.get("/", headers=cookie(sid)) for _ in range(30)))

    assert all(r.status_code == 200 for r in asyncio.run(run()))
    with service.client() as c:
        assert c.get("/api/session", headers=cookie(sid)).json()["data"]["visits"] == 31
