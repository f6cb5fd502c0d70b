"""The session service's contract, declared once: every variable it reads, its type,
default, range, unit and (if any) Parameter Store key.

It imports only the session core's own declaration of the variables the core reads
(`memorydb_sessions.environment.VARIABLES`), so the stacks import it without the service. What derives
from it: `app.config.Settings.from_env` (parsing and ranges), `stacks.contract.PARAMETERS`,
the synth-time ranges in `stacks.validation` and `stacks.variables`, localdev's runtime
environment, and the table in docs/configuration.md (`python -m app.contract --write-doc`;
tests/infra/test_service_contract.py fails when it is stale).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

from memorydb_sessions.environment import VARIABLES as CORE_VARIABLES

Kind = Literal["int", "float", "bool", "str", "choice", "list"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ContractError(ValueError):
    """A value breaks its declared rule; the message names the variable and the rule."""


@dataclass(frozen=True)
class Setting:
    env: str  # environment variable
    attr: str | None  # field of app.config.Settings (None: read, but not a field)
    kind: Kind
    default: Any = None  # None: no default (unset, required, or derived in from_env)
    low: float | None = None  # inclusive range of int/float values, in `unit`
    high: float | None = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    parameter: str | None = None  # Parameter Store key under the environment's prefix; None: plain variable
    stack_sets: bool = False  # the ECS task definition sets it (the plane's: when the plane is on)
    doc: str = ""
    required: bool = False
    scale: float = 1.0  # attribute value = parsed value x scale (milliseconds -> seconds)
    pattern: str | None = None  # list items must match
    pattern_doc: str = ""
    secret: bool = False  # taken verbatim (no strip), never shown
    default_doc: str | None = None  # the default as the docs say it, when derived

    def rule(self) -> str:
        """The range as operators read it (synth errors, Terraform validation messages, the docs)."""
        unit = f" {self.unit}" if self.unit else ""
        if self.kind in ("int", "float") and self.low is not None:
            return f"must be {_num(self.low)}-{_num(self.high)}{unit}"
        if self.kind == "choice":
            return "must be " + " or ".join(f"'{c}'" for c in self.choices)
        if self.kind == "bool":
            return "must be true or false"
        if self.kind == "list":
            return f"comma-separated, each {self.pattern_doc}"
        return ""

    def accepts(self, value: Any) -> bool:
        """Does a typed value (as the stack holds it) lie within the declared range?"""
        if self.kind == "int":
            return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high
        if self.kind == "float":
            return isinstance(value, (int, float)) and not isinstance(value, bool) and self.low <= value <= self.high
        if self.kind == "choice":
            return value in self.choices
        if self.kind == "bool":
            return isinstance(value, bool)
        if self.kind == "list":
            return isinstance(value, (tuple, list)) and all(
                isinstance(item, str) and (not self.pattern or re.fullmatch(self.pattern, item)) for item in value)
        return isinstance(value, str)

    def parse(self, env: Mapping[str, str]) -> Any:
        """This variable's value from `env`, typed and checked; the default when unset."""
        raw = env.get(self.env)
        if self.secret:
            return raw or None
        text = raw.strip() if raw is not None else ""
        if self.kind == "bool":
            if raw is None:
                return self.default
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ContractError(f"{self.env} must be true or false, got {raw!r}")
        if self.kind == "list":
            items = [item.strip() for item in text.split(",") if item.strip()]
            for item in items:
                if self.pattern and not re.fullmatch(self.pattern, item):
                    raise ContractError(f"{self.env}: {item!r} is not {self.pattern_doc}")
            return tuple(items)
        if text == "":
            if self.required:
                raise ContractError(f"{self.env} is required ({self.doc})")
            return self.default
        if self.kind == "str":
            return text
        if self.kind == "choice":
            if text.lower() not in self.choices:
                raise ContractError(f"{self.env} must be " + " or ".join(f"'{c}'" for c in self.choices)
                                    + f", got {text.lower()!r}")
            return text.lower()
        parse, what = (int, "an integer") if self.kind == "int" else (float, "a number")
        try:
            value = parse(text)
        except ValueError:
            raise ContractError(f"{self.env} must be {what}, got {raw!r}") from None
        if not self.low <= value <= self.high:
            raise ContractError(f"{self.env} must be between {_num(self.low)} and {_num(self.high)}, got {value}")
        return value

    def render(self, value: Any) -> str:
        """A typed value as the service expects it in the environment (the stack and localdev)."""
        if not self.accepts(value):
            raise ContractError(f"{self.env} = {value!r}: {self.rule()}")
        if self.kind == "bool":
            return "true" if value else "false"
        if self.kind == "float":
            return f"{value:g}"
        if self.kind == "list":
            return ",".join(value)
        return str(value)


