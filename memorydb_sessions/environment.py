"""Settings from the environment, under the same names the session service reads, so an
application container gets its store from the stack exactly as the service does
(docs/container-contract.md). `VARIABLES` declares each one (default, range, meaning); the
package README's "Configuration" table is `python -m memorydb_sessions.environment`'s output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .connection import ConfigurationError, StoreConfig
from .policy import SessionPolicy

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_DAY = 86400


@dataclass(frozen=True)
class Variable:
    """One variable the core reads: its default and inclusive range (integers) or its choices.
    Declared here once; the session service's contract (app/contract.py) takes these rows and
    the package README's table is made from them (`table()`)."""

    env: str
    default: Any
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""
    unit: str = ""


VARIABLES: dict[str, Variable] = {v.env: v for v in (
    Variable("SESSION_STORE_ENDPOINT", None, doc="the cluster endpoint host (required)"),
    Variable("SESSION_STORE_PORT", 6379, 1, 65535, doc="the cluster endpoint port"),
    Variable("SESSION_STORE_USERNAME", None, doc="ACL user (required for `iam`; `default` when only a password is set)"),
    Variable("SESSION_STORE_PASSWORD", None, doc="password authentication (local Redis); never with `iam`"),
    Variable("SESSION_STORE_TLS", True, doc="TLS with certificate verification (required for `iam`)"),
    Variable("SESSION_STORE_AUTH", "password", choices=("password", "iam"),
             doc="`iam`: SigV4 tokens from the AWS credentials, refreshed before they expire"),
    Variable("SESSION_STORE_CLUSTER_NAME", None, doc="the MemoryDB cluster name (required for `iam`)"),
    Variable("SESSION_STORE_CA_FILE", None, doc="CA bundle of the store's certificate (required when hostname checks are off)"),
    Variable("SESSION_STORE_TLS_CHECK_HOSTNAME", True, doc="verify node names against the certificate"),
    Variable("AWS_REGION", None, doc="signs IAM tokens"),
    Variable("AWS_DEFAULT_REGION", None, doc="used when `AWS_REGION` is unset"),
    Variable("SESSION_STORE_TIMEOUT_MS", 1000, 50, 60000, doc="deadline of one store operation, retries included",
             unit="ms"),
    Variable("SESSION_STORE_CONNECT_TIMEOUT_MS", 500, 50, 60000, doc="TCP + TLS connect timeout", unit="ms"),
    Variable("SESSION_STORE_SOCKET_TIMEOUT_MS", 500, 50, 60000, doc="read/write timeout of a connection", unit="ms"),
    # At least 2 s: the slide interval is at least 1 s and shorter than the idle timeout.
    Variable("SESSION_IDLE_TIMEOUT_SECONDS", 1800, 2, 30 * _DAY, doc="sliding idle expiry", unit="s"),
    Variable("SESSION_ABSOLUTE_LIFETIME_SECONDS", 43200, 2, 365 * _DAY, doc="hard limit however active", unit="s"),
    # None: min(60, idle timeout / 2)
    Variable("SESSION_IDLE_SLIDE_SECONDS", None, 1, 3600, unit="s",
             doc="reads slide the idle expiry only when it is this stale (default min(60, idle/2))"),
    Variable("SESSION_MAX_SESSIONS_PER_USER", 10, 1, 1000, doc="concurrent sessions of one signed-in user"),
    Variable("SESSION_LIMIT_ACTION", "evict-oldest", choices=("evict-oldest", "refuse"),
             doc="at the cap: end the user's oldest session, or refuse the sign-in"),
    Variable("SESSION_MAX_PAYLOAD_BYTES", 4096, 64, 1024 * 1024, doc="largest session data (JSON)", unit="bytes"),
)}


def table() -> str:
    """The variables as a Markdown table (memorydb_sessions/README.md, "Configuration")."""
    rows = ["| variable | default | rule | meaning |", "|---|---|---|---|"]
    for v in VARIABLES.values():
        default = "" if v.default is None else f"`{str(v.default).lower() if isinstance(v.default, bool) else v.default}`"
        if v.low is not None:
            rule = f"{v.low}-{v.high}" + (f" {v.unit}" if v.unit else "")
        elif v.choices:
            rule = " or ".join(f"`{c}`" for c in v.choices)
        elif isinstance(v.default, bool):
            rule = "true or false"
        else:
            rule = ""
        rows.append(f"| `{v.env}` | {default} | {rule} | {v.doc} |")
    return "\n".join(rows)


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


README = Path(__file__).with_name("README.md")
TABLE_START, TABLE_END = "<!-- variables: start -->", "<!-- variables: end -->"


def readme_with_table(text: str) -> str:
    """*text* (the README) with the table between its markers replaced by today's."""
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    return text[:start] + "\n" + table() + "\n" + text[end:]


if __name__ == "__main__":  # python -m memorydb_sessions.environment [--write-doc]
    import sys

    if sys.argv[1:] == ["--write-doc"]:
        README.write_text(readme_with_table(README.read_text()))
    else:
        print(table())
