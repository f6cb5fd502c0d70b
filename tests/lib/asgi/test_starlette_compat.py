"""Swapping Starlette's SessionMiddleware for ours needs no change elsewhere: the same app
(compat_app.py, written for Starlette's) passes the same assertions with either, in Starlette
and in FastAPI.  Ours runs on the real TLS cluster."""

from __future__ import annotations

import pytest
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware
from starlette.testclient import TestClient

from memorydb_sessions.asgi import SessionMiddleware as OurSessionMiddleware

from . import compat_app

MIDDLEWARES = [pytest.param(StarletteSessionMiddleware, id="starlette"), pytest.param(OurSessionMiddleware, id="ours")]


@pytest.fixture(params=MIDDLEWARES)
def middleware(request, cluster_env):
    return request.param


def client(app) -> TestClient:
    return TestClient(app, base_url="https://testserver")


def test_session_round_trip(middleware):
    with client(compat_app.build(middleware)) as c:
        assert c.get("/read").json() == {"session": {}}
        assert c.get("/write?n=1").json() == {"session": {"n": "1", "first": "1"}}
        assert c.get("/write?n=2").json() == {"session": {"n": "2", "first": "1"}}
        assert c.get("/add?v=a").json()["session"]["items"] == ["a"]
        assert c.get("/add?v=b").json()["session"]["items"] == ["a", "b"]
        assert c.get("/pop").json() == {"session": {"first": "1", "items": ["a", "b"]}}
        assert c.get("/read").json() == {"session": {"first": "1", "items": ["a", "b"]}}


def test_no_cookie_until_something_is_stored(middleware):
    with client(compat_app.build(middleware)) as c:
        r = c.get("/read")
        assert "set-cookie" not in r.headers
        assert "set-cookie" not in c.get("/healthz").headers


def test_cookie_flags(middleware):
    with client(compat_app.build(middleware)) as c:
        header = c.get("/write?n=1").headers["set-cookie"]
        assert header.startswith("sess=")
        for part in ("path=/", "Max-Age=3600", "httponly", "samesite=strict", "secure"):
            assert part in header, (part, header)
        assert c.get("/read").headers.get("vary") == "Cookie"


def test_clear_expires_the_cookie(middleware):
    with client(compat_app.build(middleware)) as c:
        c.get("/write?n=1")
        r = c.get("/clear")
        assert "sess=null" in r.headers["set-cookie"] and "1970" in r.headers["set-cookie"]
        assert c.get("/read").json() == {"session": {}}


def test_a_tampered_cookie_is_an_empty_session(middleware):
    with client(compat_app.build(middleware)) as c:
        c.cookies.set("sess", "tampered")
        assert c.get("/read").json() == {"session": {}}


def test_fastapi_dependency_and_sync_endpoints(middleware):
    with client(compat_app.build_fastapi(middleware)) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/cart/add?item=tea").json() == {"cart": ["tea"]}
        assert c.get("/cart/add?item=jam").json() == {"cart": ["tea", "jam"]}
        assert c.get("/cart").json() == {"cart": ["tea", "jam"]}
        assert c.post("/cart/empty").json() == {"cart": []}
        assert c.get("/cart").json() == {"cart": []}
