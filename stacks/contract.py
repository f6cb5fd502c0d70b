"""The container contract: what the stacks give any image they run (docs/container-contract.md),
and what they promise the session service, derived from its one declaration
(`app/contract.py`): Parameter Store names -> environment variables, and the service's
ranges. Plain data, so the demo, checks and the contract document can use it without
loading cdktf; `stacks.service` and `stacks.environment_stack` build the task from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.contract import SETTINGS, Setting, setting
from app.contract import environment as service_environment

if TYPE_CHECKING:
    from stacks.settings import EnvironmentSettings

# Parameter (relative to the prefix) -> environment variable, for every parameter the stack
# writes (the password parameter exists only for local Redis: MemoryDB uses IAM tokens).
PARAMETERS: dict[str, str] = {s.parameter: s.env for s in SETTINGS if s.parameter and s.stack_sets}

# Settings of the stacks that the service enforces -> the service's variable: the synth-time
# range is the service's (stacks/validation.py, stacks/variables.py).
SERVICE_RANGES: dict[str, Setting] = {
    "sessions.idle_timeout_seconds": setting("SESSION_IDLE_TIMEOUT_SECONDS"),
    "sessions.absolute_lifetime_seconds": setting("SESSION_ABSOLUTE_LIFETIME_SECONDS"),
    "sessions.max_payload_bytes": setting("SESSION_MAX_PAYLOAD_BYTES"),
    "service.request_log_sample_rate": setting("SESSION_REQUEST_LOG_SAMPLE_RATE"),
    "service.slow_request_ms": setting("SESSION_SLOW_REQUEST_MS"),
}

# uvicorn's keep-alive timeout in app/server.py. The load balancer's idle timeout must stay
# below it: AWS recommends targets keep connections open longer than the load balancer, or the
# ALB reuses a connection the service has just closed and answers 502.
SERVICE_KEEP_ALIVE_SECONDS = 65

# The session service's container health check (exec form without "CMD"): GET /healthz on
# 127.0.0.1:$SESSION_HTTP_PORT. The default of `[service] health_check_command`.
SERVICE_HEALTH_CHECK: tuple[str, ...] = ("python", "-m", "app", "healthcheck")
# Placeholders of `health_check_command`, replaced at synth (str.replace: braces elsewhere stay).
HEALTH_CHECK_PLACEHOLDERS = ("{port}", "{path}")
# The container's health check timings (RegisterTaskDefinition: interval 5-300, timeout 2-60).
CONTAINER_HEALTH_CHECK = {"interval": 30, "timeout": 5, "retries": 3}
# The root file system is read-only; this is the only writable path (an ephemeral task volume).
SCRATCH_PATH = "/tmp"
# No Linux capabilities, an init process (reaps zombies, forwards SIGTERM). `add: []` spelled
# out: AWS stores it so, and the provider compares nested lists as sent (a missing `add` would
# replace the task definition on every plan; emulator/fills/ecs_task_definitions.py).
LINUX_PARAMETERS = {"initProcessEnabled": True, "capabilities": {"add": [], "drop": ["ALL"]}}
# The digest of the Parameter Store values (stacks.parameters): rolls the tasks when one changes.
CONFIG_DIGEST_VARIABLE = "SESSION_CONFIG_DIGEST"
# IAM actions the task role allows: IAM authentication to the environment's MemoryDB cluster
# as its user (MemoryDB checks memorydb:Connect on both the cluster and the user ARN).
TASK_ROLE_ACTIONS = ("memorydb:Connect",)


def health_check_command(command: tuple[str, ...], port: int, path: str) -> tuple[str, ...]:
    """`command` with `{port}` and `{path}` replaced."""
    return tuple(part.replace("{port}", str(port)).replace("{path}", path) for part in command)


def plain_environment(s: "EnvironmentSettings") -> dict[str, str]:
    """Plain `environment` values of the task: fixed by the stack, not read from Parameter
    Store (SESSION_CONFIG_DIGEST, a Terraform value, is added by the stack), then the
    operator's own `[service.environment]` (validation keeps their names apart)."""
    return {
        # Rendered (typed and range-checked) by the service's own declaration.
        **service_environment({
            "SESSION_ENVIRONMENT": s.name,
            "SESSION_HTTP_PORT": s.service.container_port,
            "SESSION_MAX_PAYLOAD_BYTES": s.sessions.max_payload_bytes,
            "AWS_REGION": s.region,
            "SESSION_SERVED_BY_HEADER": False,
            # Every client request arrives over HTTPS (port 80 only redirects): cookies are
            # always __Host-/Secure and responses carry HSTS.
            "SESSION_REQUIRE_HTTPS": bool(s.https),
            "SESSION_REQUEST_LOG_SAMPLE_RATE": s.service.request_log_sample_rate,
            "SESSION_SLOW_REQUEST_MS": s.service.slow_request_ms,
        }),
        **app_plane_environment(s.service.app_plane_port, s.service.trusted_caller_arns),
        **s.service.environment,
    }


def app_plane_environment(port: int, trusted_caller_arns: tuple[str, ...]) -> dict[str, str]:
    """What the service needs to open the application plane (nothing when it is off)."""
    if not port:
        return {}
    return service_environment({"SESSION_APP_PLANE_PORT": port, "SESSION_TRUSTED_CALLER_ARNS": trusted_caller_arns})
