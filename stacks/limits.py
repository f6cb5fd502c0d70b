"""AWS's allowed values, shared by synth-time validation and Terraform variable validation."""

from __future__ import annotations


def _steps(start: int, stop: int, step: int) -> tuple[int, ...]:
    return tuple(range(start, stop + 1, step))


# Fargate task sizes: CPU units -> allowed memory (MiB).
FARGATE_MEMORY_BY_CPU: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}

_SIZES = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
MEMORYDB_NODE_TYPES: frozenset[str] = frozenset(
    ["db.t4g.small", "db.t4g.medium"]
    + [f"db.{family}.{size}" for family in ("r6g", "r7g") for size in _SIZES]
    + [f"db.r6gd.{size}" for size in ("xlarge", "2xlarge", "4xlarge", "8xlarge")]
)

MEMORYDB_ENGINE_VERSIONS: dict[str, tuple[str, ...]] = {
    "valkey": ("7.2", "7.3"),
    "redis": ("6.2", "7.0", "7.1"),
}


def memorydb_parameter_group_family(engine: str, version: str) -> str:
    """`memorydb_valkey7`, `memorydb_redis6`, `memorydb_redis7`: the family of an engine version."""
    return f"memorydb_{engine}{version.split('.')[0]}"


CLOUDWATCH_LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

# AWS commercial regions (aws partition) and the highest Availability Zone letter each has.
# Zone letters map to physical zones per account, and some accounts see fewer zones (e.g.
# us-west-1 offers two of a-c): this catches names that exist nowhere, AWS refuses the rest.
AWS_REGION_ZONE_LETTERS: dict[str, str] = {
    "us-east-1": "f", "us-east-2": "c", "us-west-1": "c", "us-west-2": "d",
    "af-south-1": "c", "ap-east-1": "c", "ap-east-2": "c", "ap-south-1": "c", "ap-south-2": "c",
    "ap-southeast-1": "c", "ap-southeast-2": "c", "ap-southeast-3": "c", "ap-southeast-4": "c",
    "ap-southeast-5": "c", "ap-southeast-7": "c", "ap-northeast-1": "d", "ap-northeast-2": "d",
    "ap-northeast-3": "c", "ca-central-1": "d", "ca-west-1": "c", "eu-central-1": "c", "eu-central-2": "c",
    "eu-west-1": "c", "eu-west-2": "c", "eu-west-3": "c", "eu-south-1": "c", "eu-south-2": "c",
    "eu-north-1": "c", "il-central-1": "c", "me-south-1": "c", "me-central-1": "c", "mx-central-1": "c",
    "sa-east-1": "c",
}

# Regions that have an Elastic Load Balancing account for access-log delivery (ELB user guide,
# "Enable access logs": regions available before August 2022). Newer regions have none and
# deliver as the service principal logdelivery.elasticloadbalancing.amazonaws.com, which the
# bucket policy always admits (stacks/load_balancer.py).
ELB_ACCOUNT_REGIONS: frozenset[str] = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
    "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-north-1",
    "me-south-1", "sa-east-1",
})

# Security groups: inbound rules per group (VPC quota "Inbound or outbound rules per security
# group", default 60; raisable, but the stack assumes the default).
SECURITY_GROUP_INGRESS_RULES = 60
