"""The ASGI middleware in IAM mode (its default store, from the SESSION_* environment): it
authenticates with a token from the core's SigV4 signer (tests/lib/iam_signer.py)."""

from __future__ import annotations

from starlette.testclient import TestClient

from memorydb_sessions.asgi import SessionMiddleware

from ..iam_signer import REGION, iam_env, iam_user
from .test_middleware import APP, COOKIE

USER = "asgi-iam"


def env(monkeypatch, values: dict[str, str]) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def test_middleware_in_iam_mode_signs_in_and_reads(cluster, monkeypatch):
    with iam_user(cluster, monkeypatch, USER):
        env(monkeypatch, iam_env(cluster, USER, REGION))
        mw = SessionMiddleware(APP)
        with TestClient(mw, base_url="https://testserver") as c:
            c.get("/write?n=7")
            token = c.cookies.get(COOKIE)
            c.cookies.clear()
            r = c.get("/login?user=iam-alice", headers={"cookie": f"{COOKIE}={token}"})
            token = r.cookies.get(COOKIE)
            c.cookies.clear()
            assert c.get("/read", headers={"cookie": f"{COOKIE}={token}"}).json() == {
                "data": {"n": "7", "after": "login"}, "user": "iam-alice"}
            c.portal.call(mw._store.client.aclose)


def test_token_signed_for_another_region_is_refused(cluster, monkeypatch):
    with iam_user(cluster, monkeypatch, USER):
        env(monkeypatch, iam_env(cluster, USER, "us-east-1"))
        mw = SessionMiddleware(APP)
        with TestClient(mw, base_url="https://testserver") as c:
            r = c.get("/write?n=1")
            assert r.status_code == 503 and "set-cookie" not in r.headers
            c.portal.call(mw._store.client.aclose)
