"""Typed, immutable settings for one environment.

Every field has the original design's value as its default. Each environment file under
`config/` (TOML) overrides what differs; `docs/configuration.md` documents every field.
Nothing here talks to AWS: `stacks.validation` checks the values before any construct
sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from stacks.names import ResourceNames

NatGatewayMode = Literal["single", "per_az"]
CpuArchitecture = Literal["ARM64", "X86_64"]
StoreEngine = Literal["valkey", "redis"]
StoreAuthMode = Literal["iam", "password"]


@dataclass(frozen=True)
class BackendSettings:
    """Where Terraform keeps each environment's state (S3, native lock file)."""

    state_bucket: str = "session-app-terraform-state"
    state_region: str = "us-east-1"
    key_prefix: str = "session-management"


@dataclass(frozen=True)
class NetworkSettings:
    """The VPC: public subnets for the load balancer and NAT, private ones for the rest."""

    vpc_cidr: str = "10.0.0.0/16"
    availability_zones: tuple[str, ...] = ("us-east-1a", "us-east-1b")
    public_subnet_cidrs: tuple[str, ...] = ("10.0.1.0/24", "10.0.2.0/24")
    private_subnet_cidrs: tuple[str, ...] = ("10.0.3.0/24", "10.0.4.0/24")
    # One NAT gateway is cheap; one per AZ survives the loss of an AZ.
    nat_gateways: NatGatewayMode = "single"
    flow_log_retention_days: int = 14


@dataclass(frozen=True)
class SessionStoreSettings:
    """Amazon MemoryDB, the durable session store (always cluster mode, TLS always on)."""

    engine: StoreEngine = "valkey"
    engine_version: str = "7.2"
    node_type: str = "db.r6g.large"
    num_shards: int = 2
    replicas_per_shard: int = 1
    port: int = 6379
    # "iam": short-lived SigV4 tokens, no static secret. "password" is rejected by validation:
    # provider 5.100 has no write-only password on aws_memorydb_user, so it would land in state.
    auth_mode: StoreAuthMode = "iam"
    # ACL rules of the service's MemoryDB user: only the session keys (`sess:*`, `usess:*`),
    # every command except the dangerous ones (FLUSHALL, CONFIG, KEYS, INFO, ...).
    access_string: str = "on ~sess:* ~usess:* &* +@all -@dangerous"
    snapshot_retention_days: int = 7
    snapshot_window: str = "03:00-04:00"
    maintenance_window: str = "sun:05:00-sun:06:00"
    final_snapshot: bool = False
    auto_minor_version_upgrade: bool = True


@dataclass(frozen=True)
class SessionPolicySettings:
    """How long sessions live; the service reads these from Parameter Store."""

    idle_timeout_seconds: int = 1800
    absolute_lifetime_seconds: int = 43200
    max_payload_bytes: int = 4096


@dataclass(frozen=True)
class ServiceSettings:
    """The session service on ECS Fargate, and how it scales."""

    task_cpu: int = 256
    task_memory: int = 512
    cpu_architecture: CpuArchitecture = "ARM64"
    # Digest (sha256:...) of the released image in the ECR repository; None until the first
    # `make release`, and then the service is not created (see docs/architecture.md).
    image_digest: Optional[str] = None
    container_port: int = 8080
    desired_count: int = 2
    min_capacity: int = 2
    max_capacity: int = 10
    # Share of tasks placed on FARGATE_SPOT (0-100); the rest on FARGATE.
    spot_percentage: int = 0
    log_retention_days: int = 7
    health_check_grace_period_seconds: int = 60
    stop_timeout_seconds: int = 30
    cpu_target_percent: int = 70
    requests_per_target: int = 1000
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 300
    container_insights: bool = True


@dataclass(frozen=True)
class LoadBalancerSettings:
    """The internet-facing Application Load Balancer."""

    # With an ACM certificate ARN: HTTPS on 443 and HTTP redirected; without: HTTP only.
    certificate_arn: Optional[str] = None
    ingress_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    health_check_path: str = "/healthz"
    health_check_interval_seconds: int = 30
    health_check_timeout_seconds: int = 5
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3
    deregistration_delay_seconds: int = 30
    idle_timeout_seconds: int = 60
    deletion_protection: bool = False
    access_logs: bool = False


@dataclass(frozen=True)
class MonitoringSettings:
    """Alarms and dashboard."""

    alarm_email: Optional[str] = None
    target_response_time_seconds: float = 0.5
    http_5xx_rate_percent: float = 1.0
    store_cpu_percent: int = 75
    store_memory_percent: int = 80
    store_max_connections: int = 5000


@dataclass(frozen=True)
class EnvironmentSettings:
    """Everything one environment stack needs, validated before synthesis."""

    name: str
    project: str = "session-app"
    region: str = "us-east-1"
    backend: BackendSettings = field(default_factory=BackendSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    session_store: SessionStoreSettings = field(default_factory=SessionStoreSettings)
    sessions: SessionPolicySettings = field(default_factory=SessionPolicySettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    load_balancer: LoadBalancerSettings = field(default_factory=LoadBalancerSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)

    @property
    def name_prefix(self) -> str:
        """Prefix of every resource name: stable, so a new synth never renames anything."""
        return f"{self.project}-{self.name}"

    @property
    def names(self) -> ResourceNames:
        """Every resource name of this environment (`stacks.names`)."""
        return ResourceNames.for_environment(self.project, self.name)

    @property
    def parameter_prefix(self) -> str:
        """Parameter Store path of this environment (ends with a slash)."""
        return f"/{self.project}/{self.name}/"

    @property
    def stack_name(self) -> str:
        return f"session-{self.name}"

    @property
    def state_key(self) -> str:
        return f"{self.backend.key_prefix}/{self.name}/terraform.tfstate"

    @property
    def is_production(self) -> bool:
        return self.name == "prod"