def _num(value: float | None) -> str:
    return str(value)


_DAY = 86400


def _core(env: str) -> dict[str, Any]:
    """The default and range the session core declares for a variable it reads too
    (memorydb_sessions.environment): one declaration for the library and the service."""
    v = CORE_VARIABLES[env]
    return {"default": v.default, "low": v.low, "high": v.high, "choices": v.choices}


_ORIGIN = r"https?://[a-z0-9.-]+(:[0-9]{1,5})?"
_ROLE_ARN = r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}"

SETTINGS: tuple[Setting, ...] = (
    # The store (MemoryDB; local Redis in localdev).
    Setting("SESSION_STORE_ENDPOINT", "store_endpoint", "str", required=True, parameter="memorydb/endpoint",
            stack_sets=True, doc="the MemoryDB cluster endpoint host"),
    Setting("SESSION_STORE_PORT", "store_port", "int", **_core("SESSION_STORE_PORT"), parameter="memorydb/port", stack_sets=True),
    Setting("SESSION_STORE_USERNAME", "store_username", "str", parameter="memorydb/username", stack_sets=True,
            doc="ACL user (required for `iam`; `default` when only a password is set)"),
    Setting("SESSION_STORE_PASSWORD", "store_password", "str", parameter="memorydb/password", secret=True,
            doc="password mode only (local Redis); read from the parameter only by prefix"),
    Setting("SESSION_STORE_TLS", "store_tls", "bool", **_core("SESSION_STORE_TLS"), parameter="memorydb/tls", stack_sets=True,
            doc="TLS with certificate verification (required for `iam`)"),
    Setting("SESSION_STORE_AUTH", "store_auth", "choice", **_core("SESSION_STORE_AUTH"),
            parameter="memorydb/auth-mode", stack_sets=True,
            doc="`iam` (SigV4 token, refreshed every 10 min) or `password`"),
    Setting("SESSION_STORE_CLUSTER_NAME", "store_cluster_name", "str", parameter="memorydb/cluster-name",
            stack_sets=True, doc="signs IAM tokens (required for `iam`)"),
    Setting("SESSION_STORE_CA_FILE", "store_ca_file", "str", default_doc="system trust store",
            doc="CA bundle for the store's certificate (required when hostname checks are off)"),
    Setting("SESSION_STORE_TLS_CHECK_HOSTNAME", "store_tls_check_hostname", "bool", **_core("SESSION_STORE_TLS_CHECK_HOSTNAME"),
            doc="verify node names against the certificate (the CA chain is always verified); turn off only "
                "if the cluster announces node addresses its certificate does not name"),
    Setting("SESSION_STORE_DB", "store_db", "int", 0, 0, 15, parameter="config/redis-db", stack_sets=True,
            doc="must be 0 (MemoryDB is cluster mode: database 0 only)"),
    Setting("SESSION_STORE_TIMEOUT_MS", "store_timeout", "int", **_core("SESSION_STORE_TIMEOUT_MS"), unit="ms", scale=0.001,
            doc="deadline of one store operation, retries included"),
    Setting("SESSION_STORE_CONNECT_TIMEOUT_MS", "store_connect_timeout", "int", **_core("SESSION_STORE_CONNECT_TIMEOUT_MS"), unit="ms",
            scale=0.001, doc="TCP + TLS connect timeout of one store connection"),
    Setting("SESSION_STORE_SOCKET_TIMEOUT_MS", "store_socket_timeout", "int", **_core("SESSION_STORE_SOCKET_TIMEOUT_MS"), unit="ms",
            scale=0.001, doc="read/write timeout of one store connection"),
    # Session policy.
    Setting("SESSION_IDLE_TIMEOUT_SECONDS", "idle_timeout", "int", **_core("SESSION_IDLE_TIMEOUT_SECONDS"), unit="seconds",
            parameter="config/session-timeout", stack_sets=True, doc="sliding idle expiry"),
    Setting("SESSION_ABSOLUTE_LIFETIME_SECONDS", "absolute_lifetime", "int", **_core("SESSION_ABSOLUTE_LIFETIME_SECONDS"), unit="seconds",
            parameter="config/session-absolute-lifetime", stack_sets=True,
            doc="hard limit however active, at least the idle timeout"),
    Setting("SESSION_IDLE_SLIDE_SECONDS", "idle_slide_seconds", "int", **_core("SESSION_IDLE_SLIDE_SECONDS"), unit="seconds",
            default_doc="min(60, idle/2)",
            doc="slide the idle expiry only when it is this stale (reads stay reads); shorter than the idle timeout"),
    Setting("SESSION_MAX_PAYLOAD_BYTES", "max_payload_bytes", "int", **_core("SESSION_MAX_PAYLOAD_BYTES"), unit="bytes",
            stack_sets=True, doc="larger session bodies get 413"),
    Setting("SESSION_MAX_SESSIONS_PER_USER", "max_sessions_per_user", "int", **_core("SESSION_MAX_SESSIONS_PER_USER"),
            doc="concurrent sessions of one user (ASVS 7.1.2)"),
    Setting("SESSION_LIMIT_ACTION", "session_limit_action", "choice", **_core("SESSION_LIMIT_ACTION"),
            doc="at the cap: end the oldest session, or refuse the sign-in"),
    Setting("SESSION_CREATE_RATE_PER_MINUTE", "create_rate_per_minute", "int", 30, 1, 100000,
            doc="new sessions per client address and minute (429 above)"),
    Setting("SESSION_SIGNIN_FAILURES_PER_ACCOUNT", "signin_failures_per_account", "int", 5, 1, 1000,
            doc="failed sign-ins per account per window"),
    Setting("SESSION_SIGNIN_FAILURES_PER_CLIENT", "signin_failures_per_client", "int", 20, 1, 100000,
            doc="failed sign-ins per client address per window"),
    Setting("SESSION_SIGNIN_WINDOW_SECONDS", "signin_window_seconds", "int", 900, 1, _DAY, unit="seconds",
            doc="window of the sign-in throttles"),
    Setting("SESSION_REAUTH_MAX_AGE_SECONDS", "reauth_max_age", "int", 300, 1, _DAY, unit="seconds",
            doc="ending other sessions needs a sign-in at most this old (else 403, `reauthenticate`)"),
    Setting("SESSION_USER_DIRECTORY", "user_directory", "bool", True,
            doc="the reference application's own sign-in (`python -m app users`)"),
    # HTTP.
    Setting("SESSION_ALLOWED_ORIGINS", "allowed_origins", "list", (), pattern=_ORIGIN,
            pattern_doc="an origin (scheme://host[:port], lower case, no path)",
            doc="extra origins allowed to send state-changing requests"),
    Setting("SESSION_COOKIE_PERSISTENT", "cookie_persistent", "bool", False,
            doc="`Max-Age` on the cookie; off: a browser-session cookie (OWASP)"),
    Setting("SESSION_TRUSTED_PROXY_HOPS", "trusted_proxy_hops", "int", 1, 0, 5,
            doc="X-Forwarded-For entries appended by our own proxies (the ALB: 1)"),
    Setting("SESSION_SERVED_BY_HEADER", "served_by_header", "bool", False, stack_sets=True,
            doc="add `X-Served-By: <instance>`"),
    Setting("SESSION_REQUIRE_HTTPS", "require_https", "bool", False, stack_sets=True,
            doc="the listener is HTTPS (the stack sets it whenever the ALB has a certificate): the cookie is "
                "always `__Host-sid; Secure` and every response carries HSTS, whatever `X-Forwarded-Proto` says"),
    Setting("SESSION_HSTS_MAX_AGE_SECONDS", "hsts_max_age", "int", 31536000, 0, 2 * 31536000, unit="seconds",
            doc="`Strict-Transport-Security` max-age on responses to HTTPS requests; 0 sends none"),
    Setting("SESSION_HTTP_HOST", "http_host", "str", "0.0.0.0"),
    Setting("SESSION_HTTP_PORT", "http_port", "int", 8080, 1, 65535, stack_sets=True,
            doc="also used by `python -m app healthcheck`"),
    Setting("SESSION_WORKERS", "workers", "int", 1, 1, 64, doc="processes (1 suits a 0.25 vCPU task)"),
    # Application plane (docs/security.md).
    Setting("SESSION_APP_PLANE_PORT", "app_plane_port", "int", 0, 0, 65535, stack_sets=True,
            doc="second listener for trusted backends, never routed by the ALB; 0: off"),
    Setting("SESSION_TRUSTED_CALLER_ARNS", "trusted_caller_arns", "list", (), pattern=_ROLE_ARN, stack_sets=True,
            pattern_doc="an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)",
            doc="IAM roles allowed on the application plane"),
    Setting("SESSION_STS_ENDPOINT", "sts_endpoint", "str", default_doc="https://sts.<region>.amazonaws.com",
            doc="where caller identities are verified"),
    Setting("SESSION_APP_PLANE_SERVER_ID", "app_plane_server_id", "str", default_doc="`SESSION_ENVIRONMENT`",
            doc="signed into callers' requests (a replay to another service fails)"),
    # Identity and logs.
    Setting("SESSION_INSTANCE_NAME", "instance_name", "str", default_doc="hostname",
            doc="shown in logs, `/` and `X-Served-By`"),
    Setting("SESSION_ENVIRONMENT", "environment", "str", "local", stack_sets=True, doc="EMF `Environment` dimension"),
    Setting("SESSION_REQUEST_LOG_SAMPLE_RATE", "request_log_sample_rate", "float", 1.0, 0.0, 1.0, stack_sets=True,
            doc="share of ordinary request log lines written; 5xx and slow requests are always logged"),
    Setting("SESSION_SLOW_REQUEST_MS", "slow_request_ms", "int", 1000, 1, 60000, unit="ms", stack_sets=True,
            doc="requests at least this slow are always logged"),
    Setting("AWS_REGION", "aws_region", "str", stack_sets=True, default_doc="`AWS_DEFAULT_REGION`",
            doc="IAM signing and Parameter Store"),
    Setting("SESSION_PARAMETER_PREFIX", None, "str",
            doc="e.g. `/session-app/prod`: read the parameters above by path (botocore, decrypted); "
                "explicit variables win"),
)

