"""Configuration from environment variables (what ECS injects from Parameter
Store), validated at start with messages that name the variable.

Optionally (``SESSION_PARAMETER_PREFIX``) the Parameter Store values are read
directly by path with botocore, like the original design's helper script did;
explicit environment variables still win.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

# Parameter name (relative to the prefix) -> environment variable.
PARAMETER_TO_ENV = {
    "memorydb/endpoint": "SESSION_STORE_ENDPOINT",
    "memorydb/port": "SESSION_STORE_PORT",
    "memorydb/username": "SESSION_STORE_USERNAME",
    "memorydb/tls": "SESSION_STORE_TLS",
    "memorydb/auth-mode": "SESSION_STORE_AUTH",
    "memorydb/cluster-name": "SESSION_STORE_CLUSTER_NAME",
    "memorydb/password": "SESSION_STORE_PASSWORD",
    "config/redis-db": "SESSION_STORE_DB",
    "config/session-timeout": "SESSION_IDLE_TIMEOUT_SECONDS",
    "config/session-absolute-lifetime": "SESSION_ABSOLUTE_LIFETIME_SECONDS",
}


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the variable."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    v = raw.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _number(env: Mapping[str, str], name: str, default, lo, hi, parse: Callable[[str], Any], kind: str):
    """`name` from env parsed by `parse`, within [lo, hi]; `default` when unset (None: required)."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        if default is None:
            raise ConfigError(f"{name} is required")
        return default
    try:
        v = parse(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
    if not lo <= v <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {v}")
    return v


def _int(env: Mapping[str, str], name: str, default: int | None, lo: int, hi: int) -> int:
    return _number(env, name, default, lo, hi, int, "an integer")


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    return _number(env, name, default, lo, hi, float, "a number")


def _str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip()


_ORIGIN_RE = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")
_ROLE_ARN_RE = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")


def _list(env: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in (env.get(name) or "").split(",") if item.strip()]


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    out = []
    for origin in _list(env, name):
        if not _ORIGIN_RE.fullmatch(origin):
            raise ConfigError(f"{name}: {origin!r} is not an origin (scheme://host[:port], lower case, no path)")
        out.append(origin)
    return tuple(out)


def _role_arns(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    out = []
    for arn in _list(env, name):
        if not _ROLE_ARN_RE.fullmatch(arn):
            raise ConfigError(f"{name}: {arn!r} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)")
        out.append(arn)
    return tuple(out)


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

        endpoint = _str(env, "SESSION_STORE_ENDPOINT")
        if not endpoint:
            raise ConfigError("SESSION_STORE_ENDPOINT is required (the MemoryDB cluster endpoint host)")
        if any(c.isspace() for c in endpoint) or "/" in endpoint:
            raise ConfigError(f"SESSION_STORE_ENDPOINT must be a host name, got {endpoint!r}")

        auth = (_str(env, "SESSION_STORE_AUTH", "password") or "password").lower()
        if auth not in ("password", "iam"):
            raise ConfigError(f"SESSION_STORE_AUTH must be 'iam' or 'password', got {auth!r}")
        username = _str(env, "SESSION_STORE_USERNAME")
        password = env.get("SESSION_STORE_PASSWORD") or None
        cluster_name = _str(env, "SESSION_STORE_CLUSTER_NAME")
        region = _str(env, "AWS_REGION") or _str(env, "AWS_DEFAULT_REGION")
        tls = _bool(env, "SESSION_STORE_TLS", True)
        if auth == "iam":
            if not username:
                raise ConfigError("SESSION_STORE_USERNAME is required when SESSION_STORE_AUTH=iam")
            if not cluster_name:
                raise ConfigError("SESSION_STORE_CLUSTER_NAME is required when SESSION_STORE_AUTH=iam")
            if not region:
                raise ConfigError("AWS_REGION is required when SESSION_STORE_AUTH=iam")
            if not tls:
                raise ConfigError("SESSION_STORE_TLS must be true when SESSION_STORE_AUTH=iam")
        elif password and not username:
            username = "default"

        ca_file = _str(env, "SESSION_STORE_CA_FILE")
        if ca_file and not os.path.isfile(ca_file):
            raise ConfigError(f"SESSION_STORE_CA_FILE points to a missing file: {ca_file}")

        db = _int(env, "SESSION_STORE_DB", 0, 0, 15)
        if db != 0:
            raise ConfigError(f"SESSION_STORE_DB must be 0 (MemoryDB is cluster mode: database 0 only), got {db}")
        idle = _int(env, "SESSION_IDLE_TIMEOUT_SECONDS", 1800, 1, 30 * 86400)
        absolute = _int(env, "SESSION_ABSOLUTE_LIFETIME_SECONDS", 43200, 1, 365 * 86400)
        if absolute < idle:
            raise ConfigError(
                f"SESSION_ABSOLUTE_LIFETIME_SECONDS ({absolute}) must not be shorter than "
                f"SESSION_IDLE_TIMEOUT_SECONDS ({idle})"
            )

        check_hostname = _bool(env, "SESSION_STORE_TLS_CHECK_HOSTNAME", True)
        if tls and not check_hostname and not ca_file:
            # Without the name check, any certificate the trust store accepts would do: only a
            # CA of the store's own keeps the check meaningful.
            raise ConfigError("SESSION_STORE_CA_FILE is required when SESSION_STORE_TLS_CHECK_HOSTNAME=false")
        limit_action = (_str(env, "SESSION_LIMIT_ACTION", "evict-oldest") or "").lower()
        if limit_action not in ("evict-oldest", "refuse"):
            raise ConfigError(f"SESSION_LIMIT_ACTION must be 'evict-oldest' or 'refuse', got {limit_action!r}")
        slide = _int(env, "SESSION_IDLE_SLIDE_SECONDS", min(60, max(1, idle // 2)), 1, 3600)
        if slide >= idle:
            raise ConfigError(f"SESSION_IDLE_SLIDE_SECONDS ({slide}) must be shorter than SESSION_IDLE_TIMEOUT_SECONDS ({idle})")
        environment = _str(env, "SESSION_ENVIRONMENT", "local") or "local"

        return cls(
            max_sessions_per_user=_int(env, "SESSION_MAX_SESSIONS_PER_USER", 10, 1, 1000),
            session_limit_action=limit_action,
            idle_slide_seconds=slide,
            create_rate_per_minute=_int(env, "SESSION_CREATE_RATE_PER_MINUTE", 30, 1, 100000),
            signin_failures_per_account=_int(env, "SESSION_SIGNIN_FAILURES_PER_ACCOUNT", 5, 1, 1000),
            signin_failures_per_client=_int(env, "SESSION_SIGNIN_FAILURES_PER_CLIENT", 20, 1, 100000),
            signin_window_seconds=_int(env, "SESSION_SIGNIN_WINDOW_SECONDS", 900, 1, 86400),
            reauth_max_age=_int(env, "SESSION_REAUTH_MAX_AGE_SECONDS", 300, 1, 86400),
            allowed_origins=_origins(env, "SESSION_ALLOWED_ORIGINS"),
            cookie_persistent=_bool(env, "SESSION_COOKIE_PERSISTENT", False),
            trusted_proxy_hops=_int(env, "SESSION_TRUSTED_PROXY_HOPS", 1, 0, 5),
            user_directory=_bool(env, "SESSION_USER_DIRECTORY", True),
            app_plane_port=_int(env, "SESSION_APP_PLANE_PORT", 0, 0, 65535),
            trusted_caller_arns=_role_arns(env, "SESSION_TRUSTED_CALLER_ARNS"),
            sts_endpoint=_str(env, "SESSION_STS_ENDPOINT"),
            app_plane_server_id=_str(env, "SESSION_APP_PLANE_SERVER_ID", environment) or environment,
            store_endpoint=endpoint,
            store_port=_int(env, "SESSION_STORE_PORT", 6379, 1, 65535),
            store_username=username,
            store_password=password,
            store_tls=tls,
            store_auth=auth,
            store_cluster_name=cluster_name,
            store_ca_file=ca_file,
            store_tls_check_hostname=check_hostname,
            store_db=db,
            idle_timeout=idle,
            absolute_lifetime=absolute,
            max_payload_bytes=_int(env, "SESSION_MAX_PAYLOAD_BYTES", 4096, 64, 1024 * 1024),
            served_by_header=_bool(env, "SESSION_SERVED_BY_HEADER", False),
            require_https=_bool(env, "SESSION_REQUIRE_HTTPS", False),
            hsts_max_age=_int(env, "SESSION_HSTS_MAX_AGE_SECONDS", 31536000, 0, 2 * 31536000),
            instance_name=_str(env, "SESSION_INSTANCE_NAME") or socket.gethostname(),
            environment=environment,
            http_host=_str(env, "SESSION_HTTP_HOST", "0.0.0.0") or "0.0.0.0",
            http_port=_int(env, "SESSION_HTTP_PORT", 8080, 1, 65535),
            workers=_int(env, "SESSION_WORKERS", 1, 1, 64),
            aws_region=region,
            store_timeout=_int(env, "SESSION_STORE_TIMEOUT_MS", 1000, 50, 60000) / 1000.0,
            store_connect_timeout=_int(env, "SESSION_STORE_CONNECT_TIMEOUT_MS", 500, 50, 60000) / 1000.0,
            store_socket_timeout=_int(env, "SESSION_STORE_SOCKET_TIMEOUT_MS", 500, 50, 60000) / 1000.0,
            request_log_sample_rate=_float(env, "SESSION_REQUEST_LOG_SAMPLE_RATE", 1.0, 0.0, 1.0),
            slow_request_ms=_int(env, "SESSION_SLOW_REQUEST_MS", 1000, 1, 60000),
        )


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
