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
from dataclasses import dataclass
from typing import Any

from .connection import ConfigurationError, StoreConfig
from .policy import SessionPolicy

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_DAY = 86400


@dataclass(frozen=True)
class Variable:
    """One variable the core reads: its default and inclusive range (integers) or its choices.
    Declared here once; the session service's contract (app/contract.py) takes these rows."""

    env: str
    default: Any
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()


VARIABLES: dict[str, Variable] = {v.env: v for v in (
    Variable("SESSION_STORE_PORT", 6379, 1, 65535),
    Variable("SESSION_STORE_TLS", True),
    Variable("SESSION_STORE_AUTH", "password", choices=("password", "iam")),
    Variable("SESSION_STORE_TLS_CHECK_HOSTNAME", True),
    Variable("SESSION_STORE_TIMEOUT_MS", 1000, 50, 60000),
    Variable("SESSION_STORE_CONNECT_TIMEOUT_MS", 500, 50, 60000),
    Variable("SESSION_STORE_SOCKET_TIMEOUT_MS", 500, 50, 60000),
    # At least 2 s: the slide interval is at least 1 s and shorter than the idle timeout.
    Variable("SESSION_IDLE_TIMEOUT_SECONDS", 1800, 2, 30 * _DAY),
    Variable("SESSION_ABSOLUTE_LIFETIME_SECONDS", 43200, 2, 365 * _DAY),
    Variable("SESSION_IDLE_SLIDE_SECONDS", None, 1, 3600),  # None: min(60, idle timeout / 2)
    Variable("SESSION_MAX_SESSIONS_PER_USER", 10, 1, 1000),
    Variable("SESSION_LIMIT_ACTION", "evict-oldest", choices=("evict-oldest", "refuse")),
    Variable("SESSION_MAX_PAYLOAD_BYTES", 4096, 64, 1024 * 1024),
)}


def default_idle_slide(idle_timeout: int) -> int:
    return min(60, max(1, idle_timeout // 2))


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def _int(env: Mapping[str, str], name: str, default: int | None = None) -> int:
    v = VARIABLES[name]
    raw = _get(env, name)
    if raw is None:
        return v.default if default is None else default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if not v.low <= value <= v.high:
        raise ConfigurationError(f"{name} must be between {v.low} and {v.high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = _get(env, name)
    if raw is None:
        return VARIABLES[name].default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def _choice(env: Mapping[str, str], name: str) -> str:
    v = VARIABLES[name]
    value = (_get(env, name) or v.default).lower()
    if value not in v.choices:
        raise ConfigurationError(f"{name} must be " + " or ".join(f"'{c}'" for c in v.choices) + f", got {value!r}")
    return value


def store_config_from_env(env: Mapping[str, str] | None = None) -> StoreConfig:
    env = os.environ if env is None else env
    host = _get(env, "SESSION_STORE_ENDPOINT")
    if not host:
        raise ConfigurationError("SESSION_STORE_ENDPOINT is required (the MemoryDB cluster endpoint host)")
    password = env.get("SESSION_STORE_PASSWORD") or None
    try:
        return StoreConfig(
            host=host,
            port=_int(env, "SESSION_STORE_PORT"),
            username=_get(env, "SESSION_STORE_USERNAME") or ("default" if password else None),
            password=password,
            tls=_bool(env, "SESSION_STORE_TLS"),
            ca_file=_get(env, "SESSION_STORE_CA_FILE"),
            check_hostname=_bool(env, "SESSION_STORE_TLS_CHECK_HOSTNAME"),
            auth=_choice(env, "SESSION_STORE_AUTH"),
            cluster_name=_get(env, "SESSION_STORE_CLUSTER_NAME"),
            region=_get(env, "AWS_REGION") or _get(env, "AWS_DEFAULT_REGION"),
            connect_timeout=_int(env, "SESSION_STORE_CONNECT_TIMEOUT_MS") / 1000,
            socket_timeout=_int(env, "SESSION_STORE_SOCKET_TIMEOUT_MS") / 1000,
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"SESSION_STORE_*: {exc}") from None


def policy_from_env(env: Mapping[str, str] | None = None) -> SessionPolicy:
    env = os.environ if env is None else env
    idle = _int(env, "SESSION_IDLE_TIMEOUT_SECONDS")
    try:
        return SessionPolicy(
            idle_timeout=idle,
            absolute_lifetime=_int(env, "SESSION_ABSOLUTE_LIFETIME_SECONDS"),
            idle_slide=_int(env, "SESSION_IDLE_SLIDE_SECONDS", default_idle_slide(idle)),
            max_sessions_per_user=_int(env, "SESSION_MAX_SESSIONS_PER_USER"),
            limit_action=_choice(env, "SESSION_LIMIT_ACTION"),
            max_data_bytes=_int(env, "SESSION_MAX_PAYLOAD_BYTES"),
            store_timeout=_int(env, "SESSION_STORE_TIMEOUT_MS") / 1000,
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
