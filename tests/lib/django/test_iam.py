"""IAM mode: the engine authenticates to the TLS cluster with a MemoryDB IAM token made by
the core's signer (botocore SigV4, as the service does), not with a password.  Redis cannot
verify SigV4, so the clock and credentials are fixed, the token they yield is made the ACL
password of an IAM-style user on every node, and a token signed for another region (what
a wrong signer would send) must be refused."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.credentials import Credentials
from django.test import Client
from django.test.utils import override_settings

from memorydb_sessions import StoreUnavailable, iam
from memorydb_sessions.django import SessionStore

NOW = dt.datetime(2026, 3, 14, 15, 9, 26, tzinfo=dt.timezone.utc)
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
USER, CLUSTER, REGION = "django-iam", "session-app-dev", "eu-west-1"


@pytest.fixture()
def iam_user(cluster, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDS.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDS.secret_key)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    real = iam.make_token
    monkeypatch.setattr(iam, "make_token", lambda **kw: real(**{**kw, "now": NOW}))  # the clock, frozen
    token = real(user=USER, cluster_name=CLUSTER, region=REGION, credentials=CREDS, now=NOW)
    for node in cluster.nodes:
        cluster.cli("ACL", "SETUSER", USER, "on", f">{token}", "~*", "&*", "+@all", port=node.port)
    try:
        yield
    finally:
        for node in cluster.nodes:
            cluster.cli("ACL", "DELUSER", USER, port=node.port)


def iam_settings(cluster, region: str) -> dict:
    host, port = cluster.endpoint
    return {"SESSION_STORE_ENDPOINT": host, "SESSION_STORE_PORT": port, "SESSION_STORE_CA_FILE": cluster.ca_file,
            "SESSION_STORE_AUTH": "iam", "SESSION_STORE_USERNAME": USER, "SESSION_STORE_CLUSTER_NAME": CLUSTER,
            "AWS_REGION": region, "SESSION_STORE_TIMEOUT_MS": 3000}


def test_engine_in_iam_mode_signs_in_and_reads(cluster, iam_user):
    with override_settings(MEMORYDB_SESSIONS=iam_settings(cluster, REGION)):
        c = Client()
        c.get("/write?n=7")
        c.get("/login?user=iam-alice")
        assert c.get("/read").json() == {"user": "iam-alice", "data": "7"}


def test_token_signed_for_another_region_is_refused(cluster, iam_user):
    with override_settings(MEMORYDB_SESSIONS=iam_settings(cluster, "us-east-1")):
        s = SessionStore()
        s["n"] = 1
        with pytest.raises(StoreUnavailable):
            s.save()
