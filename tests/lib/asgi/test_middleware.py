"""Our ASGI middleware on the real TLS cluster beyond Starlette's contract: no store call
without a session cookie, writes only on change, sign-in under a new token, rotation,
revocation, and attacks (forged cookies, fixation, resurrection, store down)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from memorydb_sessions import SessionPolicy, SessionStore, StoreClient, StoreConfig, asgi, tokens

COOKIE = "session"


async def read(request: Request):
    return JSONResponse({"data": dict(request.session), "user": asgi.user_id(request)})


async def write(request: Request):
    request.session["n"] = request.query_params["n"]
    return PlainTextResponse("ok")


async def login(request: Request):
    await asgi.sign_in(request, request.query_params["user"])
    request.session["after"] = "login"
    return PlainTextResponse("ok")


async def rotate(request: Request):
    await asgi.rotate(request)
    return PlainTextResponse("ok")


async def everywhere(request: Request):
    return JSONResponse({"ended": await asgi.sign_out_everywhere(request)})


async def mine(request: Request):
    return JSONResponse({"n": len(await asgi.list_sessions(request))})


async def race(request: Request):
    request.session.get("n")  # loaded before the app ran
    await asgi._state(request).store.revoke_user(asgi.user_id(request))  # logged out elsewhere meanwhile
    request.session["n"] = "after"
    return PlainTextResponse("ok")


async def healthz(request: Request):
    return PlainTextResponse("ok")


APP = Starlette(routes=[Route(p, f) for p, f in [("/read", read), ("/write", write), ("/login", login),
                                                 ("/rotate", rotate), ("/everywhere", everywhere),
                                                 ("/mine", mine), ("/race", race), ("/healthz", healthz)]])


class Harness:
    def __init__(self, **options) -> None:
        self.mw = asgi.SessionMiddleware(APP, **options)
        self.calls: list[str] = []

    def __enter__(self):
        self.client = TestClient(self.mw, base_url="https://testserver").__enter__()
        store = self.client.portal.call(self.mw.store)

        async def record(name: str) -> None:
            if not self.calls or self.calls[-1] != name:  # EVALSHA then EVAL (script not cached yet) is one call
                self.calls.append(name)

        store._pause = record
        return self

    def __exit__(self, *exc):
        self.client.__exit__(*exc)  # lifespan shutdown closes the store's connections

    def browser(self) -> "Browser":
        return Browser(self.client)


class Browser:
    """One browser's cookie over the harness's client (one event loop, one store)."""

    def __init__(self, client: TestClient) -> None:
        self.client, self.token = client, None

    def get(self, path: str):
        self.client.cookies.clear()
        headers = {"cookie": f"{COOKIE}={self.token}"} if self.token is not None else {}
        r = self.client.get(path, headers=headers)
        self.client.cookies.clear()
        for header in r.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            if name == COOKIE:
                value = rest.split(";")[0]
                self.token = None if value == "null" else value
        return r


def test_no_store_call_without_a_session_cookie(cluster_env):
    with Harness() as h:
        b = h.browser()
        assert b.get("/read").json() == {"data": {}, "user": None}
        assert b.get("/healthz").status_code == 200
        assert h.calls == []


def test_writes_only_when_the_data_changed(cluster_env):
    with Harness() as h:
        b = h.browser()
        b.get("/write?n=1")
        assert h.calls == ["create"]
        h.calls.clear()
        b.get("/write?n=1")  # the same value: marked modified, nothing changed
        assert h.calls == ["read"]
        h.calls.clear()
        b.get("/write?n=2")
        assert h.calls == ["read", "compare-and-set"]


def test_forged_cookie_never_reaches_the_store(cluster_env):
    with Harness() as h:
        b = h.browser()
        b.token = "x' OR 1=1"
        assert b.get("/read").json()["data"] == {}
        assert h.calls == []


def test_sign_in_new_token_old_one_dead_and_planted_token_stays_anonymous(cluster_env):
    with Harness() as h:
        b = h.browser()
        attacker = h.browser()
        attacker.get("/write?n=planted")
        planted = attacker.token
        b.token = planted
        b.get("/login?user=asgi-alice")
        assert b.token != planted and tokens.is_token(b.token)
        assert b.get("/read").json() == {"data": {"n": "planted", "after": "login"}, "user": "asgi-alice"}
        assert attacker.get("/read").json() == {"data": {}, "user": None}


def test_rotate_and_sign_out_everywhere(cluster_env):
    with Harness() as h:
        b = h.browser()
        other = h.browser()
        b.get("/login?user=asgi-bob")
        other.get("/login?user=asgi-bob")
        before = b.token
        b.get("/rotate")
        assert b.token != before and b.get("/read").json()["user"] == "asgi-bob"
        assert b.get("/mine").json() == {"n": 2}
        assert b.get("/everywhere").json() == {"ended": 2}
        assert other.get("/read").json() == {"data": {}, "user": None}
        assert b.get("/read").json() == {"data": {}, "user": None}


def test_session_ended_between_load_and_save_is_not_resurrected(cluster_env):
    with Harness() as h:
        b = h.browser()
        b.get("/login?user=asgi-carol")
        r = b.get("/race")
        assert "null" in r.headers["set-cookie"] and "1970" in r.headers["set-cookie"]
        assert b.get("/read").json() == {"data": {}, "user": None}


def test_max_age_never_outlives_the_core_session(cluster_env, monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_TIMEOUT_SECONDS", "600")
    monkeypatch.setenv("SESSION_ABSOLUTE_LIFETIME_SECONDS", "900")
    with Harness(max_age=14 * 86400) as h:
        b = h.browser()
        header = b.get("/write?n=1").headers["set-cookie"]
        max_age = int(header.split("Max-Age=")[1].split(";")[0])
        assert 0 < max_age <= 900


def test_store_down_answers_503_never_500():
    async def make():
        client = StoreClient(StoreConfig(host="127.0.0.1", port=1, tls=False, connect_timeout=0.1,
                                         socket_timeout=0.1))
        return SessionStore(client, SessionPolicy(store_timeout=0.5))

    mw = asgi.SessionMiddleware(APP)
    with TestClient(mw, raise_server_exceptions=False) as c:
        mw._store = c.portal.call(make)
        assert c.get("/healthz").status_code == 200  # no cookie: no store needed
        r = c.get("/write?n=1")
        assert r.status_code == 503 and r.headers["retry-after"] == "1" and "set-cookie" not in r.headers
        c.cookies.set(COOKIE, tokens.new_token())
        assert c.get("/read").status_code == 503


def test_helper_failing_in_an_app_answers_503(monkeypatch):
    """As installed by add_middleware (inside Starlette's error middleware), a helper's
    StoreUnavailable is answered 503, not Starlette's 500."""
    from starlette.middleware import Middleware
    for key, value in {"SESSION_STORE_ENDPOINT": "127.0.0.1", "SESSION_STORE_PORT": "1", "SESSION_STORE_TLS": "false",
                       "SESSION_STORE_CONNECT_TIMEOUT_MS": "100", "SESSION_STORE_TIMEOUT_MS": "500"}.items():
        monkeypatch.setenv(key, value)
    app = Starlette(routes=APP.routes, middleware=[Middleware(asgi.SessionMiddleware)])
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/login?user=x")
        assert r.status_code == 503 and r.headers["retry-after"] == "1"


def test_the_store_it_made_is_closed_at_shutdown(cluster_env):
    mw = asgi.SessionMiddleware(APP)
    with TestClient(mw) as c:  # lifespan startup, then shutdown on exit
        c.get("/write?n=1")
        assert mw._store is not None
    assert mw._store is None


def test_bad_settings_name_the_field():
    with pytest.raises(ValueError, match="same_site"):
        asgi.SessionMiddleware(APP, same_site="sometimes")
    with pytest.raises(ValueError, match="max_age"):
        asgi.SessionMiddleware(APP, max_age=0)
