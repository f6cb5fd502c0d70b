"""The service under the ACL rules the stack gives its MemoryDB user (`[session_store]
access_string`'s default, stacks/settings.py): every route that touches the store works, so no
command or key the service uses falls outside them. The cluster's own test user may do
everything (`~* +@all`) and would hide a NOPERM that only AWS would show."""

from __future__ import annotations

import secrets

import pytest

from stacks.settings import SessionStoreSettings

from .conftest import cookie, ensure_user, new_session, session_cookie

USER = "stack-acl-user"


@pytest.fixture(scope="module")
def stack_user(cluster):
    """An ACL user with exactly the stack's rules on every node (ACL SETUSER is per node)."""
    password = secrets.token_hex(16)
    rules = SessionStoreSettings().access_string.split()
    for node in cluster.nodes:
        cluster.cli("ACL", "SETUSER", USER, "reset", f">{password}", *rules, port=node.port)
    try:
        yield password
    finally:
        for node in cluster.nodes:
            cluster.cli("ACL", "DELUSER", USER, port=node.port)


@pytest.fixture(scope="module")
def restricted(service_factory, stack_user):
    return service_factory(SESSION_STORE_USERNAME=USER, SESSION_STORE_PASSWORD=stack_user)


def test_the_stacks_rules_refuse_what_they_should(cluster, stack_user):
    """The fixture's user really is restricted: a key outside the prefixes and a dangerous
    command are refused (else the test below would prove nothing)."""
    as_user = ("--user", USER, "--pass", stack_user)
    assert "NOPERM" in cluster.cli(*as_user, "SET", "cache:x", "1")
    assert "NOPERM" in cluster.cli(*as_user, "FLUSHALL")


def test_every_store_route_works_under_the_stacks_rules(restricted, redis_client):
    ensure_user(redis_client, "acl-alice")
    with restricted.client() as http:
        assert http.get("/readyz").status_code == 200
        anonymous = new_session(http, {"cart": [1]})
        assert http.patch("/api/session", json={"cart": [1, 2]}, headers=cookie(anonymous)).status_code == 200
        rotated = session_cookie(http.post("/api/session/rotate", headers=cookie(anonymous)))
        assert http.get("/api/session", headers=cookie(rotated)).json()["data"] == {"cart": [1, 2]}
        assert http.delete("/api/session", headers=cookie(rotated)).status_code == 204

        wrong = http.post("/api/sign-in", json={"username": "acl-alice", "password": "wrong"})
        assert wrong.status_code == 401  # the failure throttle's window was written
        devices = []
        for _ in range(3):
            r = http.post("/api/sign-in", json={"username": "acl-alice", "password": "correct horse battery"})
            assert r.status_code == 201, r.text
            devices.append(session_cookie(r))
        laptop = devices[0]
        assert http.post("/api/step-up", json={"password": "correct horse battery"},
                         headers=cookie(laptop)).status_code == 200
        listed = http.get("/api/sessions", headers=cookie(laptop)).json()["sessions"]
        assert len(listed) == 3
        other = next(s["handle"] for s in listed if not s["current"])
        assert http.delete(f"/api/sessions/{other}", headers=cookie(laptop)).status_code == 204
        assert http.delete("/api/sessions/others", headers=cookie(laptop)).json()["ended"] == 1
        assert http.delete("/api/users/me/sessions", headers=cookie(laptop)).json() == {"revoked": 1}
    assert "NOPERM" not in restricted.logs()
