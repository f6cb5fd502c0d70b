"""Sign out everywhere: a user's own sessions, ended from one of them or by the operator."""

from __future__ import annotations

import subprocess
import sys

from memorydb_sessions import tokens

from .conftest import ROOT, cookie, key_of, new_session, user_session


def test_revoke_all_sessions_of_a_user(http, redis_client):
    sids = [user_session(http, redis_client, "alice", {"n": i}) for i in range(24)]
    other = user_session(http, redis_client, "bob", {"n": -1})
    anon = new_session(http, {"n": -2})

    r = http.delete("/api/users/alice/sessions", headers=cookie(sids[5]))
    assert r.status_code == 200
    assert r.json() == {"revoked": 24}
    assert "Max-Age=0" in r.headers["set-cookie"]
    for s in sids:
        assert http.get("/api/session", headers=cookie(s)).status_code == 401
    assert http.get("/api/session", headers=cookie(other)).status_code == 200
    assert http.get("/api/session", headers=cookie(anon)).status_code == 200
    assert redis_client.zcard(tokens.index_key("alice")) == 0


def test_me_names_the_callers_own_user(http, redis_client):
    sids = [user_session(http, redis_client, "alice-me") for _ in range(3)]
    assert http.delete("/api/users/me/sessions", headers=cookie(sids[0])).json() == {"revoked": 3}


def test_revoke_requires_own_user(http, redis_client):
    alice = user_session(http, redis_client, "alice2")
    mallory = user_session(http, redis_client, "mallory")
    anon = new_session(http)
    assert http.delete("/api/users/alice2/sessions", headers=cookie(mallory)).status_code == 403
    assert http.delete("/api/users/alice2/sessions", headers=cookie(anon)).status_code == 401
    assert http.delete("/api/users/alice2/sessions").status_code == 401
    assert http.get("/api/session", headers=cookie(alice)).status_code == 200


def test_revoke_bad_user_id_is_404(http, redis_client):
    sid = user_session(http, redis_client, "carol")
    assert http.delete("/api/users/bad%20id/sessions", headers=cookie(sid)).status_code == 404
    assert http.delete("/api/users//sessions", headers=cookie(sid)).status_code == 404


def test_deleted_session_leaves_the_user_index(http, redis_client):
    sid = user_session(http, redis_client, "dave")
    assert redis_client.zscore(tokens.index_key("dave"), tokens.handle_of(sid)) is not None
    http.delete("/api/session", headers=cookie(sid))
    assert redis_client.zscore(tokens.index_key("dave"), tokens.handle_of(sid)) is None
    assert redis_client.exists(key_of(sid)) == 0


def test_revoke_user_command(http, redis_client, service):
    sids = [user_session(http, redis_client, "erin") for _ in range(5)]
    res = subprocess.run(
        [sys.executable, "-m", "app", "revoke-user", "erin"],
        cwd=ROOT, env=service.env, capture_output=True, text=True, timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert '"revoked": 5' in res.stdout
    for s in sids:
        assert http.get("/api/session", headers=cookie(s)).status_code == 401
    bad = subprocess.run(
        [sys.executable, "-m", "app", "revoke-user", "no spaces allowed"],
        cwd=ROOT, env=service.env, capture_output=True, text=True, timeout=60,
    )
    assert bad.returncode == 2
