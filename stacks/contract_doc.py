"""The tables of docs/container-contract.md, generated from `stacks.contract` and the settings.

    python -m stacks.contract_doc            print the tables
    python -m stacks.contract_doc --write    rewrite them in docs/container-contract.md

Each table sits between `<!-- contract:NAME -->` and `<!-- /contract:NAME -->`; the prose
around them is the document's own. tests/infra/test_container_contract.py fails when the
document differs from what this renders, and when the synthesized task definition gives the
container anything these tables do not list.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

from stacks.contract import (
    CONFIG_DIGEST_VARIABLE,
    CONTAINER_HEALTH_CHECK,
    LINUX_PARAMETERS,
    PARAMETERS,
    SCRATCH_PATH,
    TASK_ROLE_ACTIONS,
    plain_environment,
)
from stacks.settings import EnvironmentSettings, ServiceSettings
from stacks.validation import RESERVED_ENVIRONMENT_PREFIXES

DOC = Path(__file__).resolve().parent.parent / "docs" / "container-contract.md"

# What each value means to the container (every name the stack sets must be here: tested).
PARAMETER_MEANING = {
    "SESSION_STORE_ENDPOINT": "MemoryDB cluster endpoint (host name, TLS)",
    "SESSION_STORE_PORT": "its port",
    "SESSION_STORE_USERNAME": "the MemoryDB user to authenticate as",
    "SESSION_STORE_TLS": "`true`: MemoryDB always speaks TLS",
    "SESSION_STORE_AUTH": "`iam`: sign a token with the task role (SigV4, service `memorydb`), no password",
    "SESSION_STORE_CLUSTER_NAME": "the cluster name the IAM token is signed for",
    "SESSION_STORE_DB": "`0`: MemoryDB is always cluster mode, database 0 only",
    "SESSION_IDLE_TIMEOUT_SECONDS": "a session's idle expiry (`[sessions] idle_timeout_seconds`)",
    "SESSION_ABSOLUTE_LIFETIME_SECONDS": "a session's absolute lifetime (`[sessions] absolute_lifetime_seconds`)",
}
ENVIRONMENT_MEANING = {
    "SESSION_ENVIRONMENT": "the environment's name",
    "SESSION_HTTP_PORT": "the port to listen on (`[service] container_port`)",
    "SESSION_MAX_PAYLOAD_BYTES": "largest session body (`[sessions] max_payload_bytes`)",
    "AWS_REGION": "the stack's region (IAM tokens, AWS SDKs)",
    "SESSION_SERVED_BY_HEADER": "`false`: no header naming the task",
    "SESSION_REQUIRE_HTTPS": "`true` when the load balancer serves HTTPS: Secure cookies, HSTS",
    "SESSION_REQUEST_LOG_SAMPLE_RATE": "share of request log lines kept (`[service] request_log_sample_rate`)",
    "SESSION_SLOW_REQUEST_MS": "requests this slow are always logged (`[service] slow_request_ms`)",
    CONFIG_DIGEST_VARIABLE: "sha256 of the Parameter Store values: a changed value is a new revision, tasks roll",
}
# The [service] settings of the contract, in the document's order, and what each does.
SETTING_MEANING = {
    "container_port": "the port the container listens on: port mapping, target group, security group rule, "
                      "`SESSION_HTTP_PORT`",
    "health_check_path": "HTTP path the load balancer checks (200 expected), and `{path}` in the container's check",
    "health_check_command": "the container's health check, exec form without `CMD`; `{port}` and `{path}` are "
                            "replaced; `[]`: none (the load balancer's check still applies)",
    "command": "ECS `command`: overrides the image's CMD (the ENTRYPOINT stays); unset: the image's CMD",
    "user": "`uid[:gid]` the container runs as; never 0",
    "stop_timeout_seconds": "time between SIGTERM and SIGKILL (the Fargate maximum is 120 s)",
    "health_check_grace_period_seconds": "the load balancer's checks are ignored this long after a task "
                                         "starts; also the container check's start period (at most 300 s)",
    "environment": "extra plain values, a TOML table: `[service.environment]`",
}


def _cell(value: object) -> str:
    return f"`{value}`" if value not in (None, "") else "unset"


def parameters_table(settings: EnvironmentSettings) -> str:
    rows = ["| variable | Parameter Store name (SecureString) | meaning |", "|---|---|---|"]
    for parameter, variable in sorted(PARAMETERS.items(), key=lambda item: item[1]):
        rows.append(f"| `{variable}` | `{settings.parameter_prefix}{parameter}` | {PARAMETER_MEANING[variable]} |")
    return "\n".join(rows)


def environment_table(settings: EnvironmentSettings) -> str:
    rows = ["| variable | value in `dev` | meaning |", "|---|---|---|"]
    values = {**plain_environment(settings), CONFIG_DIGEST_VARIABLE: "(computed by Terraform)"}
    for name in sorted(values):
        rows.append(f"| `{name}` | `{values[name]}` | {ENVIRONMENT_MEANING[name]} |")
    return "\n".join(rows)


def settings_table() -> str:
    defaults = {f.name: f for f in dataclasses.fields(ServiceSettings)}
    rows = ["| `[service]` key | default | meaning |", "|---|---|---|"]
    for name, meaning in SETTING_MEANING.items():
        item = defaults[name]
        default = item.default if item.default is not dataclasses.MISSING else item.default_factory()
        shown = f"`{json.dumps(list(default))}`" if isinstance(default, tuple) else (
            "none" if default == {} else _cell(default))
        rows.append(f"| `{name}` | {shown} | {meaning} |")
    return "\n".join(rows)


def fixed_table() -> str:
    capabilities = LINUX_PARAMETERS["capabilities"]
    check = CONTAINER_HEALTH_CHECK
    rows = ["| what | value |", "|---|---|",
            f"| task role (the container's AWS identity) | {', '.join(f'`{a}`' for a in TASK_ROLE_ACTIONS)} on the "
            "environment's MemoryDB cluster and user ARNs, nothing else |",
            "| root file system | read-only |",
            f"| writable path | `{SCRATCH_PATH}` (an ephemeral task volume) |",
            f"| Linux capabilities | all dropped ({', '.join(capabilities['drop'])}), none added, not privileged |",
            "| init process | yes (`initProcessEnabled`): reaps zombies, forwards SIGTERM |",
            f"| container health check timings | every {check['interval']} s, timeout {check['timeout']} s, "
            f"{check['retries']} retries |",
            "| network | `awsvpc` in the private subnets, no public IP; inbound only from the load balancer "
            "on `container_port`; outbound HTTPS (AWS APIs) and the store's port |",
            "| logs | stdout/stderr to CloudWatch Logs (`awslogs`, non-blocking) |",
            f"| reserved environment names | {', '.join(f'`{p}*`' for p in RESERVED_ENVIRONMENT_PREFIXES)} |"]
    return "\n".join(rows)


def tables() -> dict[str, str]:
    dev = EnvironmentSettings(name="dev")
    return {"parameters": parameters_table(dev), "environment": environment_table(dev),
            "settings": settings_table(), "fixed": fixed_table()}


def render(text: str) -> str:
    """`text` with every generated table replaced by its current rendering."""
    for name, table in tables().items():
        pattern = re.compile(rf"(<!-- contract:{name} -->\n)(?:.*?\n)?(<!-- /contract:{name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"{DOC.name} has no <!-- contract:{name} --> block")
        text = pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)
    return text


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        DOC.write_text(render(DOC.read_text()))
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    for name, table in tables().items():
        print(f"<!-- contract:{name} -->\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
