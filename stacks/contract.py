"""The container contract: what the stacks give any image they run (docs/container-contract.md).

The task definition injects each parameter under the environment's prefix as the named
variable; `app/config.py` reads the same names (tests/infra/test_contract.py holds the two
together). Plain data, so the demo, checks and the contract document can use it without
loading cdktf; `stacks.service` and `stacks.environment_stack` build the task from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stacks.settings import EnvironmentSettings

# Parameter (relative to the prefix) -> environment variable of the session service.
PARAMETERS: dict[str, str] = {
    "memorydb/endpoint": "SESSION_STORE_ENDPOINT",
    "memorydb/port": "SESSION_STORE_PORT",
    "memorydb/username": "SESSION_STORE_USERNAME",
    "memorydb/tls": "SESSION_STORE_TLS",
    "memorydb/auth-mode": "SESSION_STORE_AUTH",
    "memorydb/cluster-name": "SESSION_STORE_CLUSTER_NAME",
    "config/redis-db": "SESSION_STORE_DB",
    "config/session-timeout": "SESSION_IDLE_TIMEOUT_SECONDS",
    "config/session-absolute-lifetime": "SESSION_ABSOLUTE_LIFETIME_SECONDS",
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
        "SESSION_ENVIRONMENT": s.name,
        "SESSION_HTTP_PORT": str(s.service.container_port),
        "SESSION_MAX_PAYLOAD_BYTES": str(s.sessions.max_payload_bytes),
        "AWS_REGION": s.region,
        "SESSION_SERVED_BY_HEADER": "false",
        # Every client request arrives over HTTPS (port 80 only redirects): cookies are
        # always __Host-/Secure and responses carry HSTS.
        "SESSION_REQUIRE_HTTPS": "true" if s.https else "false",
        "SESSION_REQUEST_LOG_SAMPLE_RATE": f"{s.service.request_log_sample_rate:g}",
        "SESSION_SLOW_REQUEST_MS": str(s.service.slow_request_ms),
        **app_plane_environment(s.service.app_plane_port, s.service.trusted_caller_arns),
        **s.service.environment,
    }


def app_plane_environment(port: int, trusted_caller_arns: tuple[str, ...]) -> dict[str, str]:
    """What the service needs to open the application plane (nothing when it is off)."""
    if not port:
        return {}
    return {"SESSION_APP_PLANE_PORT": str(port), "SESSION_TRUSTED_CALLER_ARNS": ",".join(trusted_caller_arns)}
