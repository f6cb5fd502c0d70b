"""Typed, immutable settings for one environment.

Every field has the original design's value as its default. Each environment file under
`config/` (TOML) overrides what differs; `docs/configuration.md` documents every field.
Nothing here talks to AWS: `stacks.validation` checks the values before any construct
sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from memorydb_sessions.tokens import acl_key_patterns
from stacks.contract import SERVICE_HEALTH_CHECK
from stacks.names import ResourceNames

NatGatewayMode = Literal["single", "per_az", "none"]
CpuArchitecture = Literal["ARM64", "X86_64"]
StoreEngine = Literal["valkey", "redis"]
StoreAuthMode = Literal["iam", "password"]
WafMode = Literal["block", "count"]
FlowLogsDestination = Literal["cloud-watch-logs", "s3"]
DeploymentStrategy = Literal["rolling", "blue_green"]


@dataclass(frozen=True)
class BackendSettings:
    """Where Terraform keeps each environment's state (S3, native lock file)."""

    state_bucket: str = "session-app-terraform-state"
    state_region: str = "us-east-1"
    key_prefix: str = "session-management"
    # Where `session-bootstrap` keeps its own state. "local": the file next to cdktf.out (the only
    # place before the bucket exists). "bucket": in the state bucket at
    # <key_prefix>/session-bootstrap/terraform.tfstate; the next deploy moves the local file there.
    bootstrap_state: Literal["local", "bucket"] = "local"

    def state_key(self, stack: str) -> str:
        """The S3 key of a stack's state: an environment's name, or `session-bootstrap`."""
        return f"{self.key_prefix}/{stack}/terraform.tfstate"


@dataclass(frozen=True)
class NetworkSettings:
    """The VPC: public subnets for the load balancer and NAT, private ones for the rest."""

    vpc_cidr: str = "10.0.0.0/16"
    availability_zones: tuple[str, ...] = ("us-east-1a", "us-east-1b")
    public_subnet_cidrs: tuple[str, ...] = ("10.0.1.0/24", "10.0.2.0/24")
    private_subnet_cidrs: tuple[str, ...] = ("10.0.3.0/24", "10.0.4.0/24")
    # One NAT gateway is cheap; one per AZ survives the loss of an AZ; "none" (only with
    # interface_endpoints): the private subnets have no route out, the tasks need none.
    nat_gateways: NatGatewayMode = "single"
    flow_log_retention_days: int = 14
    # "s3": flow logs as vended logs to an encrypted bucket (cheaper per GB than CloudWatch Logs).
    flow_logs_destination: FlowLogsDestination = "cloud-watch-logs"
    # Interface endpoints (ECR api/dkr, CloudWatch Logs, SSM; STS when the service calls it) in the private subnets; when on,
    # the tasks' HTTPS egress is limited to them and the S3 gateway endpoint (no 0.0.0.0/0).
    interface_endpoints: bool = False


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
    # ACL rules of the service's MemoryDB user: only the keys the session core and the service
    # write (memorydb_sessions.tokens.KEY_PREFIXES: sessions, user indexes, revocation marks,
    # rate windows, the user directory), every command except the dangerous ones (FLUSHALL,
    # CONFIG, KEYS, INFO, ...).
    access_string: str = f"on {acl_key_patterns()} &* +@all -@dangerous"
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
    # The container contract (docs/container-contract.md): what any image released here gets.
    container_port: int = 8080
    # One path for the ALB target group's check and, through `{path}`, the container's own.
    health_check_path: str = "/healthz"
    # Exec form without "CMD"; `{port}` and `{path}` are replaced by container_port and
    # health_check_path. The default is the session service's check (it knows only /healthz);
    # an empty list: no container health check (the ALB's still applies).
    health_check_command: tuple[str, ...] = SERVICE_HEALTH_CHECK
    # ECS `command`: None runs the image's CMD.
    command: Optional[tuple[str, ...]] = None
    # uid[:gid] the container runs as; never root (the session service's image uses 10001).
    user: str = "10001:10001"
    # Extra plain environment values ([service.environment]); SESSION_*, AWS_* and ECS_* names
    # belong to the stack and to ECS.
    environment: dict[str, str] = field(default_factory=dict)
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
    # Share of ordinary request log lines written (0.0-1.0); 5xx and slow requests are always logged.
    request_log_sample_rate: float = 1.0
    slow_request_ms: int = 1000
    # May `destroy` delete the image repository with the images in it? None: yes, except in production.
    delete_images_on_destroy: Optional[bool] = None
    # Terraform `prevent_destroy` on the ECS service and its scalable target, and a plan that finds
    # no image digest fails unless `-var allow_no_service=true`. None: on exactly in production.
    prevent_destroy: Optional[bool] = None
    # Application plane (docs/security.md): a second port for trusted backends, 0: off. Open only
    # from these security groups, never to the load balancer; callers' IAM roles must be listed.
    app_plane_port: int = 0
    app_plane_source_security_groups: tuple[str, ...] = ()
    # Non-empty also gives the VPC an STS interface endpoint (the service verifies callers
    # through sts:GetCallerIdentity).
    trusted_caller_arns: tuple[str, ...] = ()
    # "rolling" (with the circuit breaker) under either toolchain; "blue_green": ECS native
    # blue/green with a bake time (hashicorp/aws >= 6.4: the cdktn toolchain; docs/toolchains.md).
    deployment_strategy: DeploymentStrategy = "rolling"
    bake_time_minutes: int = 5


