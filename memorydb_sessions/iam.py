"""IAM authentication for MemoryDB: short-lived SigV4 tokens made with botocore.

A token is a presigned ``GET`` of ``https://<cluster-name>/?Action=connect&User=<user>``
for the service ``memorydb``, valid for 15 minutes, with the ``https://``
stripped.  It is used as the AUTH password at connection time only, so the
provider caches it and makes a new one well before it expires.  Credentials
come from botocore's default chain (the ECS task role on Fargate) and are
refreshed by botocore itself.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading
import time
from typing import Callable
from urllib.parse import urlencode

from botocore.auth import SIGV4_TIMESTAMP, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from redis.credentials import CredentialProvider

TOKEN_TTL_SECONDS = 900  # what MemoryDB accepts at most
REFRESH_AFTER_SECONDS = 600  # make a new token well before the old one expires
SERVICE = "memorydb"


class _SigV4QueryAuthAt(SigV4QueryAuth):
    """botocore's query-string SigV4 signer with an injectable clock."""

    def __init__(self, credentials, service_name, region_name, expires, now: _dt.datetime):
        super().__init__(credentials, service_name, region_name, expires)
        self._now = now

    def add_auth(self, request):  # same steps as SigV4Auth.add_auth, fixed timestamp
        request.context["timestamp"] = self._now.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        signature = self.signature(string_to_sign, request)
        self._inject_signature_to_request(request, signature)


def make_token(
    *,
    user: str,
    cluster_name: str,
    region: str,
    credentials,
    now: _dt.datetime | None = None,
    expires: int = TOKEN_TTL_SECONDS,
) -> str:
    """Return a MemoryDB IAM auth token for *user* on *cluster_name*.

    *credentials* is a botocore ``Credentials``/``ReadOnlyCredentials`` object
    (access key, secret key, optional session token).
    """
    if now is None:
        now = _dt.datetime.now(_dt.timezone.utc)
    now = now.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    url = f"https://{cluster_name}/?" + urlencode({"Action": "connect", "User": user})
    request = AWSRequest(method="GET", url=url)
    _SigV4QueryAuthAt(credentials, SERVICE, region, expires, now).add_auth(request)
    return request.url.removeprefix("https://")


class MemoryDBIAMCredentialProvider(CredentialProvider):
    """redis-py credential provider that returns (user, fresh IAM token)."""

    def __init__(
        self,
        user: str,
        cluster_name: str,
        region: str,
        *,
        credentials_source: Callable[[], object] | None = None,
        clock: Callable[[], float] = time.time,
        refresh_after: float = REFRESH_AFTER_SECONDS,
    ) -> None:
        self.user = user
        self.cluster_name = cluster_name
        self.region = region
        self._clock = clock
        self._refresh_after = refresh_after
        self._lock = threading.Lock()
        self._token: str | None = None
        self._made_at = 0.0
        if credentials_source is None:
            import botocore.session

            session = botocore.session.get_session()

            def credentials_source():
                creds = session.get_credentials()
                if creds is None:
                    raise RuntimeError("no AWS credentials found for MemoryDB IAM authentication")
                return creds.get_frozen_credentials()

        self._credentials_source = credentials_source

    def get_credentials(self) -> tuple[str, str]:
        now = self._clock()
        with self._lock:
            if self._token is None or now - self._made_at >= self._refresh_after:
                self._token = make_token(
                    user=self.user,
                    cluster_name=self.cluster_name,
                    region=self.region,
                    credentials=self._credentials_source(),
                    now=_dt.datetime.fromtimestamp(now, _dt.timezone.utc),
                )
                self._made_at = now
            return self.user, self._token

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() - self._made_at < self._refresh_after

    async def get_credentials_async(self) -> tuple[str, str]:
        # A cached token costs nothing. Making one may make botocore refresh the task
        # role's credentials, an HTTP call to the ECS credentials endpoint: that runs in a
        # worker thread, never on the event loop (every request would wait for it).
        if self._fresh():
            return self.user, self._token  # type: ignore[return-value]
        return await asyncio.to_thread(self.get_credentials)
