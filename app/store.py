"""The store client: redis-py's asyncio ``RedisCluster`` (MemoryDB is always
cluster mode) with TLS and certificate verification, ACL user + password or IAM
tokens, a bounded connection pool, timeouts and retries with backoff across
MOVED/ASK/failover.

Every operation runs under one deadline (``Settings.store_timeout``); any
failure to reach the store becomes :class:`StoreUnavailable`, which the HTTP
layer answers with 503 and ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import ssl

from redis.asyncio.cluster import RedisCluster
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisClusterException, RedisError
from redis.retry import Retry

from .config import Settings


class StoreUnavailable(Exception):
    """The session store could not be reached (or answered with a cluster error)."""


# Errors meaning "the store is (temporarily) not there".
STORE_ERRORS = (RedisError, RedisClusterException, OSError, asyncio.TimeoutError, ConnectionError)


class Store:
    """The cluster client plus the pipelined fast path for single-key commands."""

    def __init__(self, settings: Settings) -> None:
        from .fastpath import FastPath

        provider = None
        if settings.store_auth == "iam":
            from .iam import MemoryDBIAMCredentialProvider

            provider = MemoryDBIAMCredentialProvider(
                settings.store_username or "", settings.store_cluster_name or "", settings.aws_region or ""
            )
        self.cluster = make_client(settings, provider)
        if provider is not None:
            credentials = provider.get_credentials_async
        elif settings.store_password:
            user, password = settings.store_username or "default", settings.store_password

            async def credentials():
                return user, password
        else:
            credentials = None
        ctx = None
        if settings.store_tls:
            ctx = ssl.create_default_context(cafile=settings.store_ca_file)
            ctx.check_hostname = settings.store_tls_check_hostname
            ctx.verify_mode = ssl.CERT_REQUIRED
        self.fast = FastPath(
            self.cluster, ssl_context=ctx, credentials=credentials, connect_timeout=settings.store_connect_timeout,
            timeout=settings.store_timeout,
        )

    async def aclose(self) -> None:
        await self.fast.aclose()
        await self.cluster.aclose()


def make_client(settings: Settings, provider=None) -> RedisCluster:
    kwargs: dict = {}
    if provider is not None:
        kwargs["credential_provider"] = provider
    elif settings.store_password:
        kwargs["username"] = settings.store_username
        kwargs["password"] = settings.store_password
    if settings.store_tls:
        kwargs.update(
            ssl=True,
            ssl_cert_reqs="required",
            # The CA chain is always verified; the name check can be turned off
            # only for a store that reports node addresses its certificate lacks.
            ssl_check_hostname=settings.store_tls_check_hostname,
            ssl_ca_certs=settings.store_ca_file,  # None: the system trust store
        )
    return RedisCluster(
        host=settings.store_endpoint,
        port=settings.store_port,
        # Keep serving the shards that are up while one fails over.
        require_full_coverage=False,
        max_connections=settings.store_max_connections,
        socket_timeout=settings.store_socket_timeout,
        socket_connect_timeout=settings.store_connect_timeout,
        socket_keepalive=True,
        # Retries on connection errors/timeouts with jittered backoff; MOVED/ASK
        # redirections are followed by the cluster client itself, and a
        # connection error marks the slot map for refresh so a promoted
        # replica is found after a failover.
        retry=Retry(ExponentialWithJitterBackoff(base=0.02, cap=0.25), retries=3),
        reinitialize_steps=5,
        decode_responses=False,
        health_check_interval=0,
        client_name=None,
        **kwargs,
    )
