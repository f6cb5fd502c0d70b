"""The change matrix: what each routine setting change does to a deployed `session-dev`.

Each row names one change an operator makes in normal life and what Terraform must do
about it, as a set of `<action> <resource type>` effects read from a real
`terraform plan -json`. The rows are the single source of the table in
docs/change-matrix.md (`python -m localdev.changes --table`) and of what tests/changes
asserts: `session-dev` is applied once to the emulator, then each change is synthesized
(a copy of `config/` with the one edit, via SESSION_CONFIG_DIR) or passed as `-var`, and
planned against the same state.

Actions: `update` (in place), `create`, `delete`, `replace` (delete and create). A task
definition `replace` is a new revision: ECS rolls the tasks (minimum healthy 100 %,
maximum 200 %), so no downtime.

Usage: python -m localdev.changes [--table | --write-doc | --run DIR]
"""

from __future__ import annotations

import json
import shutil
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from deploy.release_record import record_release
from localdev.aws_cycle import RELEASED_DIGEST, released_image
from deploy.synthesis import ROOT, synthesize
from deploy.stack_deploy import bootstrap_and_apply
from deploy.terraform import cli_environment, terraform
from stacks.config_loader import CONFIG_DIR_VARIABLE, DEFAULT_CONFIG_DIR, load_environment

ENVIRONMENT = "dev"
STACK = "session-dev"
# The image variable of the stack: a release pins a new digest.
IMAGE_VARIABLE = "image_digest"
IMAGE_NEW_VALUE = "sha256:" + "1" * 64
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b"

# Replacing any of these is downtime or data loss: no routine change may do it.
PROTECTED_TYPES = ("aws_ecs_service", "aws_memorydb_cluster", "aws_lb", "aws_vpc", "aws_subnet")
NEW_REVISION = "replace aws_ecs_task_definition"

Say = Callable[[str], None]


@dataclass(frozen=True)
class Change:
    setting: str
    change: str  # what the row changes, as the operator writes it
    effects: frozenset[str]  # "<action> <resource type>", exactly what the plan must show
    downtime: str = "none"
    config: dict[str, Any] = field(default_factory=dict)  # "section.key" -> new value in config/dev.toml
    variables: dict[str, str] = field(default_factory=dict)  # Terraform variable -> value
    routine: bool = True  # only a non-routine row may replace a protected resource

    @property
    def key(self) -> str:
        return self.setting.replace(" ", "-").replace("/", "-").replace("(", "").replace(")", "").lower()

    @property
    def new_revision(self) -> bool:
        return NEW_REVISION in self.effects

    @property
    def tasks_roll(self) -> str:
        """A new revision rolls the tasks; so does any service update (force_new_deployment)."""
        if self.new_revision:
            return "yes (new revision)"
        return "yes (new deployment, same revision)" if "update aws_ecs_service" in self.effects else "no"


def _fx(*effects: str) -> frozenset[str]:
    return frozenset(effects)


ROLL = (NEW_REVISION, "update aws_ecs_service")  # new revision, service points at it

