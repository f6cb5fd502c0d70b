"""Configuration from environment variables (what ECS injects from Parameter
Store), validated at start with messages that name the variable.

Optionally (``SESSION_PARAMETER_PREFIX``) the Parameter Store values are read
directly by path with botocore, like the original design's helper script did;
explicit environment variables still win.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any, Mapping

from app.contract import PARAMETER_TO_ENV, SETTINGS, ContractError
from memorydb_sessions.environment import default_idle_slide

__all__ = ["ConfigError", "PARAMETER_TO_ENV", "Settings", "load_parameters"]


class ConfigError(ContractError):
    """A configuration value is missing or invalid; the message names the variable."""


def _str(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    return raw.strip() if raw is not None and raw.strip() else None


def _parse_all(env: Mapping[str, str]) -> dict[str, Any]:
    """Every declared variable parsed by its row (app/contract.py): attribute name -> value."""
    out: dict[str, Any] = {}
    for row in SETTINGS:
        try:
            value = row.parse(env)
        except ContractError as exc:
            raise ConfigError(str(exc)) from None
        if row.attr is not None:
            out[row.attr] = value * row.scale if row.scale != 1.0 and value is not None else value
    return out


@dataclass(frozen=True)
class Settings:
    store_endpoint: str
    store_port: int = 6379
    store_username: str | None = None
    store_password: str | None = field(default=None, repr=False)
    store_tls: bool = True
    store_auth: str = "password"  # "password" or "iam"
    store_cluster_name: str | None = None
    store_ca_file: str | None = None
    store_tls_check_hostname: bool = True
    store_db: int = 0
    idle_timeout: int = 1800
    absolute_lifetime: int = 43200
    max_payload_bytes: int = 4096
    max_depth: int = 8
    max_keys: int = 256
    served_by_header: bool = False
    # Behind an HTTPS listener (set by the stack): every request counts as HTTPS, whatever
    # X-Forwarded-Proto says, so the cookie is always __Host-sid; Secure.
    require_https: bool = False
    # Strict-Transport-Security max-age on responses to HTTPS requests; 0 sends none.
    hsts_max_age: int = 31536000
    instance_name: str = "local"
    environment: str = "local"
    http_host: str = "0.0.0.0"
    http_port: int = 8080
    workers: int = 1
    aws_region: str | None = None
    # Store client tuning.
    store_timeout: float = 1.0  # whole-operation deadline (s), retries included
    store_connect_timeout: float = 0.5
    store_socket_timeout: float = 0.5
    store_max_connections: int = 64
    retry_after_seconds: int = 2
    graceful_shutdown_seconds: int = 20
    # Request-log sampling (5xx and slow requests always logged).
    request_log_sample_rate: float = 1.0
    slow_request_ms: int = 1000
    # Trust model and sessions of a user (docs/security.md).
    max_sessions_per_user: int = 10  # concurrent sessions of one user (ASVS 7.1.2)
    session_limit_action: str = "evict-oldest"  # or "refuse" (sign-in refused at the cap)
    idle_slide_seconds: int = 60  # slide the idle expiry only when it is this stale (reads stay reads)
    create_rate_per_minute: int = 30  # new sessions per client address and minute
    signin_failures_per_account: int = 5  # failed sign-ins per account per window
    signin_failures_per_client: int = 20  # failed sign-ins per client address per window
    signin_window_seconds: int = 900
    reauth_max_age: int = 300  # step-up: a sensitive action needs a sign-in at most this old
    allowed_origins: tuple[str, ...] = ()  # extra origins allowed to send state-changing requests
    cookie_persistent: bool = False  # Max-Age on the cookie; off: a browser-session cookie (OWASP)
    trusted_proxy_hops: int = 1  # X-Forwarded-For entries appended by our own proxies (the ALB: 1)
    user_directory: bool = True  # the reference application's own sign-in (python -m app users)
    # Application plane: a second listener the ALB never routes to, for trusted backends.
    app_plane_port: int = 0  # 0: off
    trusted_caller_arns: tuple[str, ...] = ()  # IAM role ARNs allowed on the application plane
    sts_endpoint: str | None = None  # default https://sts.<region>.amazonaws.com
    app_plane_server_id: str = "local"  # signed into callers' requests (replay to other services fails)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, use_parameter_store: bool = True) -> "Settings":
        env = dict(os.environ if env is None else env)
        prefix = _str(env, "SESSION_PARAMETER_PREFIX")
        if prefix and use_parameter_store:
            for k, v in load_parameters(prefix, _str(env, "AWS_REGION") or _str(env, "AWS_DEFAULT_REGION")).items():
                env.setdefault(k, v)
        if not _str(env, "AWS_REGION") and _str(env, "AWS_DEFAULT_REGION"):
            env["AWS_REGION"] = env["AWS_DEFAULT_REGION"]

        v = _parse_all(env)
        # Rules across variables, or beyond one row's range.
        endpoint = v["store_endpoint"]
        if any(c.isspace() for c in endpoint) or "/" in endpoint:
            raise ConfigError(f"SESSION_STORE_ENDPOINT must be a host name, got {endpoint!r}")
        if ":" in endpoint:
            raise ConfigError(f"SESSION_STORE_ENDPOINT must be a host name without a port (the port is "
                              f"SESSION_STORE_PORT), got {endpoint!r}")
        if v["store_auth"] == "iam":
            for attr, name in (("store_username", "SESSION_STORE_USERNAME"),
                               ("store_cluster_name", "SESSION_STORE_CLUSTER_NAME"), ("aws_region", "AWS_REGION")):
                if not v[attr]:
                    raise ConfigError(f"{name} is required when SESSION_STORE_AUTH=iam")
            if not v["store_tls"]:
                raise ConfigError("SESSION_STORE_TLS must be true when SESSION_STORE_AUTH=iam")
        elif v["store_password"] and not v["store_username"]:
            v["store_username"] = "default"
        ca_file = v["store_ca_file"]
        if ca_file and not os.path.isfile(ca_file):
            raise ConfigError(f"SESSION_STORE_CA_FILE points to a missing file: {ca_file}")
        if v["store_db"] != 0:
            raise ConfigError(f"SESSION_STORE_DB must be 0 (MemoryDB is cluster mode: database 0 only), got {v['store_db']}")
        idle, absolute = v["idle_timeout"], v["absolute_lifetime"]
        if absolute < idle:
            raise ConfigError(
                f"SESSION_ABSOLUTE_LIFETIME_SECONDS ({absolute}) must not be shorter than "
                f"SESSION_IDLE_TIMEOUT_SECONDS ({idle})"
            )
        if v["store_tls"] and not v["store_tls_check_hostname"] and not ca_file:
            # Without the name check, any certificate the trust store accepts would do: only a
            # CA of the store's own keeps the check meaningful.
            raise ConfigError("SESSION_STORE_CA_FILE is required when SESSION_STORE_TLS_CHECK_HOSTNAME=false")
        if v["idle_slide_seconds"] is None:
            v["idle_slide_seconds"] = default_idle_slide(idle)
        if v["idle_slide_seconds"] >= idle:
            raise ConfigError(f"SESSION_IDLE_SLIDE_SECONDS ({v['idle_slide_seconds']}) must be shorter than "
                              f"SESSION_IDLE_TIMEOUT_SECONDS ({idle})")
        v["instance_name"] = v["instance_name"] or socket.gethostname()
        v["app_plane_server_id"] = v["app_plane_server_id"] or v["environment"]
        return cls(**v)

def load_parameters(prefix: str, region: str | None) -> dict[str, str]:
    """Read every parameter under *prefix* (recursively, decrypted) and map the
    known ones to their environment variable names."""
    import botocore.session  # imported lazily: ~20 MB of RSS we skip otherwise
    from botocore.exceptions import BotoCoreError, ClientError

    prefix = "/" + prefix.strip("/") + "/"
    try:
        client = botocore.session.get_session().create_client("ssm", region_name=region)
        out: dict[str, str] = {}
        kwargs = {"Path": prefix, "Recursive": True, "WithDecryption": True}
        while True:
            page = client.get_parameters_by_path(**kwargs)
            for p in page.get("Parameters", []):
                rel = p["Name"][len(prefix):]
                if rel in PARAMETER_TO_ENV:
                    out[PARAMETER_TO_ENV[rel]] = p["Value"]
            token = page.get("NextToken")
            if not token:
                return out
            kwargs["NextToken"] = token
    except (BotoCoreError, ClientError) as exc:
        raise ConfigError(f"SESSION_PARAMETER_PREFIX: cannot read Parameter Store path {prefix}: {exc}") from exc
