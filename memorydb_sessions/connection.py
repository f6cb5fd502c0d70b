"""The connection to the store: redis-py's asyncio ``RedisCluster`` (MemoryDB is always
cluster mode) with TLS and certificate verification, an ACL user with a password or IAM
tokens, a bounded pool, timeouts, and retries with backoff across MOVED/ASK/failover;
plus the pipelined fast path (``fastpath.py``) for the hot single-slot commands.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from redis.asyncio.cluster import RedisCluster
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from .fastpath import FastPath


class ConfigurationError(ValueError):
    """A connection setting is missing or contradicts another; the message names it."""


@dataclass(frozen=True)
class StoreConfig:
    """Where the store is and how to authenticate to it."""

    host: str
    port: int = 6379
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = True
    ca_file: str | None = None  # None: the system trust store (MemoryDB's certificates chain to it)
    check_hostname: bool = True
    auth: str = "password"  # "password" (also: none) or "iam"
    cluster_name: str | None = None  # IAM tokens are signed for the cluster's name
    region: str | None = None
    connect_timeout: float = 0.5
    socket_timeout: float = 0.5
    max_connections: int = 64

    def __post_init__(self) -> None:
        if self.tls and not self.check_hostname and not self.ca_file:
            raise ConfigurationError("ca_file is required when check_hostname is off: "
                                     "without the name check any certificate of the system trust store would pass")
        if self.auth == "iam" and not (self.username and self.cluster_name and self.region and self.tls):
            raise ConfigurationError("auth='iam' needs username, cluster_name, region and tls=True")
        if self.auth not in ("password", "iam"):
            raise ConfigurationError(f"auth must be 'password' or 'iam', got {self.auth!r}")


class StoreClient:
    """The cluster client plus the fast path; one per process (or per event loop)."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        provider = None
        if config.auth == "iam":
            from .iam import MemoryDBIAMCredentialProvider

            provider = MemoryDBIAMCredentialProvider(config.username or "", config.cluster_name or "", config.region or "")
        self.cluster = _cluster(config, provider)
        if provider is not None:
            credentials = provider.get_credentials_async
        elif config.password:
            user, password = config.username or "default", config.password

            async def credentials():
                return user, password
        else:
            credentials = None
        self.fast = FastPath(self.cluster, ssl_context=_ssl_context(config), credentials=credentials,
                             connect_timeout=config.connect_timeout, timeout=config.socket_timeout)

    async def initialize(self) -> None:
        await self.cluster.initialize()

    async def aclose(self) -> None:
        await self.fast.aclose()
        await self.cluster.aclose()


def _ssl_context(config: StoreConfig) -> ssl.SSLContext | None:
    if not config.tls:
        return None
    ctx = ssl.create_default_context(cafile=config.ca_file)
    ctx.check_hostname = config.check_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _cluster(config: StoreConfig, provider) -> RedisCluster:
    kwargs: dict = {}
    if provider is not None:
        kwargs["credential_provider"] = provider
    elif config.password:
        kwargs["username"] = config.username or "default"
        kwargs["password"] = config.password
    if config.tls:
        kwargs.update(ssl=True, ssl_cert_reqs="required", ssl_check_hostname=config.check_hostname,
                      ssl_ca_certs=config.ca_file)
    return RedisCluster(
        host=config.host,
        port=config.port,
        # Keep serving the shards that are up while one fails over.
        require_full_coverage=False,
        max_connections=config.max_connections,
        socket_timeout=config.socket_timeout,
        socket_connect_timeout=config.connect_timeout,
        socket_keepalive=True,
        # Connection errors and timeouts are retried with jittered backoff (every command we
        # send is safe to repeat); MOVED/ASK are followed by the client, and a connection
        # error marks the slot map for refresh so a promoted replica is found after failover.
        retry=Retry(ExponentialWithJitterBackoff(base=0.02, cap=0.25), retries=3),
        reinitialize_steps=5,
        decode_responses=False,
        health_check_interval=0,
        **kwargs,
    )
