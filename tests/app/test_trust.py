"""The attacks of the trust issue, each against the running service: a browser cannot
claim an identity, write server facts, or drive the API from another origin; GET changes
nothing; sign-in issues a new id, is throttled, and answers unknown users and wrong
passwords alike; a user's own sessions can be listed and ended, and only their own."""

from __future__ import annotations

import pytest

from memorydb_sessions import tokens

from .conftest import PASSWORD, cookie, ensure_user, new_session, session_cookie, sign_in, user_session


# ---------------------------------------------------------------- claiming an identity
def test_a_browser_cannot_claim_a_user_id(http):
    r = http.post("/api/session", json={"user_id": "alice"})
    assert r.status_code == 422
    assert "user_id" in r.json()["error"] and "sign in" in r.json()["error"]
    assert "set-cookie" not in r.headers


def test_an_anonymous_session_cannot_log_alice_out(http, redis_client):
    alice = user_session(http, redis_client, "alice-victim")
    attacker = new_session(http)
    assert http.delete("/api/users/alice-victim/sessions", headers=cookie(attacker)).status_code == 401
    assert http.get("/api/session", headers=cookie(alice)).status_code == 200


def test_patch_writes_client_data_only(http, redis_client):
    token = user_session(http, redis_client, "patcher")
    r = http.patch("/api/session", json={"role": "admin", "authenticated": True, "user_id": "root"},
                   headers=cookie(token))
    assert r.status_code == 200
    body = r.json()
    assert body["user_id"] == "patcher"  # the server's fact, untouched
    assert body["data"] == {"role": "admin", "authenticated": True, "user_id": "root"}  # mere client data
    anon = new_session(http)
    r = http.patch("/api/session", json={"user_id": "root"}, headers=cookie(anon))
    assert r.json()["user_id"] is None and r.json()["authenticated"] is False


# ---------------------------------------------------------------- cross-site requests
STATE_CHANGES = [
    ("POST", "/api/session/rotate", None),
    ("DELETE", "/api/session", None),
    ("PATCH", "/api/session", {"x": 1}),
    ("POST", "/api/session", {"data": {}}),
    ("DELETE", "/api/users/me/sessions", None),
]


