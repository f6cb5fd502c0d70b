"""What can go wrong, classified so callers answer it right.

* :class:`StoreUnavailable`: the store cannot be reached in time (connection, timeout,
  failover in progress). Retry later: HTTP 503 with ``Retry-After``.
* :class:`StoreFull`: the store refused a write for memory (``OOM``). Also 503, but its
  own metric and alarm: adding tasks does not help, adding shards does.
* :class:`StoreError`: anything else the store answered (``WRONGTYPE``, a script error):
  a bug, never retried, HTTP 500 and logged.
* :class:`SessionLimitReached`, :class:`SignInRevoked`, :class:`Conflict`: outcomes of a
  request, not failures of the store.
"""

from __future__ import annotations

import asyncio

from redis.exceptions import (
    BusyLoadingError,
    ClusterDownError,
    ConnectionError as RedisConnectionError,
    MasterDownError,
    MovedError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TimeoutError as RedisTimeoutError,
    TryAgainError,
)


class SessionError(Exception):
    """Base class of this package's errors."""


class StoreUnavailable(SessionError):
    """The session store could not be reached within the deadline."""


class StoreFull(StoreUnavailable):
    """The store refused a write: out of memory (maxmemory reached)."""


class StoreError(SessionError):
    """The store answered with an error that retrying cannot fix (a bug)."""


class Conflict(SessionError):
    """Too many concurrent writers on one session; retry."""


class SessionLimitReached(SessionError):
    """The user has the maximum number of sessions and the policy refuses a new one."""


class SignInRevoked(SessionError):
    """The user revoked every session after this sign-in was proven: sign in again."""


# Transient: the cluster is moving or a node is away. Retried by the client, then 503.
_TRANSIENT = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterDownError,
    TryAgainError,
    MasterDownError,
    BusyLoadingError,
    ReadOnlyError,
    MovedError,
    OSError,
    asyncio.TimeoutError,
    ConnectionError,
)


def classify(exc: BaseException) -> SessionError:
    """The error a caller should see for a redis-py / socket failure *exc*."""
    if isinstance(exc, SessionError):
        return exc
    if isinstance(exc, _TRANSIENT):
        return StoreUnavailable(type(exc).__name__)
    if isinstance(exc, ResponseError):
        message = str(exc)
        if message.startswith("OOM"):
            return StoreFull("store out of memory")
        for transient in ("CLUSTERDOWN", "TRYAGAIN", "LOADING", "MASTERDOWN", "READONLY"):
            if message.startswith(transient):
                return StoreUnavailable(transient)
        return StoreError(message[:200])
    if isinstance(exc, RedisClusterException):
        # redis-py raises it when no node answers for a slot (e.g. all down).
        return StoreUnavailable(type(exc).__name__)
    if isinstance(exc, RedisError):
        return StoreError(f"{type(exc).__name__}: {str(exc)[:200]}")
    raise TypeError(f"not a store error: {exc!r}")


STORE_EXCEPTIONS = (RedisError, RedisClusterException, OSError, asyncio.TimeoutError, ConnectionError)