BY_ENV: dict[str, Setting] = {s.env: s for s in SETTINGS}
# Parameter Store key (relative to the environment's prefix) -> environment variable.
PARAMETER_TO_ENV: dict[str, str] = {s.parameter: s.env for s in SETTINGS if s.parameter}


def setting(env: str) -> Setting:
    return BY_ENV[env]


def environment(values: Mapping[str, Any]) -> dict[str, str]:
    """Typed values -> the service's environment; an undeclared name or a value out of its
    range raises, so whoever builds an environment (localdev) cannot hand the service what it
    would refuse."""
    unknown = sorted(set(values) - set(BY_ENV))
    if unknown:
        raise ContractError(f"not variables of the session service: {', '.join(unknown)}")
    return {name: BY_ENV[name].render(value) for name, value in values.items()}


# ------------------------------------------------------------------------------ the doc table

def table() -> str:
    rows = ["| variable | type | default | rule | Parameter Store (`/<project>/<env>/…`) | set by the stack | meaning |",
            "|---|---|---|---|---|---|---|"]
    for s in SETTINGS:
        if s.required:
            default = "required"
        elif s.default_doc is not None:
            default = s.default_doc
        elif s.default in (None, ()):
            default = "—"
        else:
            default = f"`{s.render(s.default)}`"
        param = f"`{s.parameter}`" if s.parameter else "—"
        rows.append(f"| `{s.env}` | {s.kind} | {default} | {s.rule().removeprefix('must be ') or '—'} | {param} | "
                    f"{'yes' if s.stack_sets else 'no'} | {s.doc} |")
    return "\n".join(rows) + "\n"


DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
TABLE_START = "| variable | type | default |"


def write_doc() -> None:
    """Replace the table in docs/configuration.md (from its header row to the next heading)."""
    text = DOC.read_text()
    start = text.index(TABLE_START)
    end = text.find("\n#", start)
    tail = "" if end < 0 else "\n" + text[end + 1:]
    DOC.write_text(text[:start] + table() + tail)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-doc"]:
        write_doc()
    else:
        sys.stdout.write(table())
