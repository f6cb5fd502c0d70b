"""IAM mode for the Django, Flask and ASGI tests: Redis cannot
verify SigV4, so the clock and credentials are fixed, the token the core's signer
(memorydb_sessions.iam, botocore) makes from them becomes the ACL password of an IAM-style
user on every node, and a token signed for another region must be refused."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from botocore.credentials import Credentials

from memorydb_sessions import iam
from tests.cluster_fixture import SHARED_CORE_TIMEOUTS

NOW = dt.datetime(2026, 3, 14, 15, 9, 26, tzinfo=dt.timezone.utc)
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
CLUSTER, REGION = "session-app-dev", "eu-west-1"


@contextmanager
def iam_user(cluster, monkeypatch, user: str):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDS.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDS.secret_key)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    real = iam.make_token
    monkeypatch.setattr(iam, "make_token", lambda **kw: real(**{**kw, "now": NOW}))  # the clock, frozen
    token = real(user=user, cluster_name=CLUSTER, region=REGION, credentials=CREDS, now=NOW)
    for node in cluster.nodes:
        cluster.cli("ACL", "SETUSER", user, "on", f">{token}", "~*", "&*", "+@all", port=node.port)
    try:
        yield
    finally:
        for node in cluster.nodes:
            cluster.cli("ACL", "DELUSER", user, port=node.port)


def iam_env(cluster, user: str, region: str) -> dict[str, str]:
    """SESSION_* names for IAM mode against the suite's cluster (no password)."""
    host, port = cluster.endpoint
    return {"SESSION_STORE_ENDPOINT": host, "SESSION_STORE_PORT": str(port), "SESSION_STORE_CA_FILE": cluster.ca_file,
            "SESSION_STORE_AUTH": "iam", "SESSION_STORE_USERNAME": user, "SESSION_STORE_CLUSTER_NAME": CLUSTER,
            "AWS_REGION": region, "SESSION_STORE_PASSWORD": "", **SHARED_CORE_TIMEOUTS}