@dataclass(frozen=True)
class LoadBalancerSettings:
    """The internet-facing Application Load Balancer."""

    # With an ACM certificate ARN: HTTPS on 443 and HTTP redirected; without: HTTP only.
    certificate_arn: Optional[str] = None
    # A DNS name in a Route 53 hosted zone of the account: the stack points an alias record
    # at the ALB and, without certificate_arn, creates the certificate (DNS validation).
    domain_name: Optional[str] = None
    hosted_zone_id: Optional[str] = None
    ingress_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    # The path is the container's: `[service] health_check_path`.
    health_check_interval_seconds: int = 30
    health_check_timeout_seconds: int = 5
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3
    deregistration_delay_seconds: int = 30
    idle_timeout_seconds: int = 60
    deletion_protection: bool = False
    access_logs: bool = False


@dataclass(frozen=True)
class WafSettings:
    """AWS WAF in front of the load balancer (stacks/waf.py)."""

    # None: on exactly in production environments.
    enabled: Optional[bool] = None
    # "count": every rule only counts (tuning a new rule set); "block": rules act.
    mode: WafMode = "block"
    # Requests per client IP per 5 minutes before the rate rule blocks (docs/configuration.md).
    rate_limit_per_5_minutes: int = 10000
    # AWSManagedRulesAnonymousIpList (Tor, VPNs, hosting providers) only counts unless true.
    block_anonymous_ips: bool = False
    # Only requests a rule acted on are logged, so a year costs little (and checkov wants it).
    log_retention_days: int = 365


@dataclass(frozen=True)
class MonitoringSettings:
    """Alarms and dashboard."""

    # Where alarms and MemoryDB events go; a production environment needs at least one.
    alarm_email: Optional[str] = None
    alarm_topic_arn: Optional[str] = None  # an existing SNS topic (same account and region)
    target_response_time_seconds: float = 0.5
    http_5xx_rate_percent: float = 1.0
    store_cpu_percent: int = 75
    store_memory_percent: int = 80
    store_max_connections: int = 5000
    store_errors_per_minute: int = 10


@dataclass(frozen=True)
class EnvironmentSettings:
    """Everything one environment stack needs, validated before synthesis."""

    name: str
    # A production environment must serve HTTPS and gets WAF by default (config/prod.toml).
    production: bool = False
    project: str = "session-app"
    region: str = "us-east-1"
    backend: BackendSettings = field(default_factory=BackendSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    session_store: SessionStoreSettings = field(default_factory=SessionStoreSettings)
    sessions: SessionPolicySettings = field(default_factory=SessionPolicySettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    load_balancer: LoadBalancerSettings = field(default_factory=LoadBalancerSettings)
    waf: WafSettings = field(default_factory=WafSettings)
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
        return self.backend.state_key(self.name)

    @property
    def delete_images_on_destroy(self) -> bool:
        """`service.delete_images_on_destroy`, or else: outside production only (prod keeps its images)."""
        chosen = self.service.delete_images_on_destroy
        return (not self.is_production) if chosen is None else chosen

    @property
    def protects_service(self) -> bool:
        """`service.prevent_destroy`, or else: in production only."""
        chosen = self.service.prevent_destroy
        return self.is_production if chosen is None else chosen

    @property
    def is_production(self) -> bool:
        """Set by `production = true` (config/prod.toml), never guessed from the name."""
        return self.production

    @property
    def https(self) -> bool:
        """The load balancer serves HTTPS: an existing certificate, or one the stack creates."""
        lb = self.load_balancer
        return lb.certificate_arn is not None or lb.domain_name is not None

    @property
    def calls_sts(self) -> bool:
        """The service forwards callers' signed sts:GetCallerIdentity only when its application
        plane is on (which validation lets happen only with trusted callers)."""
        return bool(self.service.app_plane_port and self.service.trusted_caller_arns)

    @property
    def waf_enabled(self) -> bool:
        return self.production if self.waf.enabled is None else self.waf.enabled
