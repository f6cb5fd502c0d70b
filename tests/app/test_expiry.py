"""Idle and absolute expiry with short timeouts (margins of >= 1 s, so a busy
2-core machine does not make them flaky)."""

from __future__ import annotations

import time

import pytest

from .conftest import cookie, new_session


@pytest.fixture(scope="module")
def short(service_factory):
    return service_factory(SESSION_IDLE_TIMEOUT_SECONDS=2, SESSION_ABSOLUTE_LIFETIME_SECONDS=5)


def test_idle_expiry(short, redis_client):
    with short.client() as c:
        sid = new_session(c, {"a": 1})
        assert 0 < redis_client.ttl(f"sess:{sid}") <= 2
        time.sleep(3.2)
        assert c.get("/api/session", headers=cookie(sid)).status_code == 401
        assert redis_client.exists(f"sess:{sid}") == 0


def test_reads_slide_idle_expiry_until_absolute_lifetime(short):
    with short.client() as c:
        r = c.post("/api/session", json={"data": {}})
        sid = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        max_age = int([a for a in r.headers["set-cookie"].split("; ") if a.startswith("Max-Age=")][0][8:])
        assert max_age <= 5  # cookie never outlives the absolute lifetime
        start = time.monotonic()
        # Reads every ~1 s keep it alive past the 2 s idle timeout...
        while time.monotonic() - start < 3.5:
            time.sleep(1.0)
            assert c.get("/api/session", headers=cookie(sid)).status_code == 200
        # ...but not past the 5 s absolute lifetime.
        while time.monotonic() - start < 6.5:
            time.sleep(0.5)
            c.get("/api/session", headers=cookie(sid))
        assert c.get("/api/session", headers=cookie(sid)).status_code == 401


def test_ttl_never_extends_past_absolute_lifetime(short, redis_client):
    with short.client() as c:
        sid = new_session(c)
        for _ in range(3):  # keep it alive past the idle timeout
            time.sleep(1.2)
            assert c.get("/api/session", headers=cookie(sid)).status_code == 200
        # 1.4 s of absolute lifetime left: the sliding TTL is capped to it.
        assert redis_client.pttl(f"sess:{sid}") <= 1500


def test_expired_session_cannot_be_rotated_or_patched(short):
    with short.client() as c:
        sid = new_session(c)
        time.sleep(3.2)
        assert c.post("/api/session/rotate", headers=cookie(sid)).status_code == 401
        assert c.patch("/api/session", json={"a": 1}, headers=cookie(sid)).status_code == 401
