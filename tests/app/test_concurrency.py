"""Concurrent PATCHes of one session: no lost update."""

from __future__ import annotations

import asyncio

import httpx

from .conftest import cookie, key_of, new_session, no_cookie_jar


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


def test_patch_after_a_change_made_elsewhere_keeps_both(service, redis_client):
    """The service remembers the value it last saw and uses it as the expected
    value of its compare-and-set; a change made elsewhere (another instance)
    in between makes the CAS fail, the service re-reads, and nothing is lost."""
    import orjson

    with service.client() as c:
        sid = new_session(c, {"mine": 1})
        assert c.get("/api/session", headers=cookie(sid)).status_code == 200  # remembered now
        key = key_of(sid)
        raw = redis_client.get(key)
        rec = orjson.loads(raw[16:])  # after the record's write id (memorydb_sessions/records.py)
        rec["d"]["theirs"] = 2  # another instance's write
        redis_client.set(key, b"f" * 16 + orjson.dumps(rec), keepttl=True)
        r = c.patch("/api/session", json={"again": 3}, headers=cookie(sid))
        assert r.status_code == 200
        assert r.json()["data"] == {"mine": 1, "theirs": 2, "again": 3}
        # And a PATCH after the session was deleted elsewhere is a miss, not a resurrection.
        redis_client.delete(key)
        assert c.patch("/api/session", json={"x": 1}, headers=cookie(sid)).status_code == 401
        assert redis_client.exists(key) == 0


def test_recent_values_is_bounded():
    from memorydb_sessions.recent import RecentValues

    rv = RecentValues(max_entries=3, max_bytes=100)
    for i in range(5):
        rv.put(f"s{i}", b"x" * 10)
    assert rv.get("s0") is None and rv.get("s4") == b"x" * 10
    rv.put("big", b"y" * 95)
    assert rv.bytes <= 100
    rv.drop("big")
    assert rv.get("big") is None and rv.bytes >= 0
