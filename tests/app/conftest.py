"""Fixtures: ONE real Redis Cluster (3 primaries + 3 replicas, TLS with a
throwaway CA, ACL user + password) per test session, and the session service
run as a real process (``python -m app serve``) on free loopback ports.
Everything is stopped by PID at teardown, also when tests fail."""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

from localdev import procs  # noqa: E402
from memorydb_sessions import tokens  # noqa: E402
from tests.cluster_fixture import cluster  # noqa: E402,F401 (the session's cluster)

CUSTOM_HEADER = "X-Session-Request"
PASSWORD = "correct horse battery"
# Defaults of the test services: many sessions per user and client (tests create hundreds
# from 127.0.0.1); the tests of those limits start services with the real defaults.
TEST_LIMITS = {"SESSION_CREATE_RATE_PER_MINUTE": "100000", "SESSION_MAX_SESSIONS_PER_USER": "1000",
               "SESSION_SIGNIN_FAILURES_PER_CLIENT": "100000",
               # TLS handshakes on two cores shared by every suite in CI: not 0.5 s.
               "SESSION_STORE_CONNECT_TIMEOUT_MS": "5000"}


# No per-example deadline: a loaded 2-core machine must not turn slowness into failures.
hypothesis_settings.register_profile("app", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("app")


class Service:
    """A running ``python -m app serve`` process."""

    def __init__(self, env: dict, port: int, log: Path, proc: subprocess.Popen) -> None:
        self.env = env
        self.port = port
        self.log = log
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"

    def client(self, **kw) -> httpx.Client:
        """An HTTP client that never stores cookies (tests send them explicitly) and marks
        its requests as the page's script does (X-Session-Request), so the forgery checks
        let its bodiless POST/DELETE through; tests of those checks build their own."""
        kw.setdefault("headers", {}).setdefault(CUSTOM_HEADER, "1")
        return httpx.Client(base_url=self.url, timeout=15, cookies=no_cookie_jar(), **kw)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        procs.stop_process(self.proc, timeout=25)


def no_cookie_jar() -> CookieJar:
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def start_service(tmp_dir: Path, env_overrides: dict) -> Service:
    port = procs.free_port()
    env = {
        **TEST_LIMITS,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(ROOT),
        "SESSION_HTTP_HOST": "127.0.0.1",
        "SESSION_HTTP_PORT": str(port),
        "SESSION_INSTANCE_NAME": "test-instance",
        "SESSION_SERVED_BY_HEADER": "true",
    }
    env.update(env_overrides)
    log = tmp_dir / f"app-{port}.log"
    proc = procs.start_process(
        [sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        procs.wait_for_port(port, timeout=90, proc=proc)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # lifespan startup done when /healthz answers
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    except BaseException:
        procs.stop_process(proc)
        raise
    return Service(env, port, log, proc)


@pytest.fixture(scope="session")
def service_factory(cluster, tmp_path_factory):
    started: list[Service] = []

    def make(**overrides) -> Service:
        env = cluster.client_env()
        env.update({k: str(v) for k, v in overrides.items()})
        s = start_service(tmp_path_factory.mktemp("app"), env)
        started.append(s)
        return s

    try:
        yield make
    finally:
        for s in started:
            s.stop()


@pytest.fixture(scope="session")
def service(service_factory) -> Service:
    return service_factory()


@pytest.fixture()
def http(service):
    with service.client() as c:
        yield c


@pytest.fixture(scope="session")
def redis_client(cluster):
    """A synchronous cluster client for looking at the store directly."""
    from redis.cluster import RedisCluster as SyncCluster

    host, port = cluster.endpoint
    c = SyncCluster(
        host=host,
        port=port,
        username=cluster.username,
        password=cluster.password,
        ssl=True,
        ssl_ca_certs=cluster.ca_file,
        require_full_coverage=False,
    )
    try:
        yield c
    finally:
        c.close()


def session_cookie(resp: httpx.Response, name: str = "sid") -> str | None:
    for raw in resp.headers.get_list("set-cookie"):
        first = raw.split(";", 1)[0]
        k, _, v = first.partition("=")
        if k == name:
            return v
    return None


def key_of(token: str) -> str:
    """The store key of a session: the token's digest, never the token."""
    return tokens.session_key(token)


def ensure_user(redis_client, name: str, password: str = PASSWORD) -> None:
    """Put *name* in the reference application's directory (a cheap scrypt cost: tests
    sign in thousands of times; the cost is stored with each hash)."""
    import orjson

    from app.users import directory_key, hash_password

    redis_client.set(directory_key(name), orjson.dumps(hash_password(password, n=2**10)))


_USERS_MADE: set[str] = set()


def sign_in(http: httpx.Client, user: str, *, redis_client=None, token: str | None = None,
            password: str = PASSWORD, headers=None) -> str:
    """Sign *user* in (creating the account first when *redis_client* is given) and return
    the new session's token."""
    if redis_client is not None and user not in _USERS_MADE:
        ensure_user(redis_client, user, password)
        _USERS_MADE.add(user)
    h = dict(headers or {})
    if token:
        h.update(cookie(token))
    r = http.post("/api/sign-in", json={"username": user, "password": password}, headers=h)
    assert r.status_code == 201, r.text
    new = session_cookie(r)
    assert new and new != token
    return new


def new_session(http: httpx.Client, data=None, headers=None) -> str:
    body = {}
    if data is not None:
        body["data"] = data
    r = http.post("/api/session", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    sid = session_cookie(r)
    assert sid
    return sid


def user_session(http: httpx.Client, redis_client, user: str, data=None) -> str:
    """A signed-in session of *user* holding *data*."""
    token = sign_in(http, user, redis_client=redis_client)
    if data is not None:
        r = http.patch("/api/session", json=data, headers=cookie(token))
        assert r.status_code == 200, r.text
    return token


def cookie(sid: str, name: str = "sid") -> dict:
    return {"Cookie": f"{name}={sid}"}
