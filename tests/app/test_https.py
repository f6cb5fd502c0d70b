"""Behind HTTPS: HSTS on HTTPS responses, and the cookie always __Host-/Secure when the stack
says the listener is HTTPS (SESSION_REQUIRE_HTTPS, set by EnvironmentStack). In-process ASGI
against the real cluster."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.config import ConfigError, Settings
from app.http import App

from .conftest import TEST_LIMITS

HSTS = "max-age=31536000; includeSubDomains"


def exchange(cluster, env: dict, requests: list[tuple[str, str, dict]]) -> list[httpx.Response]:
    """Run requests (method, path, headers) through one in-process app with `env` on top."""

    async def run() -> list[httpx.Response]:
        app = App(Settings.from_env({**cluster.client_env(), **TEST_LIMITS, **env}), log_requests=False, handle_signals=False)
        await app.startup()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return [await client.request(method, path, headers=headers,
                                             json={"data": {"k": 1}} if method == "POST" else None)
                        for method, path, headers in requests]
        finally:
            await app.shutdown()

    return asyncio.run(run())


def test_hsts_only_on_responses_to_https_requests(cluster):
    plain, forwarded, health = exchange(cluster, {}, [
        ("POST", "/api/session", {}),
        ("POST", "/api/session", {"X-Forwarded-Proto": "https"}),
        ("GET", "/healthz", {"X-Forwarded-Proto": "https"}),
    ])
    assert "strict-transport-security" not in plain.headers
    assert plain.headers["set-cookie"].startswith("sid=") and "Secure" not in plain.headers["set-cookie"]
    assert forwarded.headers["strict-transport-security"] == HSTS
    assert forwarded.headers["set-cookie"].startswith("__Host-sid=") and "; Secure" in forwarded.headers["set-cookie"]
    assert health.headers["strict-transport-security"] == HSTS


def test_behind_an_https_listener_the_cookie_is_always_secure(cluster):
    # No X-Forwarded-Proto (a health check) or a stray "http": still __Host-/Secure, still HSTS.
    bare, claimed_http = exchange(cluster, {"SESSION_REQUIRE_HTTPS": "true"}, [
        ("POST", "/api/session", {}),
        ("POST", "/api/session", {"X-Forwarded-Proto": "http"}),
    ])
    for response in (bare, claimed_http):
        assert response.status_code == 201
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-sid=") and "; Secure" in cookie and "Domain" not in cookie
        assert response.headers["strict-transport-security"] == HSTS


def test_plain_cookie_is_not_accepted_behind_https(cluster):
    (created,) = exchange(cluster, {}, [("POST", "/api/session", {})])
    sid = created.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    (read,) = exchange(cluster, {"SESSION_REQUIRE_HTTPS": "true"}, [("GET", "/api/session", {"Cookie": f"sid={sid}"})])
    assert read.status_code == 401


def test_hsts_can_be_turned_off_and_sized(cluster):
    off, short = (exchange(cluster, {"SESSION_HSTS_MAX_AGE_SECONDS": age}, [("GET", "/healthz", {"X-Forwarded-Proto": "https"})])[0]
                  for age in ("0", "300"))
    assert "strict-transport-security" not in off.headers
    assert short.headers["strict-transport-security"] == "max-age=300; includeSubDomains"


@pytest.mark.parametrize(("name", "value"), [("SESSION_REQUIRE_HTTPS", "maybe"), ("SESSION_HSTS_MAX_AGE_SECONDS", "-1")])
def test_bad_values_name_the_variable(cluster, name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({**cluster.client_env(), name: value})
