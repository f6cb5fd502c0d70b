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
