"""Idle and absolute expiry with short timeouts (idle 3 s, absolute 8 s).  Every
step keeps a margin of at least ~1.5 s, so a busy 2-core machine does not make
them flaky."""

from __future__ import annotations

import time

import pytest

from .conftest import cookie, key_of, new_session

IDLE, ABSOLUTE = 3, 8


@pytest.fixture(scope="module")
def short(service_factory):
    return service_factory(SESSION_IDLE_TIMEOUT_SECONDS=IDLE, SESSION_ABSOLUTE_LIFETIME_SECONDS=ABSOLUTE)


def test_idle_expiry(short, redis_client):
    with short.client() as c:
        sid = new_session(c, {"a": 1})
        assert 0 < redis_client.ttl(key_of(sid)) <= IDLE
        time.sleep(IDLE + 1.5)
        assert c.get("/api/session", headers=cookie(sid)).status_code == 401
        assert redis_client.exists(key_of(sid)) == 0


def test_reads_slide_idle_expiry_until_absolute_lifetime(short):
    with short.client() as c:
        r = c.post("/api/session", json={"data": {}})
        start = time.monotonic()
        sid = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        assert "Max-Age" not in r.headers["set-cookie"]  # a browser-session cookie; the store ends the session
        # Reads every ~1 s keep it alive well past the idle timeout...
        while time.monotonic() - start < IDLE + 2:
            time.sleep(1.0)
            assert c.get("/api/session", headers=cookie(sid)).status_code == 200
        # ...but not past the absolute lifetime.
        while time.monotonic() - start < ABSOLUTE + 1.5:
            time.sleep(1.0)
            c.get("/api/session", headers=cookie(sid))
        assert c.get("/api/session", headers=cookie(sid)).status_code == 401


def test_ttl_never_extends_past_absolute_lifetime(short, redis_client):
    with short.client() as c:
        sid = new_session(c)
        start = time.monotonic()
        while time.monotonic() - start < ABSOLUTE - 2:  # keep it alive past the idle timeout
            time.sleep(1.0)
            assert c.get("/api/session", headers=cookie(sid)).status_code == 200
        # At most 2 s of absolute lifetime are left: the sliding TTL is capped to
        # that, not reset to the 3 s idle timeout.
        assert redis_client.pttl(key_of(sid)) <= 2100


def test_expired_session_cannot_be_rotated_or_patched(short):
    with short.client() as c:
        sid = new_session(c)
        time.sleep(IDLE + 1.5)
        assert c.post("/api/session/rotate", headers=cookie(sid)).status_code == 401
        assert c.patch("/api/session", json={"a": 1}, headers=cookie(sid)).status_code == 401
