"""Settings from the environment, under the same names the session service reads, so an
application container gets its store from the stack exactly as the service does
(docs/container-contract.md): ``SESSION_STORE_ENDPOINT``, ``SESSION_STORE_PORT``,
``SESSION_STORE_USERNAME``, ``SESSION_STORE_PASSWORD``, ``SESSION_STORE_TLS``,
``SESSION_STORE_AUTH``, ``SESSION_STORE_CLUSTER_NAME``, ``SESSION_STORE_CA_FILE``,
``SESSION_STORE_TLS_CHECK_HOSTNAME``, ``AWS_REGION``; ``SESSION_IDLE_TIMEOUT_SECONDS``,
``SESSION_ABSOLUTE_LIFETIME_SECONDS``, ``SESSION_IDLE_SLIDE_SECONDS``,
``SESSION_MAX_SESSIONS_PER_USER``, ``SESSION_LIMIT_ACTION``, ``SESSION_MAX_PAYLOAD_BYTES``,
``SESSION_STORE_TIMEOUT_MS``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .connection import ConfigurationError, StoreConfig
from .policy import SessionPolicy

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigurationError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _get(env, name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def store_config_from_env(env: Mapping[str, str] | None = None) -> StoreConfig:
    env = os.environ if env is None else env
    host = _get(env, "SESSION_STORE_ENDPOINT")
    if not host:
        raise ConfigurationError("SESSION_STORE_ENDPOINT is required (the MemoryDB cluster endpoint host)")
    password = env.get("SESSION_STORE_PASSWORD") or None
    try:
        return StoreConfig(
            host=host,
            port=_int(env, "SESSION_STORE_PORT", 6379, 1, 65535),
            username=_get(env, "SESSION_STORE_USERNAME") or ("default" if password else None),
            password=password,
            tls=_bool(env, "SESSION_STORE_TLS", True),
            ca_file=_get(env, "SESSION_STORE_CA_FILE"),
            check_hostname=_bool(env, "SESSION_STORE_TLS_CHECK_HOSTNAME", True),
            auth=(_get(env, "SESSION_STORE_AUTH") or "password").lower(),
            cluster_name=_get(env, "SESSION_STORE_CLUSTER_NAME"),
            region=_get(env, "AWS_REGION") or _get(env, "AWS_DEFAULT_REGION"),
            connect_timeout=_int(env, "SESSION_STORE_CONNECT_TIMEOUT_MS", 500, 50, 60000) / 1000,
            socket_timeout=_int(env, "SESSION_STORE_SOCKET_TIMEOUT_MS", 500, 50, 60000) / 1000,
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"SESSION_STORE_*: {exc}") from None


def policy_from_env(env: Mapping[str, str] | None = None) -> SessionPolicy:
    env = os.environ if env is None else env
    idle = _int(env, "SESSION_IDLE_TIMEOUT_SECONDS", 1800, 1, 30 * 86400)
    try:
        return SessionPolicy(
            idle_timeout=idle,
            absolute_lifetime=_int(env, "SESSION_ABSOLUTE_LIFETIME_SECONDS", 43200, 1, 365 * 86400),
            idle_slide=_int(env, "SESSION_IDLE_SLIDE_SECONDS", min(60, max(1, idle // 2)), 1, 3600),
            max_sessions_per_user=_int(env, "SESSION_MAX_SESSIONS_PER_USER", 10, 1, 1000),
            limit_action=(_get(env, "SESSION_LIMIT_ACTION") or "evict-oldest").lower(),
            max_data_bytes=_int(env, "SESSION_MAX_PAYLOAD_BYTES", 4096, 64, 1024 * 1024),
            store_timeout=_int(env, "SESSION_STORE_TIMEOUT_MS", 1000, 50, 60000) / 1000,
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