CHANGES: tuple[Change, ...] = (
    Change("nothing", "synthesize again, same settings", _fx()),
    Change("spot share", "service.spot_percentage 80 -> 50", _fx(
        "update aws_ecs_service", "update aws_ecs_cluster_capacity_providers"),
        downtime="none (rolling deployment onto the new capacity mix)", config={"service.spot_percentage": 50}),
    Change("desired count", "desired_count 1 -> 2", _fx(),
           downtime="none (auto scaling owns the count after creation)", variables={"desired_count": "2"}),
    Change("min/max tasks", "min_capacity 1 -> 2, max_capacity 4 -> 6", _fx("update aws_appautoscaling_target"),
           variables={"min_capacity": "2", "max_capacity": "6", "desired_count": "2"}),
    Change("task cpu/memory", "ecs_task_cpu 256 -> 512, ecs_task_memory 512 -> 1024", _fx(*ROLL),
           variables={"ecs_task_cpu": "512", "ecs_task_memory": "1024"}),
    Change("image", f"{IMAGE_VARIABLE} -> {IMAGE_NEW_VALUE}", _fx(*ROLL), variables={IMAGE_VARIABLE: IMAGE_NEW_VALUE}),
    Change("idle timeout", "session_timeout_seconds 1800 -> 900", _fx(*ROLL, "update aws_ssm_parameter"),
           variables={"session_timeout_seconds": "900"}),
    Change("absolute lifetime", "sessions.absolute_lifetime_seconds 43200 -> 28800",
           _fx(*ROLL, "update aws_ssm_parameter"), config={"sessions.absolute_lifetime_seconds": 28800}),
    Change("log retention", "service.log_retention_days 7 -> 14", _fx("update aws_cloudwatch_log_group"),
           config={"service.log_retention_days": 14}),
    Change("node type", "memorydb_node_type db.t4g.small -> db.t4g.medium", _fx("update aws_memorydb_cluster"),
           downtime="none (MemoryDB scales the nodes online)", variables={"memorydb_node_type": "db.t4g.medium"}),
    Change("shard count", "memorydb_num_shards 1 -> 2", _fx("update aws_memorydb_cluster"),
           downtime="none (online resharding)", variables={"memorydb_num_shards": "2"}),
    Change("replica count", "memorydb_replicas_per_shard 1 -> 2", _fx("update aws_memorydb_cluster"),
           variables={"memorydb_replicas_per_shard": "2"}),
    Change("snapshot retention", "session_store.snapshot_retention_days 1 -> 3", _fx("update aws_memorydb_cluster"),
           config={"session_store.snapshot_retention_days": 3}),
    Change("alarm thresholds", "monitoring.store_cpu_percent 75 -> 60, target_response_time_seconds 0.5 -> 0.3",
           _fx("update aws_cloudwatch_metric_alarm"),
           config={"monitoring.store_cpu_percent": 60, "monitoring.target_response_time_seconds": 0.3}),
    Change("certificate added", "load_balancer.certificate_arn unset -> an ACM ARN",
           # The tasks roll too: SESSION_REQUIRE_HTTPS turns on Secure/__Host- cookies and HSTS.
           _fx(*ROLL, "create aws_lb_listener", "update aws_lb_listener", "create aws_vpc_security_group_ingress_rule"),
           downtime="none (port 80 is updated in place to redirect to 443; tasks roll to send HSTS)",
           config={"load_balancer.certificate_arn": CERTIFICATE}),
    Change("allowed ingress CIDRs", 'allowed_ingress_cidrs ["0.0.0.0/0"] -> ["203.0.113.0/24"]',
           _fx("create aws_vpc_security_group_ingress_rule", "delete aws_vpc_security_group_ingress_rule"),
           downtime="none for the new CIDRs; the old ones lose access (the point of the change)",
           variables={"allowed_ingress_cidrs": '["203.0.113.0/24"]'}),
    Change("engine version (same family)", "session_store.engine_version 7.2 -> 7.3",
           _fx("update aws_memorydb_cluster"), downtime="none (rolling upgrade, a failover per shard)",
           config={"session_store.engine_version": "7.3"}),
    # Not routine: shows that configuration reaches the tasks after a store replacement (the
    # endpoint is unknown until the new cluster exists, so the digest makes a new revision).
    Change("cluster name (not routine)", "cluster_name -> session-app-dev-2",
           _fx("replace aws_memorydb_cluster", *ROLL, "update aws_ssm_parameter", "update aws_iam_role_policy",
               "update aws_cloudwatch_metric_alarm", "update aws_cloudwatch_dashboard"),
           downtime="yes: a new, empty session store (every session is lost)",
           variables={"cluster_name": "session-app-dev-2"}, routine=False),
)


# ---------------------------------------------------------------------------------- plans

def effects_of(plan: dict) -> frozenset[str]:
    """`<action> <type>` for every managed resource the plan changes."""
    found = set()
    for change in plan.get("resource_changes", []):
        if change.get("mode") != "managed":
            continue
        actions = change["change"]["actions"]
        if actions == ["no-op"]:
            continue
        action = "replace" if set(actions) == {"create", "delete"} else actions[0]
        found.add(f"{action} {change['type']}")
    return frozenset(found)


def replaced_addresses(plan: dict) -> list[str]:
    return sorted(c["address"] for c in plan.get("resource_changes", [])
                  if set(c["change"]["actions"]) == {"create", "delete"})


def write_config(directory: Path, edits: dict[str, Any]) -> Path:
    """A copy of config/ with `edits` ("section.key" -> value) applied to dev.toml."""
    shutil.copytree(DEFAULT_CONFIG_DIR, directory, dirs_exist_ok=True)
    path = directory / f"{ENVIRONMENT}.toml"
    data = tomllib.loads(path.read_text())
    for dotted, value in edits.items():
        section, key = dotted.split(".")
        data.setdefault(section, {})[key] = value
    path.write_text(_toml(data))
    return directory


def _toml(data: dict[str, Any]) -> str:
    """Enough TOML for config files: top-level scalars, then one table per section.
    JSON spells strings, numbers, booleans and lists the way TOML does."""
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, values in data.items():
        if isinstance(values, dict):
            lines += ["", f"[{section}]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Deployment:
    """`session-dev` applied to an emulator: its initialized stack folder and CLI environment."""

    stack_dir: Path
    env: dict[str, str]
    log: Path


def deploy(directory: Path, emulator, say: Say = print) -> Deployment:
    """Synthesize, bootstrap the state bucket and apply session-dev (the deploy cycle's steps)."""
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "terraform.log"
    outdir = directory / "baseline"
    result = synthesize(outdir)
    if result.returncode != 0:
        raise RuntimeError(f"synthesis failed: {result.stderr[-2000:]}")
    # Deployed as released (the service exists only with a digest; aws_cycle.released_image).
    env = cli_environment(directory, {**emulator.env(), **released_image()})
    stack = bootstrap_and_apply(outdir / "stacks", STACK, env, log, backend_args=emulator.s3_backend_args(), say=say)
    record_release(emulator_client(emulator, "ssm"), load_environment(ENVIRONMENT).parameter_prefix, RELEASED_DIGEST)
    return Deployment(stack, env, log)


def emulator_client(emulator, service: str):
    import boto3

    return boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                 region_name=emulator.env()["AWS_REGION"]).client(service, endpoint_url=emulator.url)


