"""Terraform variables for the knobs an operator may turn at plan time.

Named as in the original design's terraform.tfvars, defaulting to the environment's
settings, and carrying `validation` blocks with the same rules as `stacks.validation`, so
`terraform plan -var-file=...` on the synthesized JSON rejects bad values too. Rules that
involve two variables (CPU/memory pairs, min <= desired <= max) are preconditions on the
resources that use them (see `cross_checks`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cdktf import TerraformLocal, TerraformStack, TerraformVariable, TerraformVariableValidationConfig, Token
from cdktf_cdktf_provider_aws.data_aws_ssm_parameters_by_path import DataAwsSsmParametersByPath

from stacks.contract import SERVICE_RANGES
from stacks.limits import FARGATE_MEMORY_BY_CPU, MEMORYDB_NODE_TYPES
from stacks.settings import EnvironmentSettings


# The one name of the image variable: `make release` sets it (`-var image_digest=sha256:...`).
IMAGE_DIGEST_VARIABLE = "image_digest"
# Plan-time flag of a protected (production) stack: may this apply run with no image known, so
# without the service and its scaling? Only the first deploy, before any release, needs it.
ALLOW_NO_SERVICE_VARIABLE = "allow_no_service"
# The running digest, written by every release (deploy.release_record) under the environment's
# prefix, read back at plan time: any apply (cdktf deploy, terraform apply from a clean clone)
# keeps what runs, whatever config/<env>.toml says or whoever forgot the -var.
RELEASE_PARAMETER_SUFFIX = "release/image-digest"


def release_parameter_name(parameter_prefix: str) -> str:
    """`/session-app/<env>/release/image-digest` for the prefix `/session-app/<env>/`."""
    return parameter_prefix + RELEASE_PARAMETER_SUFFIX


@dataclass(frozen=True)
class StackVariables:
    """Tokens (`${var.x}`) the constructs use in place of the raw settings."""

    cluster_name: str
    memorydb_node_type: str
    memorydb_num_shards: float
    memorydb_replicas_per_shard: float
    ecs_task_cpu: float
    ecs_task_memory: float
    desired_count: float
    min_capacity: float
    max_capacity: float
    image_digest: str
    allowed_ingress_cidrs: list[str]
    session_timeout_seconds: float


def hcl(expression: str) -> str:
    """JSON-syntax Terraform reads an expression only inside a template: `${ ... }`."""
    return "${" + expression + "}"


def _hcl_list(values) -> str:
    return json.dumps(sorted(values))


def _whole(name: str, low: int, high: int) -> str:
    return f"var.{name} >= {low} && var.{name} <= {high} && floor(var.{name}) == var.{name}"


def define_variables(stack: TerraformStack, settings: EnvironmentSettings) -> StackVariables:
    store, service = settings.session_store, settings.service

    def variable(name: str, type_: str, default: Any, description: str, condition: str, message: str) -> TerraformVariable:
        return TerraformVariable(stack, name, type=type_, default=default, description=description, nullable=False,
                                 validation=[TerraformVariableValidationConfig(condition=hcl(condition), error_message=message)])

    cpus = sorted(FARGATE_MEMORY_BY_CPU)
    idle = SERVICE_RANGES["sessions.idle_timeout_seconds"]
    v = {
        "cluster_name": variable(
            "cluster_name", "string", settings.name_prefix, "Name of the MemoryDB cluster (changing it replaces the cluster).",
            'can(regex("^[a-z][a-z0-9-]{0,38}[a-z0-9]$", var.cluster_name)) && !strcontains(var.cluster_name, "--")',
            "cluster_name must be 1-40 lowercase letters, digits or single hyphens, starting with a letter."),
        "memorydb_node_type": variable(
            "memorydb_node_type", "string", store.node_type, "MemoryDB node type.",
            f"contains({_hcl_list(MEMORYDB_NODE_TYPES)}, var.memorydb_node_type)",
            "memorydb_node_type must be a MemoryDB node type such as db.t4g.small or db.r6g.large."),
        "memorydb_num_shards": variable(
            "memorydb_num_shards", "number", store.num_shards, "Number of MemoryDB shards.",
            _whole("memorydb_num_shards", 1, 500), "memorydb_num_shards must be a whole number from 1 to 500."),
        "memorydb_replicas_per_shard": variable(
            "memorydb_replicas_per_shard", "number", store.replicas_per_shard, "Replicas per MemoryDB shard.",
            _whole("memorydb_replicas_per_shard", 0, 5), "memorydb_replicas_per_shard must be a whole number from 0 to 5."),
        "ecs_task_cpu": variable(
            "ecs_task_cpu", "number", service.task_cpu, "Fargate task CPU units.",
            f"contains({json.dumps(cpus)}, var.ecs_task_cpu)",
            f"ecs_task_cpu must be one of {', '.join(map(str, cpus))}."),
        "ecs_task_memory": variable(
            "ecs_task_memory", "number", service.task_memory, "Fargate task memory (MiB); must fit ecs_task_cpu.",
            _whole("ecs_task_memory", 512, 122880), "ecs_task_memory must be a whole number of MiB from 512 to 122880."),
        "desired_count": variable(
            "desired_count", "number", service.desired_count,
            "Tasks at creation; afterwards auto scaling owns the count (Terraform ignores drift).",
            _whole("desired_count", 1, 1000), "desired_count must be a whole number from 1 to 1000."),
        "min_capacity": variable(
            "min_capacity", "number", service.min_capacity, "Fewest tasks auto scaling keeps.",
            _whole("min_capacity", 1, 1000), "min_capacity must be a whole number from 1 to 1000."),
        "max_capacity": variable(
            "max_capacity", "number", service.max_capacity, "Most tasks auto scaling starts.",
            _whole("max_capacity", 1, 1000), "max_capacity must be a whole number from 1 to 1000."),
        IMAGE_DIGEST_VARIABLE: variable(
            IMAGE_DIGEST_VARIABLE, "string", "",
            'Digest (sha256:...) of the session service image in the ECR repository. "" (default): the digest '
            f"the last release wrote to Parameter Store ({release_parameter_name(settings.parameter_prefix)}), "
            "else `[service] image_digest` of the config, else nothing released yet: then the service and its "
            "scaling are not created. Set by `make release`.",
            f'var.{IMAGE_DIGEST_VARIABLE} == "" || can(regex("^sha256:[0-9a-f]{{64}}$", var.{IMAGE_DIGEST_VARIABLE}))',
            f'{IMAGE_DIGEST_VARIABLE} must be "" (nothing released yet) or sha256: and 64 lowercase hex digits.'),
        "allowed_ingress_cidrs": variable(
            "allowed_ingress_cidrs", "list(string)", list(settings.load_balancer.ingress_cidrs),
            "IPv4 CIDR blocks allowed to reach the load balancer's listeners.",
            "length(var.allowed_ingress_cidrs) > 0 && alltrue([for c in var.allowed_ingress_cidrs : can(cidrnetmask(c))])",
            "allowed_ingress_cidrs must be a non-empty list of IPv4 CIDR blocks."),
        "session_timeout_seconds": variable(
            "session_timeout_seconds", "number", settings.sessions.idle_timeout_seconds,
            "Idle timeout of a session (seconds); each read slides it.",
            _whole("session_timeout_seconds", idle.low, idle.high),
            f"session_timeout_seconds must be a whole number from {idle.low} to {idle.high} (the service's range)."),
        ALLOW_NO_SERVICE_VARIABLE: TerraformVariable(
            stack, ALLOW_NO_SERVICE_VARIABLE, type="bool", default=False, nullable=False,
            description="Protected stacks only: allow a plan with no image digest known (the first deploy, "
                        "before any release), which creates no service and no scaling."),
    }
    digest = _resolved_digest(stack, settings, v[IMAGE_DIGEST_VARIABLE])
    return StackVariables(
        cluster_name=v["cluster_name"].string_value,
        memorydb_node_type=v["memorydb_node_type"].string_value,
        memorydb_num_shards=v["memorydb_num_shards"].number_value,
        memorydb_replicas_per_shard=v["memorydb_replicas_per_shard"].number_value,
        ecs_task_cpu=v["ecs_task_cpu"].number_value,
        ecs_task_memory=v["ecs_task_memory"].number_value,
        desired_count=v["desired_count"].number_value,
        min_capacity=v["min_capacity"].number_value,
        max_capacity=v["max_capacity"].number_value,
        image_digest=digest,
        allowed_ingress_cidrs=v["allowed_ingress_cidrs"].list_value,
        session_timeout_seconds=v["session_timeout_seconds"].number_value,
    )


def fargate_size_condition() -> str:
    """HCL condition: the task CPU/memory pair is one Fargate offers."""
    table = ", ".join(f'"{cpu}" = {json.dumps(list(mem))}' for cpu, mem in FARGATE_MEMORY_BY_CPU.items())
    return hcl(f"contains(lookup({{{table}}}, tostring(var.ecs_task_cpu), []), var.ecs_task_memory)")


# The local holding the digest every image reference and `count` uses.
IMAGE_DIGEST_LOCAL = "running_image_digest"


def _resolved_digest(stack: TerraformStack, settings: EnvironmentSettings, variable: TerraformVariable) -> str:
    """-var image_digest, else the released digest in Parameter Store, else the config's, else "".

    GetParametersByPath answers an empty list when nothing was released yet, where the single-name
    data source (GetParameter) would fail the plan with ParameterNotFound. The provider marks
    `values` sensitive; a digest is no secret, and `count` refuses sensitive values (nonsensitive)."""
    name = release_parameter_name(settings.parameter_prefix)
    released = DataAwsSsmParametersByPath(stack, "released-image", path=name.rsplit("/", 1)[0], recursive=False)
    ref = f"data.{released.terraform_resource_type}.{released.friendly_unique_id}"
    fallback = json.dumps(settings.service.image_digest or "")
    local = TerraformLocal(stack, IMAGE_DIGEST_LOCAL, hcl(
        f'var.{IMAGE_DIGEST_VARIABLE} != "" ? var.{IMAGE_DIGEST_VARIABLE} : '
        f'nonsensitive(lookup(zipmap({ref}.names, {ref}.values), "{name}", {fallback}))'))
    return local.as_string


def released_count() -> float:
    """HCL `count`: 1 once an image digest is known, else 0 (the service never runs without an image)."""
    return Token.as_number(hcl(f'local.{IMAGE_DIGEST_LOCAL} == "" ? 0 : 1'))


def image_known_condition() -> str:
    """HCL condition of a protected stack: an image is known, or the operator allowed none."""
    return hcl(f'local.{IMAGE_DIGEST_LOCAL} != "" || var.{ALLOW_NO_SERVICE_VARIABLE}')


def capacity_condition() -> str:
    return hcl("var.min_capacity <= var.desired_count && var.desired_count <= var.max_capacity")
