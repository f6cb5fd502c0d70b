"""User-wide revocation (log out everywhere) across cluster slots."""

from __future__ import annotations

import subprocess
import sys

from redis.crc import key_slot

from .conftest import ROOT, cookie, new_session


def _shard_of(cluster_client, key: str) -> str:
    node = cluster_client.nodes_manager.get_node_from_slot(key_slot(key.encode()))
    return node.name


def test_revoke_all_sessions_of_a_user_across_shards(http, redis_client):
    sids = [new_session(http, {"n": i}, user_id="alice") for i in range(24)]
    other = new_session(http, {"n": -1}, user_id="bob")
    anon = new_session(http, {"n": -2})
    shards = {_shard_of(redis_client, f"sess:{s}") for s in sids}
    assert len(shards) >= 2, "sessions of one user should spread over shards"

    r = http.delete("/api/users/alice/sessions", headers=cookie(sids[5]))
    assert r.status_code == 200
    assert r.json() == {"revoked": 24}
    assert "Max-Age=0" in r.headers["set-cookie"]
    for s in sids:
        assert http.get("/api/session", headers=cookie(s)).status_code == 401
    assert http.get("/api/session", headers=cookie(other)).status_code == 200
    assert http.get("/api/session", headers=cookie(anon)).status_code == 200
    assert redis_client.zcard("usess:alice") == 0


def test_revoke_requires_own_user(http):
    alice = new_session(http, user_id="alice2")
    mallory = new_session(http, user_id="mallory")
    anon = new_session(http)
    assert http.delete("/api/users/alice2/sessions", headers=cookie(mallory)).status_code == 403
    assert http.delete("/api/users/alice2/sessions", headers=cookie(anon)).status_code == 403
    assert http.delete("/api/users/alice2/sessions").status_code == 401
    assert http.get("/api/session", headers=cookie(alice)).status_code == 200


def test_revoke_bad_user_id_is_404(http):
    sid = new_session(http, user_id="carol")
    assert http.delete("/api/users/bad%20id/sessions", headers=cookie(sid)).status_code == 404
    assert http.delete("/api/users//sessions", headers=cookie(sid)).status_code == 404


def test_deleted_session_leaves_the_user_index(http, redis_client):
    sid = new_session(http, user_id="dave")
    assert redis_client.zscore("usess:dave", sid) is not None
    http.delete("/api/session", headers=cookie(sid))
    assert redis_client.zscore("usess:dave", sid) is None


def test_revoke_user_command(http, service):
    sids = [new_session(http, user_id="erin") for _ in range(5)]
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
