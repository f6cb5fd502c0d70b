"""The Flask interface in IAM mode: it authenticates with a token from the core's SigV4
signer, never a password (tests/lib/iam_signer.py explains the set-up)."""

from __future__ import annotations

from memorydb_sessions.environment import policy_from_env, store_config_from_env
from memorydb_sessions.sync import SyncSessionStore

from ..iam_signer import REGION, iam_env, iam_user
from .conftest import make_app

USER = "flask-iam"


def test_interface_in_iam_mode_signs_in_and_reads(cluster, monkeypatch):
    with iam_user(cluster, monkeypatch, USER):
        env = iam_env(cluster, USER, REGION)
        store = SyncSessionStore(store_config_from_env(env), policy_from_env(env))
        try:
            c = make_app(store).test_client()
            c.get("/write?n=7")
            c.get("/login?user=iam-alice")
            assert c.get("/read").json == {"n": "7", "user": "iam-alice"}
        finally:
            store.close()


def test_token_signed_for_another_region_is_refused(cluster, monkeypatch):
    with iam_user(cluster, monkeypatch, USER):
        env = iam_env(cluster, USER, "us-east-1")
        store = SyncSessionStore(store_config_from_env(env), policy_from_env(env))
        try:
            r = make_app(store).test_client().get("/write?n=1")
            assert r.status_code == 503 and "Set-Cookie" not in r.headers
        finally:
            store.close()
