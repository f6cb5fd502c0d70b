"""Every endpoint against the real service process and the real cluster."""

from __future__ import annotations

from .conftest import cookie, key_of, new_session, session_cookie, user_session


def test_healthz(http):
    r = http.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["x-served-by"] == "test-instance"
    assert r.headers["x-request-id"]


def test_readyz(http):
    r = http.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready"}


def test_request_id_is_echoed(http):
    r = http.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = http.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"


def test_create_sets_cookie_and_returns_201(http, service):
    r = http.post("/api/session", json={"data": {"cart": [1, 2]}})
    assert r.status_code == 201
    body = r.json()
    assert body["data"] == {"cart": [1, 2]}
    assert body["user_id"] is None
    raw = r.headers["set-cookie"]
    attrs = [a.strip() for a in raw.split(";")]
    name, _, value = attrs[0].partition("=")
    assert name == "sid"
    assert len(value) == 55  # a 72-bit slot tag + 256 random bits, base64url
    assert "HttpOnly" in attrs and "SameSite=Lax" in attrs and "Path=/" in attrs
    assert not any(a.lower().startswith("domain") for a in attrs)
    assert "Secure" not in attrs  # plain HTTP (local)
    # A browser-session cookie by default (OWASP): no Max-Age, no Expires.
    assert not any(a.lower().startswith(("max-age", "expires")) for a in attrs)
    assert r.headers["cache-control"] == "no-store"


def test_persistent_cookie_is_a_setting(service_factory):
    with service_factory(SESSION_COOKIE_PERSISTENT="true").client() as c:
        raw = c.post("/api/session").headers["set-cookie"]
    max_age = int(next(a for a in raw.split("; ") if a.startswith("Max-Age=")).split("=")[1])
    assert 0 < max_age <= 43200


def test_create_with_empty_body(http):
    r = http.post("/api/session")
    assert r.status_code == 201
    assert r.json()["data"] == {}


def test_https_cookie_uses_host_prefix(http):
    https = {"X-Forwarded-Proto": "https"}
    r = http.post("/api/session", json={"data": {"x": 1}}, headers=https)
    assert r.status_code == 201
    raw = r.headers["set-cookie"]
    assert raw.startswith("__Host-sid=")
    assert "; Secure" in raw and "Path=/" in raw and "Domain" not in raw
    sid = session_cookie(r, "__Host-sid")
    # Over HTTPS only the __Host- cookie counts...
    assert http.get("/api/session", headers={**https, **cookie(sid, "__Host-sid")}).status_code == 200
    assert http.get("/api/session", headers={**https, **cookie(sid, "sid")}).status_code == 401
    # ...and a forwarded chain is judged by the first (client-facing) hop.
    chained = {"X-Forwarded-Proto": "https, http", **cookie(sid, "__Host-sid")}
    assert http.get("/api/session", headers=chained).status_code == 200


def test_read_slides_idle_expiry(http, redis_client):
    sid = new_session(http, {"a": 1})
    redis_client.expire(key_of(sid), 100)
    r = http.get("/api/session", headers=cookie(sid))
    assert r.status_code == 200
    assert r.json()["data"] == {"a": 1}
    assert redis_client.ttl(key_of(sid)) > 1000  # back to the 1800 s idle timeout


def test_fresh_reads_write_nothing(http, redis_client):
    """The idle expiry slides only when it is SESSION_IDLE_SLIDE_SECONDS stale: a read of a
    fresh session leaves its TTL alone (on MemoryDB a write waits for the transaction log)."""
    sid = new_session(http, {"a": 1})
    redis_client.pexpire(key_of(sid), 1800 * 1000 - 30_000)  # 30 s stale: below the 60 s slide
    assert http.get("/api/session", headers=cookie(sid)).status_code == 200
    assert redis_client.pttl(key_of(sid)) <= 1800 * 1000 - 30_000


def test_read_without_session_is_401(http):
    r = http.get("/api/session")
    assert r.status_code == 401
    assert r.json()["error"]