@pytest.mark.parametrize("method,path,body", STATE_CHANGES)
def test_another_origin_cannot_change_state(service, redis_client, method, path, body):
    with service.client() as c:
        token = user_session(c, redis_client, "csrf-victim")
        r = c.request(method, path, json=body, headers={**cookie(token), "Origin": "https://evil.example"})
        assert r.status_code == 403, r.text
        r = c.request(method, path, json=body, headers={**cookie(token), "Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403, r.text
        assert c.get("/api/session", headers=cookie(token)).status_code == 200


@pytest.mark.parametrize("method,path", [("POST", "/api/session/rotate"), ("DELETE", "/api/session"),
                                         ("POST", "/api/session")])
def test_a_bodiless_request_without_the_custom_header_is_refused(service, method, path):
    """A form or an image tag can send these without a preflight: they need our header."""
    with service.client() as c:
        token = new_session(c)
    import httpx

    with httpx.Client(base_url=service.url) as bare:
        r = bare.request(method, path, headers=cookie(token))
    assert r.status_code == 403
    assert "X-Session-Request" in r.json()["error"]


def test_same_origin_and_listed_origins_pass(service_factory):
    svc = service_factory(SESSION_ALLOWED_ORIGINS="https://app.example")
    with svc.client() as c:
        token = new_session(c)
        own = f"http://127.0.0.1:{svc.port}"
        assert c.post("/api/session/rotate", headers={**cookie(token), "Origin": own,
                                                      "Sec-Fetch-Site": "same-origin"}).status_code == 200
        token = new_session(c)
        assert c.post("/api/session/rotate", headers={**cookie(token), "Origin": "https://app.example"}).status_code == 200


def test_get_never_creates_a_session(http, redis_client):
    before = redis_client.dbsize()
    for path in ("/", "/api/session", "/api/sessions", "/static/app.js"):
        r = http.get(path)
        assert "set-cookie" not in r.headers or "Max-Age=0" in r.headers["set-cookie"]
    assert redis_client.dbsize() == before


def test_session_creation_is_rate_limited_per_client(service_factory):
    svc = service_factory(SESSION_CREATE_RATE_PER_MINUTE="5")
    with svc.client() as c:
        headers = {"X-Forwarded-For": "203.0.113.7"}
        codes = [c.post("/api/session", headers=headers).status_code for _ in range(7)]
        assert codes == [201] * 5 + [429] * 2
        assert c.post("/api/session", headers=headers).headers["retry-after"] == "60"
        # Another client is not affected; a spoofed first hop does not help (the proxy's entry counts).
        assert c.post("/api/session", headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 201
        spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
        assert c.post("/api/session", headers=spoofed).status_code == 429


# ---------------------------------------------------------------------------- sign-in
def test_sign_in_issues_a_new_id_and_keeps_the_cart(http, redis_client):
    ensure_user(redis_client, "shopper")
    anon = new_session(http, {"cart": ["book"]})
    r = http.post("/api/sign-in", json={"username": "shopper", "password": PASSWORD}, headers=cookie(anon))
    assert r.status_code == 201
    signed = session_cookie(r)
    assert signed and signed != anon
    assert r.json()["user_id"] == "shopper" and r.json()["data"] == {"cart": ["book"]}
    assert r.json()["auth_methods"] == ["password"] and r.json()["auth_age"] == 0
    assert http.get("/api/session", headers=cookie(anon)).status_code == 401  # fixation: the old id is dead


def test_unknown_user_and_wrong_password_get_the_same_answer(http, redis_client):
    ensure_user(redis_client, "known-user")
    wrong = http.post("/api/sign-in", json={"username": "known-user", "password": "not the password"})
    unknown = http.post("/api/sign-in", json={"username": "nobody-here", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_failed_sign_ins_are_throttled_per_account(service_factory, redis_client):
    svc = service_factory(SESSION_SIGNIN_FAILURES_PER_ACCOUNT="3")
    ensure_user(redis_client, "throttled")
    with svc.client() as c:
        for i in range(3):
            h = {"X-Forwarded-For": f"192.0.2.{i}"}  # a different client each time
            assert c.post("/api/sign-in", json={"username": "throttled", "password": "wrong-password"},
                          headers=h).status_code == 401
        r = c.post("/api/sign-in", json={"username": "throttled", "password": PASSWORD})
        assert r.status_code == 429  # even the right password waits out the window


def test_failed_sign_ins_are_throttled_per_client(service_factory, redis_client):
    svc = service_factory(SESSION_SIGNIN_FAILURES_PER_CLIENT="3")
    with svc.client() as c:
        h = {"X-Forwarded-For": "192.0.2.200"}
        for i in range(3):
            assert c.post("/api/sign-in", json={"username": f"spray-{i}", "password": "guess-1234"},
                          headers=h).status_code == 401
        assert c.post("/api/sign-in", json={"username": "spray-9", "password": "guess-1234"},
                      headers=h).status_code == 429


def test_sign_in_rejects_bad_input_with_4xx(http):
    for body in ({}, {"username": "a"}, {"username": "a", "password": 5}, {"username": "a", "password": "b", "x": 1}):
        r = http.post("/api/sign-in", json=body)
        assert r.status_code == 422, (body, r.text)
    assert http.post("/api/sign-in", content=b"username=a", headers={"Content-Type": "text/plain"}).status_code == 415


# ------------------------------------------------------------------- my own sessions
def test_list_and_end_my_sessions_by_handle(service, redis_client):
    with service.client() as c:
        phone = sign_in(c, "multi", redis_client=redis_client, headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari/604"})
        laptop = sign_in(c, "multi", headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0",
                                              "X-Forwarded-For": "203.0.113.50"})
        listed = c.get("/api/sessions", headers=cookie(laptop)).json()["sessions"]
        assert len(listed) == 2
        mine = next(s for s in listed if s["current"])
        other = next(s for s in listed if not s["current"])
        assert mine["user_agent"] == "Chrome on Linux" and mine["client_ip"] == "203.0.113.50"
        assert other["user_agent"] == "Safari on iOS"
        assert phone not in str(listed) and laptop not in str(listed)  # handles, never tokens
        assert other["handle"] == tokens.handle_of(phone)
        assert c.delete(f"/api/sessions/{other['handle']}", headers=cookie(laptop)).status_code == 204
        assert c.get("/api/session", headers=cookie(phone)).status_code == 401
        assert c.get("/api/session", headers=cookie(laptop)).status_code == 200


def test_a_handle_of_someone_elses_session_ends_nothing(http, redis_client):
    victim = user_session(http, redis_client, "handle-victim")
    attacker = user_session(http, redis_client, "handle-attacker")
    r = http.delete(f"/api/sessions/{tokens.handle_of(victim)}", headers=cookie(attacker))
    assert r.status_code == 404
    assert http.get("/api/session", headers=cookie(victim)).status_code == 200


def test_a_token_is_not_a_handle(http, redis_client):
    """Presenting another session's token where a handle goes must not end it either."""
    victim = user_session(http, redis_client, "handle-victim2")
    me = user_session(http, redis_client, "handle-victim2")
    assert http.delete(f"/api/sessions/{victim}", headers=cookie(me)).status_code == 404
    assert http.get("/api/session", headers=cookie(victim)).status_code == 200


def test_end_all_other_sessions(http, redis_client):
    tokens_ = [user_session(http, redis_client, "others-user") for _ in range(4)]
    r = http.delete("/api/sessions/others", headers=cookie(tokens_[-1]))
    assert r.json() == {"ended": 3}
    assert [http.get("/api/session", headers=cookie(t)).status_code for t in tokens_] == [401, 401, 401, 200]


def test_acting_on_other_sessions_needs_a_recent_sign_in(service_factory, redis_client):
    svc = service_factory(SESSION_REAUTH_MAX_AGE_SECONDS="1")
    with svc.client() as c:
        token = sign_in(c, "stale-user", redis_client=redis_client)
        import time

        time.sleep(2.1)
        r = c.delete("/api/sessions/others", headers=cookie(token))
        assert r.status_code == 403 and r.json()["reauthenticate"] is True
        assert c.post("/api/step-up", json={"password": "wrong-password"}, headers=cookie(token)).status_code == 401
        r = c.post("/api/step-up", json={"password": PASSWORD}, headers=cookie(token))
        assert r.status_code == 200 and r.json()["auth_age"] == 0
        assert c.delete("/api/sessions/others", headers=cookie(token)).status_code == 200


def test_the_per_user_cap_ends_the_oldest(service_factory, redis_client):
    svc = service_factory(SESSION_MAX_SESSIONS_PER_USER="2")
    with svc.client() as c:
        first = sign_in(c, "capped", redis_client=redis_client)
        sign_in(c, "capped")
        sign_in(c, "capped")
        assert c.get("/api/session", headers=cookie(first)).status_code == 401


def test_the_per_user_cap_can_refuse(service_factory, redis_client):
    svc = service_factory(SESSION_MAX_SESSIONS_PER_USER="1", SESSION_LIMIT_ACTION="refuse")
    with svc.client() as c:
        first = sign_in(c, "capped-refuse", redis_client=redis_client)
        r = c.post("/api/sign-in", json={"username": "capped-refuse", "password": PASSWORD})
        assert r.status_code == 409 and "end one of your sessions" in r.json()["error"]
        assert c.get("/api/session", headers=cookie(first)).status_code == 200


def test_users_command_manages_the_directory(service):
    import subprocess
    import sys

    from .conftest import ROOT

    def users(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "app", "users", *args], cwd=ROOT, env=service.env, input=stdin,
                              capture_output=True, text=True, timeout=60)

    assert users("add", "cli-user", "--password-stdin", stdin="a long password\n").returncode == 0
    assert "cli-user" in users("list").stdout
    with service.client() as c:
        r = c.post("/api/sign-in", json={"username": "cli-user", "password": "a long password"})
        assert r.status_code == 201
        token = session_cookie(r)
        assert users("remove", "cli-user").returncode == 0
        assert c.get("/api/session", headers=cookie(token)).status_code == 401  # removed: signed out too
    bad = users("add", "Bad Name", "--password-stdin", stdin="a long password\n")
    assert bad.returncode == 2 and "user name must be" in bad.stderr
    short = users("add", "short-pw", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "password must be" in short.stderr
