"""IAM auth tokens for MemoryDB, checked against botocore's own request signer
(the one AWS's documentation uses) with fixed credentials and a fixed clock,
and against an independent SigV4 computation."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from urllib.parse import parse_qsl, quote, urlsplit

import botocore.auth
import botocore.session
import pytest
from botocore.credentials import Credentials
from botocore.model import ServiceId
from botocore.signers import RequestSigner

from memorydb_sessions.iam import MemoryDBIAMCredentialProvider, make_token

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token/with+chars=")
NOW = dt.datetime(2026, 3, 14, 15, 9, 26, tzinfo=dt.timezone.utc)


def botocore_presigned(monkeypatch, user, cluster, region, creds=CREDS):
    """The documented recipe: RequestSigner.generate_presigned_url, clock frozen."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: NOW.replace(tzinfo=None))
    session = botocore.session.get_session()
    signer = RequestSigner(
        ServiceId("memorydb"), region, "memorydb", "v4", creds, session.get_component("event_emitter")
    )
    url = signer.generate_presigned_url(
        {"method": "GET", "url": f"https://{cluster}/?Action=connect&User={user}", "body": {}, "headers": {}, "context": {}},
        operation_name="connect",
        expires_in=900,
        region_name=region,
    )
    return url.removeprefix("https://")


@pytest.mark.parametrize("creds", [CREDS, Credentials("AKIDEXAMPLE", "secret")])
def test_token_matches_botocore_request_signer(monkeypatch, creds):
    ours = make_token(user="app-user", cluster_name="session-app-prod", region="eu-west-1", credentials=creds, now=NOW)
    theirs = botocore_presigned(monkeypatch, "app-user", "session-app-prod", "eu-west-1", creds)
    assert ours == theirs


def test_token_shape_and_independent_signature():
    token = make_token(user="app-user", cluster_name="mycluster", region="us-east-1", credentials=CREDS, now=NOW)
    assert not token.startswith("https://")
    parts = urlsplit("https://" + token)
    assert parts.hostname == "mycluster" and parts.path == "/"
    q = dict(parse_qsl(parts.query))
    assert q["Action"] == "connect" and q["User"] == "app-user"
    assert q["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert q["X-Amz-Credential"] == "AKIDEXAMPLE/20260314/us-east-1/memorydb/aws4_request"
    assert q["X-Amz-Date"] == "20260314T150926Z"
    assert q["X-Amz-Expires"] == "900"
    assert q["X-Amz-SignedHeaders"] == "host"
    assert q["X-Amz-Security-Token"] == CREDS.token

    # Recompute SigV4 by hand (canonical request -> string to sign -> HMAC chain).
    signed = {k: v for k, v in q.items() if k != "X-Amz-Signature"}
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(signed.items())
    )
    canonical = "\n".join(["GET", "/", canonical_query, "host:mycluster", "", "host", hashlib.sha256(b"").hexdigest()])
    scope = "20260314/us-east-1/memorydb/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", "20260314T150926Z", scope, hashlib.sha256(canonical.encode()).hexdigest()])

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    k = h(("AWS4" + CREDS.secret_key).encode(), "20260314")
    for part in ("us-east-1", "memorydb", "aws4_request"):
        k = h(k, part)
    assert q["X-Amz-Signature"] == hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()


def test_provider_caches_and_refreshes_before_expiry():
    clock = [NOW.timestamp()]
    calls = []

    def source():
        calls.append(1)
        return CREDS

    p = MemoryDBIAMCredentialProvider("u", "c", "eu-west-1", credentials_source=source, clock=lambda: clock[0])
    user, t1 = p.get_credentials()
    assert user == "u"
    clock[0] += 300
    assert p.get_credentials()[1] == t1  # cached
    clock[0] += 301  # 601 s: refreshed well before the 900 s expiry
    t2 = p.get_credentials()[1]
    assert t2 != t1
    assert "X-Amz-Date=20260314T151927Z" in t2
    assert len(calls) == 2


def test_store_in_iam_mode_signs_tokens_for_both_client_paths(monkeypatch):
    """Wiring: in IAM mode the cluster client and the pipelined path both get
    (user, fresh token) from the same provider, with the task's credentials."""
    import asyncio

    from app.config import Settings
    from app.store import store_config
    from memorydb_sessions import StoreClient

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings = Settings.from_env({
        "SESSION_STORE_ENDPOINT": "clustercfg.session-app-prod.abc123.memorydb.eu-west-1.amazonaws.com",
        "SESSION_STORE_AUTH": "iam",
        "SESSION_STORE_USERNAME": "session-app",
        "SESSION_STORE_CLUSTER_NAME": "session-app-prod",
        "AWS_REGION": "eu-west-1",
    })
    store = StoreClient(store_config(settings))
    user, token = asyncio.run(store.fast.credentials())
    assert user == "session-app"
    assert token.startswith("session-app-prod/?Action=connect&User=session-app&")
    assert "X-Amz-Credential=AKIDEXAMPLE%2F" in token and "%2Feu-west-1%2Fmemorydb%2Faws4_request" in token
    provider = store.cluster.get_connection_kwargs()["credential_provider"]
    assert provider.get_credentials() == (user, token)  # the same provider, token cached


def test_credential_refresh_runs_off_the_event_loop():
    """botocore may fetch the task role's credentials over HTTP when making a token: that
    must not block the event loop (every request would wait)."""
    import asyncio
    import threading

    seen = []

    def source():
        seen.append(threading.current_thread())
        return CREDS

    provider = MemoryDBIAMCredentialProvider("app-user", "cluster", "eu-west-1", credentials_source=source)

    async def twice():
        first = await provider.get_credentials_async()
        second = await provider.get_credentials_async()  # cached: no thread, no signing
        return first, second

    first, second = asyncio.run(twice())
    assert first == second
    assert len(seen) == 1 and seen[0] is not threading.main_thread()