def test_patch_merges(http):
    sid = new_session(http, {"a": 1, "nested": {"x": 1, "y": 2}, "drop": True})
    r = http.patch(
        "/api/session",
        content=b'{"b": 2, "nested": {"y": null, "z": 3}, "drop": null}',
        headers={**cookie(sid), "Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"] == {"a": 1, "b": 2, "nested": {"x": 1, "z": 3}}
    assert http.get("/api/session", headers=cookie(sid)).json()["data"] == r.json()["data"]


def test_patch_unknown_session_is_401(http):
    r = http.patch("/api/session", json={"a": 1}, headers=cookie("A" * 55))
    assert r.status_code == 401


def test_delete_destroys_and_clears_cookie(http, redis_client):
    sid = new_session(http, {"a": 1})
    r = http.delete("/api/session", headers=cookie(sid))
    assert r.status_code == 204
    assert "Max-Age=0" in r.headers["set-cookie"]
    assert redis_client.exists(key_of(sid)) == 0
    assert http.get("/api/session", headers=cookie(sid)).status_code == 401
    # Deleting again (or without a cookie) is fine: idempotent.
    assert http.delete("/api/session", headers=cookie(sid)).status_code == 204
    assert http.delete("/api/session").status_code == 204


def test_rotate_issues_new_id_and_kills_old(http, redis_client):
    sid = user_session(http, redis_client, "rot-user", {"cart": ["book"]})
    r = http.post("/api/session/rotate", headers=cookie(sid))
    assert r.status_code == 200
    new = session_cookie(r)
    assert new and new != sid
    assert r.json()["data"] == {"cart": ["book"]}
    assert http.get("/api/session", headers=cookie(sid)).status_code == 401
    got = http.get("/api/session", headers=cookie(new))
    assert got.status_code == 200
    assert got.json()["user_id"] == "rot-user"
    # The user index follows the rotation: revocation still reaches the new id.
    assert http.delete("/api/users/rot-user/sessions", headers=cookie(new)).json() == {"revoked": 1}
    assert http.get("/api/session", headers=cookie(new)).status_code == 401


def test_rotate_without_session_is_401(http):
    assert http.post("/api/session/rotate").status_code == 401
    assert http.post("/api/session/rotate", headers=cookie("B" * 55)).status_code == 401


def test_rotate_twice_concurrently_has_one_winner(service):
    import concurrent.futures

    with service.client() as c:
        sid = new_session(c, {"v": 1})
    def rotate(_):
        with service.client() as c:
            return c.post("/api/session/rotate", headers=cookie(sid)).status_code
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        codes = list(ex.map(rotate, range(8)))
    assert codes.count(200) == 1
    assert codes.count(401) == 7


def test_index_page_is_static_and_creates_nothing(http, redis_client):
    """GET never changes state: the page mints no session and names no instance (the
    hostname on Fargate carries the task's private address)."""
    before = redis_client.dbsize()
    r = http.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "set-cookie" not in r.headers
    assert "test-instance" not in r.text
    assert redis_client.dbsize() == before
    assert http.get("/static/app.js").headers["content-type"].startswith("text/javascript")


def test_head_index_answers_200_without_side_effects(http):
    r = http.head("/")
    assert r.status_code == 200
    assert "set-cookie" not in r.headers
    assert r.content == b""


def test_unknown_route_is_404_and_wrong_method_405(http):
    assert http.get("/nope").status_code == 404
    assert http.get("/api/users/alice/sessions").status_code == 405
    r = http.put("/api/session", json={})
    assert r.status_code == 405
    assert "PATCH" in r.headers["allow"]
    assert http.post("/healthz").status_code == 405
    assert http.get("/api/session/rotate").status_code == 405


def test_request_log_lines_are_json_and_never_contain_ids(service, redis_client):
    import json

    with service.client() as c:
        sid = user_session(c, redis_client, "log-user", {"secret": "x"})
        c.get("/api/session", headers=cookie(sid))
        c.delete("/api/users/log-user/sessions", headers=cookie(sid))
    logs = service.logs()
    assert sid not in logs
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    reqs = [r for r in lines if r.get("msg") == "request"]
    assert reqs
    for r in reqs:
        assert {"request_id", "route", "status", "latency_ms", "instance", "method"} <= set(r)
    assert any(r["route"] == "/api/users/{id}/sessions" for r in reqs)
    assert not any("log-user" in json.dumps(r) for r in reqs)
