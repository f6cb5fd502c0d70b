"""Synth-time checks of every rule AWS would otherwise reject at apply time.

Each rule names the field, the value and the rule, so an operator can fix the setting
without reading Python. All problems of a run are reported together.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from stacks import toolchain
from stacks.contract import SERVICE_HEALTH_CHECK, SERVICE_KEEP_ALIVE_SECONDS, SERVICE_RANGES, setting
from stacks.limits import (
    AWS_REGION_ZONE_LETTERS,
    CLOUDWATCH_LOG_RETENTION_DAYS,
    FARGATE_MEMORY_BY_CPU,
    MEMORYDB_ENGINE_VERSIONS,
    MEMORYDB_NODE_TYPES,
    SECURITY_GROUP_INGRESS_RULES,
)


@dataclass(frozen=True)
class SettingProblem:
    environment: str
    field: str
    value: Any
    rule: str

    def __str__(self) -> str:
        return f"environment '{self.environment}': {self.field} = {self.value!r}: {self.rule}"


class InvalidSettings(ValueError):
    """One or more settings break a rule; `problems` lists each of them."""

    def __init__(self, problems: Iterable[SettingProblem]):
        self.problems = list(problems)
        super().__init__("invalid settings:\n" + "\n".join(f"  - {p}" for p in self.problems))


ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9]{1,11}$")
PROJECT_NAME = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,18}[a-z0-9]$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$")
BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MEMORYDB_NAME = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,38}[a-z0-9]$")
LB_NAME = re.compile(r"^(?!internal-)[a-zA-Z0-9](?!.*--)[a-zA-Z0-9-]{0,30}[a-zA-Z0-9]$")
IAM_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
SNAPSHOT_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
MAINTENANCE_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
)
IMAGE_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
HEALTH_CHECK_PATH = re.compile(r"^/[A-Za-z0-9/_.~-]{0,1023}$")
DOMAIN_NAME = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
HOSTED_ZONE_ID = re.compile(r"^[A-Z0-9]{1,32}$")  # Route 53: up to 32 uppercase letters/digits, usually Z...
# RFC 2606/6761 names: what config/prod.toml ships as an example to replace.
EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org", "example", "test", "invalid")
# AWS WAF rate-based rules: limit per evaluation window (5 minutes here), 10 to 2,000,000,000.
WAF_RATE_LIMIT = (10, 2_000_000_000)
# Portable environment variable names (POSIX); ECS passes them to the container as given.
ENVIRONMENT_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
# Prefixes of names the stack sets (SESSION_*, AWS_REGION) or ECS and the AWS SDKs read
# (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, ECS_CONTAINER_METADATA_URI_V4): never the user's.
RESERVED_ENVIRONMENT_PREFIXES = ("SESSION_", "AWS_", "ECS_")
CONTAINER_USER = re.compile(r"^(\d+)(?::(\d+))?$")
# S3 bucket names AWS refuses beyond the character rules (S3 user guide, "General purpose bucket
# naming rules"): IP-address shaped names and reserved prefixes and suffixes.
BUCKET_IP_SHAPED = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# One MemoryDB (Redis ACL) access-string rule: on/off, key and channel patterns, command and
# category grants (MemoryDB guide, "Authenticating users with Access Control Lists").
# Password rules (nopass, >pw, #hash, ...) parse too: the safety rule below refuses them by name.
ACCESS_RULE = re.compile(r"^(on|off|allkeys|allchannels|allcommands|nocommands|resetkeys|resetchannels|nopass|resetpass"
                         r"|[<>#!]\S+"
                         r"|%R?W?~\S+|~\S+|&\S+|[+-]@[a-z]+|[+-][a-z][a-z|-]*)$")
ECR_NAME = re.compile(r"^(?=.{2,256}$)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


def validate(settings) -> None:
    """Raise `InvalidSettings` listing every broken rule of one environment's settings."""
    problems: list[SettingProblem] = []

    def check(field: str, value: Any, ok: bool, rule: str) -> None:
        if not ok:
            problems.append(SettingProblem(settings.name, field, value, rule))

    for rules in (_identity_rules, _network_rules, _store_rules, _session_rules, _service_rules,
                  _load_balancer_rules, _https_rules, _waf_rules, _monitoring_rules, _name_rules):
        rules(settings, check)
    if problems:
        raise InvalidSettings(problems)