def plan_change(deployment: Deployment, change: Change, workdir: Path) -> dict:
    """`terraform plan -json -refresh=false` of `change` against the deployed state.

    The change's stack JSON is planned in its own folder with the deployed stack's data
    dir (providers, backend settings): no second init. Plans only read the state, so they
    run side by side without the lock."""
    workdir.mkdir(parents=True, exist_ok=True)
    if change.config:
        config = write_config(workdir / "config", change.config)
        result = synthesize(workdir / "out", env={CONFIG_DIR_VARIABLE: str(config)})
        if result.returncode != 0:
            raise RuntimeError(f"{change.setting}: synthesis failed: {result.stderr[-2000:]}")
        source = workdir / "out" / "stacks" / STACK / "cdk.tf.json"
    else:
        source = deployment.stack_dir / "cdk.tf.json"
    stack = workdir / "stack"
    stack.mkdir(exist_ok=True)
    shutil.copy(source, stack / "cdk.tf.json")
    shutil.copy(deployment.stack_dir / ".terraform.lock.hcl", stack / ".terraform.lock.hcl")
    env = {**deployment.env, "TF_DATA_DIR": str(deployment.stack_dir / ".terraform")}
    args = ["plan", "-input=false", "-refresh=false", "-lock=false", "-out=plan.bin",
            *[f"-var={k}={v}" for k, v in change.variables.items()]]
    planned = terraform(stack, env, *args, log=workdir / "terraform.log")
    if planned.returncode != 0:
        raise RuntimeError(f"{change.setting}: plan failed: {planned.stderr[-1500:]}")
    shown = terraform(stack, env, "show", "-json", "plan.bin")
    if shown.returncode != 0:
        raise RuntimeError(f"{change.setting}: show failed: {shown.stderr[-1500:]}")
    return json.loads(shown.stdout)


def plan_all(deployment: Deployment, directory: Path, changes=CHANGES, workers: int = 3) -> dict[str, dict]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {c.key: pool.submit(plan_change, deployment, c, directory / c.key) for c in changes}
        return {key: future.result() for key, future in futures.items()}


def problems(change: Change, plan: dict) -> list[str]:
    """Why the plan does not match the row (empty when it does)."""
    found = effects_of(plan)
    out = []
    protected = [a for a in replaced_addresses(plan) if a.split(".")[0] in PROTECTED_TYPES]
    if protected and change.routine:
        out.append(f"replaces {', '.join(protected)}")
    if (NEW_REVISION in found) != change.new_revision:
        out.append("a new task definition revision " + ("is missing" if change.new_revision else "is unexpected"))
    if found != change.effects:
        out.append(f"unexpected effects {sorted(found - change.effects)}, missing {sorted(change.effects - found)}")
    return out


# ---------------------------------------------------------------------------------- table

def table(changes=CHANGES) -> str:
    rows = ["| setting | change | what Terraform does | tasks roll | downtime |",
            "|---|---|---|---|---|"]
    for c in changes:
        does = ", ".join(sorted(c.effects)) if c.effects else "nothing (empty plan)"
        rows.append(f"| {c.setting} | `{c.change}` | {does} | {c.tasks_roll} | {c.downtime} |")
    return "\n".join(rows) + "\n"


DOC = ROOT / "docs" / "change-matrix.md"


def write_doc() -> None:
    """Replace the table in docs/change-matrix.md (from its header row to the next heading)."""
    text = DOC.read_text()
    start = text.index("| setting | change |")
    end = text.index("\n## ", start)
    DOC.write_text(text[:start] + table() + text[end:])


def main(argv: list[str]) -> int:
    if not argv or argv[0] == "--table":
        sys.stdout.write(table())
        return 0
    if argv[0] == "--write-doc":
        write_doc()
        return 0
    if argv[0] == "--run" and len(argv) == 2:
        from emulator import start_emulator

        directory = Path(argv[1]).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        with start_emulator(log_path=directory / "emulator.log") as emulator:
            deployment = deploy(directory, emulator)
            plans = plan_all(deployment, directory)
        failed = 0
        for c in CHANGES:
            found = problems(c, plans[c.key])
            failed += bool(found)
            print(f"{'ok  ' if not found else 'FAIL'} {c.setting}: {'; '.join(found) or sorted(effects_of(plans[c.key]))}")
        return 1 if failed else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