Check = Callable[[str, Any, bool, str], None]


def _identity_rules(s, check: Check) -> None:
    check("name", s.name, bool(ENVIRONMENT_NAME.match(s.name)),
          "must be 2-12 lowercase letters or digits, starting with a letter")
    check("project", s.project, bool(PROJECT_NAME.match(s.project)),
          "must be 2-20 lowercase letters, digits or single hyphens, starting with a letter")
    for field, region in (("region", s.region), ("backend.state_region", s.backend.state_region)):
        check(field, region, bool(REGION.match(region)), "must be an AWS region such as us-east-1")
        check(field, region, not REGION.match(region) or region in AWS_REGION_ZONE_LETTERS,
              "is not an AWS region (known: " + ", ".join(sorted(AWS_REGION_ZONE_LETTERS)) + ")")
    check("backend.state_bucket", s.backend.state_bucket, bool(BUCKET_NAME.match(s.backend.state_bucket)),
          "must be an S3 bucket name: 3-63 lowercase letters, digits, dots or hyphens")
    check("backend.state_bucket", s.backend.state_bucket, bucket_name_allowed(s.backend.state_bucket),
          _BUCKET_RESERVED_RULE)
    check("backend.key_prefix", s.backend.key_prefix, bool(re.match(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", s.backend.key_prefix)),
          "must be a relative S3 key path without leading or trailing slash")


def _network_rules(s, check: Check) -> None:
    n = s.network
    vpc = _network(n.vpc_cidr)
    check("network.vpc_cidr", n.vpc_cidr, vpc is not None and 16 <= vpc.prefixlen <= 24,
          "must be an IPv4 CIDR block (network address) between /16 and /24")
    azs = n.availability_zones
    check("network.availability_zones", list(azs), len(azs) >= 2 and len(set(azs)) == len(azs),
          "must list at least two different Availability Zones")
    last = AWS_REGION_ZONE_LETTERS.get(s.region, "z")
    for az in azs:
        check("network.availability_zones", az, az.startswith(s.region) and len(az) == len(s.region) + 1,
              f"each zone must be in region {s.region} (for example {s.region}a)")
        check("network.availability_zones", az, not az.startswith(s.region) or az[len(s.region):] <= last,
              f"is not an Availability Zone of {s.region} (zones {s.region}a to {s.region}{last})")
    subnets: list[tuple[str, ipaddress.IPv4Network]] = []
    for kind in ("public_subnet_cidrs", "private_subnet_cidrs"):
        cidrs = getattr(n, kind)
        check(f"network.{kind}", list(cidrs), len(cidrs) == len(azs),
              f"must have one subnet per Availability Zone ({len(azs)})")
        for cidr in cidrs:
            net = _network(cidr)
            check(f"network.{kind}", cidr, net is not None and 16 <= (net.prefixlen if net else 0) <= 28,
                  "must be an IPv4 CIDR block (network address) between /16 and /28")
            if net is None:
                continue
            check(f"network.{kind}", cidr, vpc is None or net.subnet_of(vpc),
                  f"must lie inside the VPC {n.vpc_cidr}")
            for other_kind, other in subnets:
                check(f"network.{kind}", cidr, not net.overlaps(other),
                      f"must not overlap {other} ({other_kind})")
            subnets.append((kind, net))
    check("network.nat_gateways", n.nat_gateways, n.nat_gateways != "none" or n.interface_endpoints,
          "may be 'none' only with network.interface_endpoints = true: without them the tasks reach "
          "ECR, SSM and CloudWatch Logs only through a NAT gateway")
    check("network.flow_log_retention_days", n.flow_log_retention_days,
          n.flow_log_retention_days in CLOUDWATCH_LOG_RETENTION_DAYS, _retention_rule())


def _store_rules(s, check: Check) -> None:
    m = s.session_store
    check("session_store.node_type", m.node_type, m.node_type in MEMORYDB_NODE_TYPES,
          "must be a MemoryDB node type (" + ", ".join(sorted(MEMORYDB_NODE_TYPES)[:4]) + ", ...)")
    check("session_store.num_shards", m.num_shards, 1 <= m.num_shards <= 500, "must be 1-500")
    check("session_store.replicas_per_shard", m.replicas_per_shard, 0 <= m.replicas_per_shard <= 5, "must be 0-5")
    check("session_store.num_shards", m.num_shards, m.num_shards * (m.replicas_per_shard + 1) <= 500,
          "shards x (replicas + 1) must be at most 500 nodes")
    versions = MEMORYDB_ENGINE_VERSIONS[m.engine]
    check("session_store.engine_version", m.engine_version, m.engine_version in versions,
          f"must be one of {', '.join(versions)} for engine {m.engine}")
    check("session_store.port", m.port, 1024 <= m.port <= 65535, "must be 1024-65535")
    check("session_store.snapshot_retention_days", m.snapshot_retention_days,
          0 <= m.snapshot_retention_days <= 35, "must be 0-35")
    check("session_store.snapshot_window", m.snapshot_window, bool(SNAPSHOT_WINDOW.match(m.snapshot_window)),
          "must look like hh:mm-hh:mm (UTC)")
    check("session_store.maintenance_window", m.maintenance_window,
          bool(MAINTENANCE_WINDOW.match(m.maintenance_window)), "must look like ddd:hh:mm-ddd:hh:mm (UTC)")
    snapshot, maintenance = _daily_window(m.snapshot_window), _weekly_window(m.maintenance_window)
    check("session_store.snapshot_window", m.snapshot_window, snapshot is None or snapshot[1] - snapshot[0] >= 60,
          "must be at least 60 minutes long (MemoryDB's minimum snapshot window)")
    check("session_store.maintenance_window", m.maintenance_window,
          maintenance is None or maintenance[1] - maintenance[0] >= 60,
          "must be at least 60 minutes long (MemoryDB's minimum maintenance window)")
    check("session_store.snapshot_window", m.snapshot_window,
          snapshot is None or maintenance is None or not _overlaps_weekly(snapshot, maintenance),
          f"must not overlap the maintenance window {m.maintenance_window} (snapshots are not taken during maintenance)")
    check("session_store.engine_version", m.engine_version,
          m.auth_mode != "iam" or _version(m.engine_version) >= (7, 0),
          "must be 7.0 or later with auth_mode 'iam': MemoryDB IAM authentication needs engine 7.0+")
    check("session_store.auth_mode", m.auth_mode, m.auth_mode == "iam",
          "must be 'iam': hashicorp/aws 5.100 has no write-only password on aws_memorydb_user, so a "
          "password mode would put the password in Terraform state (docs/architecture.md)")
    bad_rules = [w for w in m.access_string.split() if not ACCESS_RULE.match(w)]
    check("session_store.access_string", m.access_string, not bad_rules,
          f"has rules MemoryDB does not parse: {' '.join(bad_rules)} (rules are on/off, ~keypattern, "
          "&channelpattern, +@category, -@category, +command, -command)")
    check("session_store.access_string", m.access_string, _safe_access_string(m.access_string),
          "must be a MemoryDB access string starting with 'on ' that holds no password ('>', '#', nopass) "
          "and does not grant +@dangerous")


def _session_rules(s, check: Check) -> None:
    p = s.sessions
    _service_ranges(s, check, "sessions.")
    check("sessions.absolute_lifetime_seconds", p.absolute_lifetime_seconds,
          p.idle_timeout_seconds <= p.absolute_lifetime_seconds, "must be at least the idle timeout")


def _service_ranges(s, check: Check, section: str) -> None:
    """The service's own ranges (app/contract.py): a value it would refuse at start fails synth."""
    for name, row in SERVICE_RANGES.items():
        if name.startswith(section):
            value = getattr(getattr(s, section[:-1]), name[len(section):])
            check(name, value, row.accepts(value), f"{row.rule()} ({row.doc})")


def _service_rules(s, check: Check) -> None:
    v = s.service
    allowed = FARGATE_MEMORY_BY_CPU.get(v.task_cpu)
    check("service.task_cpu", v.task_cpu, allowed is not None,
          f"must be a Fargate CPU value: {', '.join(map(str, FARGATE_MEMORY_BY_CPU))}")
    if allowed is not None:
        check("service.task_memory", v.task_memory, v.task_memory in allowed,
              f"must fit task_cpu {v.task_cpu}: {_describe_memory(allowed)} MiB")
    check("service.min_capacity", v.min_capacity, 1 <= v.min_capacity, "must be at least 1")
    check("service.max_capacity", v.max_capacity, v.max_capacity <= 1000, "must be at most 1000")
    check("service.min_capacity", v.min_capacity, v.min_capacity <= v.max_capacity,
          f"must be at most max_capacity ({v.max_capacity})")
    check("service.desired_count", v.desired_count, v.min_capacity <= v.desired_count <= v.max_capacity,
          f"must satisfy min_capacity ({v.min_capacity}) <= desired_count <= max_capacity ({v.max_capacity})")
    check("service.container_port", v.container_port, 1024 <= v.container_port <= 65535,
          "must be 1024-65535 (the container runs as a non-root user)")
    _app_plane_rules(v, check)
    if v.image_digest is not None:
        check("service.image_digest", v.image_digest, bool(IMAGE_DIGEST.match(v.image_digest)),
              "must be an image digest: sha256: and 64 lowercase hex digits (or unset before the first release)")
    check("service.spot_percentage", v.spot_percentage, 0 <= v.spot_percentage <= 100, "must be 0-100")
    check("service.log_retention_days", v.log_retention_days,
          v.log_retention_days in CLOUDWATCH_LOG_RETENTION_DAYS, _retention_rule())
    check("service.stop_timeout_seconds", v.stop_timeout_seconds, 2 <= v.stop_timeout_seconds <= 120,
          "must be 2-120 seconds (the Fargate maximum)")
    check("service.health_check_grace_period_seconds", v.health_check_grace_period_seconds,
          0 <= v.health_check_grace_period_seconds <= 2147483647, "must be zero or more")
    check("service.cpu_target_percent", v.cpu_target_percent, 10 <= v.cpu_target_percent <= 95, "must be 10-95")
    check("service.requests_per_target", v.requests_per_target, v.requests_per_target >= 1, "must be at least 1")
    _service_ranges(s, check, "service.")
    for field in ("scale_in_cooldown_seconds", "scale_out_cooldown_seconds"):
        value = getattr(v, field)
        check(f"service.{field}", value, 0 <= value <= 3600, "must be 0-3600 seconds")
    _contract_rules(v, check)
    check("service.deployment_strategy", v.deployment_strategy,
          v.deployment_strategy != "blue_green" or toolchain.supports("ecs_blue_green"),
          f"blue_green needs ECS native blue/green (hashicorp/aws >= 6.4); the {toolchain.current().name} toolchain "
          f"binds aws {toolchain.current().aws_major}.x: use \"rolling\" or `make synth TOOLCHAIN=cdktn`")
    # ECS DeploymentConfiguration.bakeTimeInMinutes: 0-1440.
    check("service.bake_time_minutes", v.bake_time_minutes, 0 <= v.bake_time_minutes <= 1440, "must be 0-1440 minutes")


def _contract_rules(v, check: Check) -> None:
    """The container contract's settings (docs/container-contract.md)."""
    check("service.health_check_path", v.health_check_path, bool(HEALTH_CHECK_PATH.match(v.health_check_path)),
          "must be a URL path starting with / (letters, digits, / _ . ~ -)")
    command = v.health_check_command
    check("service.health_check_command", list(command), all(part.strip() for part in command),
          "must be a list of non-empty strings (exec form, without \"CMD\"), or [] for no container health check")
    check("service.health_check_command", list(command), tuple(command) != SERVICE_HEALTH_CHECK
          or v.health_check_path == "/healthz",
          "must be set when health_check_path is not /healthz: the default (the session service's "
          "`python -m app healthcheck`) checks /healthz only; e.g. a command with {port} and {path}")
    if v.command is not None:
        check("service.command", list(v.command), len(v.command) >= 1 and all(part.strip() for part in v.command),
              "must be a non-empty list of non-empty strings (exec form), or unset for the image's CMD")
    user = CONTAINER_USER.match(v.user)
    check("service.user", v.user, bool(user), "must be uid or uid:gid in digits (names need /etc/passwd in the image)")
    check("service.user", v.user, not user or 0 not in (int(user.group(1)), int(user.group(2) or 1)),
          "must not be root (uid or gid 0): the task runs unprivileged")
    for name, value in v.environment.items():
        check(f"service.environment.{name}", value, bool(ENVIRONMENT_VARIABLE.match(name)),
              "must be named with letters, digits and _, not starting with a digit")
        check(f"service.environment.{name}", value, not name.upper().startswith(RESERVED_ENVIRONMENT_PREFIXES),
              f"is reserved: {', '.join(p + '*' for p in RESERVED_ENVIRONMENT_PREFIXES)} names are set by the "
              "stack or read by ECS and the AWS SDKs (docs/container-contract.md)")


SECURITY_GROUP_ID = re.compile(r"sg-([0-9a-f]{8}|[0-9a-f]{17})")
# The service's own rule for the setting it reads (app/contract.py), checked at synth time too.
TRUSTED_CALLER_ARNS = setting("SESSION_TRUSTED_CALLER_ARNS")
ROLE_ARN = re.compile(TRUSTED_CALLER_ARNS.pattern)


def _app_plane_rules(v, check: Check) -> None:
    port = v.app_plane_port
    check("service.app_plane_port", port, port == 0 or 1024 <= port <= 65535,
          "must be 0 (off) or 1024-65535 (the container runs as a non-root user)")
    check("service.app_plane_port", port, port != v.container_port, "must differ from container_port")
    for group in v.app_plane_source_security_groups:
        check("service.app_plane_source_security_groups", group, bool(SECURITY_GROUP_ID.fullmatch(group)),
              "must be security group ids (sg- and 8 or 17 hex digits)")
    for arn in v.trusted_caller_arns:
        check("service.trusted_caller_arns", arn, bool(ROLE_ARN.fullmatch(arn)),
              f"must each be {TRUSTED_CALLER_ARNS.pattern_doc}")
    if port:
        check("service.app_plane_source_security_groups", v.app_plane_source_security_groups,
              bool(v.app_plane_source_security_groups), "must name at least one group when app_plane_port is set")
        check("service.trusted_caller_arns", v.trusted_caller_arns, bool(v.trusted_caller_arns),
              "must name at least one role when app_plane_port is set")


def _regional_arn(check: Check, field: str, arn: str, pattern: re.Pattern, region: str, shape: str, what: str,
                  why: str = "") -> None:
    """An ARN of the right shape (`pattern`'s first group is its region), in the stack's region."""
    match = pattern.match(arn)
    check(field, arn, bool(match), f"must be {shape}")
    check(field, arn, not match or match.group(1) == region, f"must be {what} in the stack's region {region}{why}")


def _load_balancer_rules(s, check: Check) -> None:
    lb = s.load_balancer
    if lb.certificate_arn is not None:
        _regional_arn(check, "load_balancer.certificate_arn", lb.certificate_arn, CERTIFICATE_ARN, s.region,
                      "an ACM certificate ARN: arn:aws:acm:<region>:<account id>:certificate/<uuid>", "a certificate")
    check("load_balancer.ingress_cidrs", list(lb.ingress_cidrs), len(lb.ingress_cidrs) >= 1,
          "must list at least one CIDR block")
    for cidr in lb.ingress_cidrs:
        check("load_balancer.ingress_cidrs", cidr, _network(cidr) is not None,
              "must be an IPv4 CIDR block with its prefix length, such as 203.0.113.0/24")
    ports = 2 if s.https else 1  # one rule per CIDR per listener port (80, and 443 with HTTPS)
    check("load_balancer.ingress_cidrs", len(lb.ingress_cidrs), len(lb.ingress_cidrs) * ports <= SECURITY_GROUP_INGRESS_RULES,
          f"too many CIDR blocks: {len(lb.ingress_cidrs)} x {ports} listener port(s) exceeds the "
          f"{SECURITY_GROUP_INGRESS_RULES} inbound rules a security group holds (default VPC quota)")
    check("load_balancer.health_check_interval_seconds", lb.health_check_interval_seconds,
          5 <= lb.health_check_interval_seconds <= 300, "must be 5-300 seconds")
    check("load_balancer.health_check_timeout_seconds", lb.health_check_timeout_seconds,
          2 <= lb.health_check_timeout_seconds <= 120
          and lb.health_check_timeout_seconds < lb.health_check_interval_seconds,
          "must be 2-120 seconds and shorter than the interval")
    for field in ("healthy_threshold", "unhealthy_threshold"):
        value = getattr(lb, field)
        check(f"load_balancer.{field}", value, 2 <= value <= 10, "must be 2-10")
    check("load_balancer.deregistration_delay_seconds", lb.deregistration_delay_seconds,
          0 <= lb.deregistration_delay_seconds <= 3600, "must be 0-3600 seconds")
    check("load_balancer.idle_timeout_seconds", lb.idle_timeout_seconds, 1 <= lb.idle_timeout_seconds <= 4000,
          "must be 1-4000 seconds")
    check("load_balancer.idle_timeout_seconds", lb.idle_timeout_seconds,
          lb.idle_timeout_seconds < SERVICE_KEEP_ALIVE_SECONDS,
          f"must be shorter than the service's keep-alive ({SERVICE_KEEP_ALIVE_SECONDS} s): otherwise the load "
          "balancer reuses connections the service already closed and answers 502")


def _https_rules(s, check: Check) -> None:
    """A production environment serves HTTPS: an existing certificate, or a name the stack certifies."""
    lb = s.load_balancer
    if lb.domain_name is not None:
        check("load_balancer.domain_name", lb.domain_name, bool(DOMAIN_NAME.match(lb.domain_name)),
              "must be a lowercase DNS name such as sessions.example.org (no wildcard, no trailing dot)")
        check("load_balancer.hosted_zone_id", lb.hosted_zone_id, lb.hosted_zone_id is not None,
              "must be set with domain_name: the ID of the Route 53 hosted zone that holds domain_name "
              "(the stack adds the alias record and, without certificate_arn, the certificate's validation record)")
    if lb.hosted_zone_id is not None:
        check("load_balancer.hosted_zone_id", lb.hosted_zone_id, bool(HOSTED_ZONE_ID.match(lb.hosted_zone_id)),
              "must be a Route 53 hosted zone ID (up to 32 uppercase letters and digits) such as Z0123456789ABCDEFGHIJ")
        check("load_balancer.domain_name", lb.domain_name, lb.domain_name is not None,
              "must be set with hosted_zone_id: the DNS name to create in that zone")
    if s.is_production:
        check("load_balancer.certificate_arn", lb.certificate_arn, s.https,
              "a production environment requires HTTPS: set load_balancer.certificate_arn to an ACM certificate "
              f"in {s.region}, or load_balancer.domain_name and load_balancer.hosted_zone_id so the stack "
              "creates a DNS-validated certificate")


def _waf_rules(s, check: Check) -> None:
    w = s.waf
    low, high = WAF_RATE_LIMIT
    check("waf.rate_limit_per_5_minutes", w.rate_limit_per_5_minutes, low <= w.rate_limit_per_5_minutes <= high,
          f"must be {low}-{high} requests (AWS WAF rate-based rule limits)")
    check("waf.log_retention_days", w.log_retention_days, w.log_retention_days in CLOUDWATCH_LOG_RETENTION_DAYS,
          _retention_rule())


def synth_warnings(s) -> list[str]:
    """Legal but worth saying at every synthesis: HTTP-only environments, example DNS names left in."""
    lb, warnings = s.load_balancer, []
    if not s.https:
        warnings.append(f"environment '{s.name}' serves plain HTTP only: session cookies cross the network "
                        "in clear text (set load_balancer.certificate_arn or domain_name + hosted_zone_id)")
    name = lb.domain_name or ""
    if any(name == d or name.endswith("." + d) for d in EXAMPLE_DOMAINS) or "EXAMPLE" in (lb.hosted_zone_id or ""):
        warnings.append(f"environment '{s.name}': load_balancer.domain_name = {lb.domain_name!r} and hosted_zone_id = "
                        f"{lb.hosted_zone_id!r} are the shipped example: replace them before deploying")
    if not s.waf_enabled and s.is_production:
        warnings.append(f"environment '{s.name}' is production without AWS WAF (waf.enabled = false)")
    return warnings


def _monitoring_rules(s, check: Check) -> None:
    mon = s.monitoring
    if mon.alarm_email is not None:
        check("monitoring.alarm_email", mon.alarm_email, bool(EMAIL.match(mon.alarm_email)), "must be an e-mail address")
    if mon.alarm_topic_arn is not None:
        _regional_arn(check, "monitoring.alarm_topic_arn", mon.alarm_topic_arn, SNS_TOPIC_ARN, s.region,
                      "an SNS topic ARN: arn:aws:sns:<region>:<account id>:<name>", "a topic",
                      " (alarm actions and MemoryDB events stay in-region)")
    if s.is_production:
        check("monitoring.alarm_email", mon.alarm_email, bool(mon.alarm_email or mon.alarm_topic_arn),
              "a production environment needs an alarm destination: set monitoring.alarm_email or "
              "monitoring.alarm_topic_arn")
    check("monitoring.store_errors_per_minute", mon.store_errors_per_minute, mon.store_errors_per_minute >= 1,
          "must be at least 1")
    check("monitoring.target_response_time_seconds", mon.target_response_time_seconds,
          0 < mon.target_response_time_seconds <= 60, "must be more than 0 and at most 60 seconds")
    check("monitoring.http_5xx_rate_percent", mon.http_5xx_rate_percent, 0 < mon.http_5xx_rate_percent <= 100,
          "must be more than 0 and at most 100")
    for field in ("store_cpu_percent", "store_memory_percent"):
        value = getattr(mon, field)
        check(f"monitoring.{field}", value, 1 <= value <= 100, "must be 1-100")
    check("monitoring.store_max_connections", mon.store_max_connections, mon.store_max_connections >= 1,
          "must be at least 1")


def _name_rules(s, check: Check) -> None:
    """Names after prefixing must fit AWS's limits in every environment."""
    resource_names = s.names
    for label, value in resource_names.load_balancer_names(s.service.deployment_strategy == "blue_green").items():
        check(f"project/name -> {label}", value, bool(LB_NAME.match(value)),
              "load balancer and target group names must be 1-32 letters, digits or single hyphens "
              "(shorten project or environment name)")
    for label, value in resource_names.memorydb_names().items():
        check(f"project/name -> {label}", value, bool(MEMORYDB_NAME.match(value)),
              "MemoryDB names must be 1-40 lowercase letters, digits or single hyphens, starting with a letter")
    for label, value in resource_names.iam_role_names().items():
        check(f"project/name -> {label}", value, bool(IAM_ROLE_NAME.match(value)),
              "IAM role names must be 1-64 characters")
    for label, bucket in (("access log bucket name", resource_names.access_logs_bucket("123456789012")),
                          ("flow log bucket name", resource_names.flow_logs_bucket("123456789012"))):
        check(f"project/name -> {label}", bucket, bool(BUCKET_NAME.match(bucket)),
              "S3 bucket names must be 3-63 lowercase letters, digits or hyphens (with the 12-digit account ID)")
        check(f"project/name -> {label}", bucket, bucket_name_allowed(bucket), _BUCKET_RESERVED_RULE)
    repository = resource_names.image_repository
    check("project/name -> ECR repository name", repository, bool(ECR_NAME.match(repository)),
          "ECR repository names must be 2-256 lowercase letters, digits, hyphens, dots or slashes")
    for label, value in resource_names.security_group_names().items():
        check(f"project/name -> {label}", value, not value.startswith("sg-") and len(value) <= 255,
              "security group names may not begin with 'sg-' and have at most 255 characters")


_BUCKET_RESERVED_RULE = ("S3 refuses bucket names shaped like an IP address, starting with "
                         + ", ".join(BUCKET_RESERVED_PREFIXES) + " or ending with " + ", ".join(BUCKET_RESERVED_SUFFIXES))


def bucket_name_allowed(name: str) -> bool:
    """S3's reserved name shapes (the character rules are BUCKET_NAME)."""
    return (not BUCKET_IP_SHAPED.match(name) and not name.startswith(BUCKET_RESERVED_PREFIXES)
            and not name.endswith(BUCKET_RESERVED_SUFFIXES))


def _safe_access_string(access: str) -> bool:
    words = access.split()
    return (bool(words) and words[0] == "on" and "nopass" not in words and "+@dangerous" not in words
            and not any(w.startswith((">", "#", "<", "!")) for w in words))


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEK = 7 * 24 * 60


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (0,)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _daily_window(window: str) -> tuple[int, int] | None:
    """`hh:mm-hh:mm` -> (start, end) minutes of the day; a window past midnight ends after 1440."""
    if not SNAPSHOT_WINDOW.match(window):
        return None
    start, end = (_minutes(part) for part in window.split("-"))
    return start, end if end > start else end + 24 * 60


def _weekly_window(window: str) -> tuple[int, int] | None:
    """`ddd:hh:mm-ddd:hh:mm` -> (start, end) minutes of the week (Monday 00:00 = 0), wrapping Sunday."""
    if not MAINTENANCE_WINDOW.match(window):
        return None
    start, end = ((_DAYS.index(part[:3]) * 24 * 60 + _minutes(part[4:])) for part in window.split("-"))
    return start, end if end > start else end + _WEEK


def _overlaps_weekly(daily: tuple[int, int], weekly: tuple[int, int]) -> bool:
    """Does the daily window, on any day of the week, intersect the weekly window?"""
    for day in range(-1, 8):  # the days around the week's ends too, for windows that wrap
        start, end = daily[0] + day * 24 * 60, daily[1] + day * 24 * 60
        for shift in (-_WEEK, 0, _WEEK):
            if start < weekly[1] + shift and weekly[0] + shift < end:
                return True
    return False


def _network(cidr: str) -> ipaddress.IPv4Network | None:
    """A CIDR block written with its prefix length (Python reads a bare address as /32)."""
    if not isinstance(cidr, str) or "/" not in cidr:
        return None
    try:
        return ipaddress.IPv4Network(cidr, strict=True)
    except (ValueError, TypeError):
        return None


def _describe_memory(allowed: tuple[int, ...]) -> str:
    return ", ".join(map(str, allowed)) if len(allowed) <= 8 else f"{allowed[0]}-{allowed[-1]} in steps of {allowed[1] - allowed[0]}"


def _retention_rule() -> str:
    return "must be a CloudWatch Logs retention: " + ", ".join(map(str, CLOUDWATCH_LOG_RETENTION_DAYS))
