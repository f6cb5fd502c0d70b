"""A test per validation rule: the good value passes, the bad one fails with its message."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from stacks.config_loader import load_all, load_environment
from stacks.settings import EnvironmentSettings
from stacks.validation import InvalidSettings, validate
from tests.infra.conftest import ROOT


def with_setting(settings: EnvironmentSettings, path: str, value) -> EnvironmentSettings:
    """A copy of `settings` with the dotted field `path` set to `value`."""
    head, _, rest = path.partition(".")
    if not rest:
        return dataclasses.replace(settings, **{head: value})
    return dataclasses.replace(settings, **{head: with_setting(getattr(settings, head), rest, value)})


BASE = EnvironmentSettings(name="dev")

# (field, good value, bad value, words of the rule the error must contain)
RULES = [
    ("name", "staging", "Staging!", "lowercase letters or digits"),
    ("name", "qa2", "x" * 13, "2-12"),
    ("project", "shop-sessions", "-bad", "single hyphens"),
    ("region", "us-east-1", "europe", "AWS region"),
    ("backend.state_region", "eu-central-1", "eu_central_1", "AWS region"),
    ("backend.state_bucket", "my-state.bucket", "My_Bucket", "S3 bucket name"),
    ("backend.key_prefix", "infra/sessions", "/leading", "relative S3 key path"),
    ("network.vpc_cidr", "10.0.0.0/16", "10.0.0.1/16", "IPv4 CIDR block"),
    ("network.vpc_cidr", "10.0.0.0/16", "10.0.0.0/8", "between /16 and /24"),
    ("network.availability_zones", ("us-east-1a", "us-east-1c"), ("us-east-1a",), "at least two"),
    ("network.availability_zones", ("us-east-1a", "us-east-1b"), ("us-east-1a", "eu-west-1b"), "in region us-east-1"),
    ("network.public_subnet_cidrs", ("10.0.11.0/24", "10.0.12.0/24"), ("10.0.1.0/24",), "one subnet per Availability Zone"),
    ("network.public_subnet_cidrs", ("10.0.11.0/24", "10.0.12.0/24"), ("10.0.1.0/24", "10.9.0.0/24"), "inside the VPC"),
    ("network.private_subnet_cidrs", ("10.0.3.0/24", "10.0.4.0/24"), ("10.0.3.0/24", "10.0.1.0/25"), "must not overlap"),
    ("network.private_subnet_cidrs", ("10.0.3.0/24", "10.0.4.0/24"), ("10.0.3.0/24", "not-a-cidr"), "IPv4 CIDR block"),
    ("network.flow_log_retention_days", 30, 31, "CloudWatch Logs retention"),
    ("session_store.node_type", "db.r7g.xlarge", "cache.r6g.large", "MemoryDB node type"),
    ("session_store.num_shards", 250, 0, "1-500"),
    ("session_store.num_shards", 1, 501, "1-500"),
    ("session_store.replicas_per_shard", 5, 6, "0-5"),
    ("session_store.engine_version", "7.3", "6.2", "for engine valkey"),
    ("session_store.port", 6380, 80, "1024-65535"),
    ("session_store.snapshot_retention_days", 35, 36, "0-35"),
    ("session_store.snapshot_window", "01:00-02:00", "1am-2am", "hh:mm-hh:mm"),
    ("session_store.maintenance_window", "mon:01:00-mon:02:00", "monday", "ddd:hh:mm-ddd:hh:mm"),
    ("sessions.idle_timeout_seconds", 600, 30, "60-604800"),
    ("sessions.absolute_lifetime_seconds", 1800, 600, "at least the idle timeout"),
    ("sessions.max_payload_bytes", 8192, 100, "256-65536"),
    ("service.task_cpu", 256, 300, "Fargate CPU value"),
    ("service.task_memory", 1024, 4096, "must fit task_cpu 256"),
    ("service.min_capacity", 1, 0, "at least 1"),
    ("service.max_capacity", 10, 1001, "at most 1000"),
    ("service.desired_count", 3, 11, "min_capacity (2) <= desired_count <= max_capacity (10)"),
    ("service.container_port", 8081, 80, "1024-65535"),
    ("service.image_digest", "sha256:" + "0123456789abcdef" * 4, "latest", "image digest"),
    ("service.image_digest", "sha256:" + "ab" * 32, "sha256:" + "AB" * 32, "64 lowercase hex"),
    ("service.spot_percentage", 100, 101, "0-100"),
    ("service.log_retention_days", 14, 10, "CloudWatch Logs retention"),
    ("service.stop_timeout_seconds", 120, 121, "2-120"),
    ("service.health_check_grace_period_seconds", 0, -1, "zero or more"),
    ("service.cpu_target_percent", 50, 99, "10-95"),
    ("service.requests_per_target", 1, 0, "at least 1"),
    ("service.scale_in_cooldown_seconds", 3600, 3601, "0-3600"),
    ("service.scale_out_cooldown_seconds", 0, -5, "0-3600"),
    ("load_balancer.certificate_arn",
     "arn:aws:acm:us-east-1:123456789012:certificate/0b0e3c4e-6f6a-4e8b-9a51-6b1a2f1b9c11",
     "arn:aws:iam::123456789012:server-certificate/x", "ACM certificate ARN"),
    ("load_balancer.certificate_arn",
     "arn:aws:acm:us-east-1:123456789012:certificate/0b0e3c4e-6f6a-4e8b-9a51-6b1a2f1b9c11",
     "arn:aws:acm:eu-west-1:123456789012:certificate/0b0e3c4e-6f6a-4e8b-9a51-6b1a2f1b9c11", "stack's region"),
    ("load_balancer.ingress_cidrs", ("203.0.113.0/24",), ("203.0.113.0/33",), "IPv4 CIDR block"),
    ("load_balancer.ingress_cidrs", ("0.0.0.0/0",), (), "at least one"),
    ("load_balancer.health_check_path", "/readyz", "healthz", "starting with /"),
    ("load_balancer.health_check_interval_seconds", 10, 301, "5-300"),
    ("load_balancer.health_check_timeout_seconds", 5, 30, "shorter than the interval"),
    ("load_balancer.healthy_threshold", 10, 1, "2-10"),
    ("load_balancer.unhealthy_threshold", 2, 11, "2-10"),
    ("load_balancer.deregistration_delay_seconds", 0, 3601, "0-3600"),
    ("load_balancer.idle_timeout_seconds", 4000, 0, "1-4000"),
    ("monitoring.alarm_email", "ops@example.com", "ops-at-example", "e-mail address"),
    ("monitoring.target_response_time_seconds", 1.0, 0.0, "more than 0"),
    ("monitoring.http_5xx_rate_percent", 5.0, 101.0, "at most 100"),
    ("monitoring.store_cpu_percent", 90, 0, "1-100"),
    ("monitoring.store_memory_percent", 100, 101, "1-100"),
    ("monitoring.store_max_connections", 1, 0, "at least 1"),
]


@pytest.mark.parametrize(("field", "good", "bad", "rule"), RULES, ids=[f"{r[0]}={r[2]!r}" for r in RULES])
def test_rule(field, good, bad, rule):
    validate(with_setting(BASE, field, good))
    broken = with_setting(BASE, field, bad)
    with pytest.raises(InvalidSettings) as raised:
        validate(broken)
    messages = [str(p) for p in raised.value.problems]
    assert any(p.field == field and rule in p.rule for p in raised.value.problems), messages
    assert all(m.startswith(f"environment '{broken.name}': {p.field} = ") for m, p in zip(messages, raised.value.problems))


@pytest.mark.parametrize(("project", "environment", "name"), [
    ("sessionstore-platfrm", "staging1234", "load balancer name"),  # 32-character ALB limit
    ("sessionstore-platform", "prod", "project"),             # project itself too long
])
def test_names_after_prefixing_stay_within_aws_limits(project, environment, name):
    with pytest.raises(InvalidSettings) as raised:
        validate(EnvironmentSettings(name=environment, project=project))
    assert any(name in p.field for p in raised.value.problems), raised.value


def test_long_names_that_fit_pass():
    validate(EnvironmentSettings(name="staging", project="session-app"))  # the public implementations broke here
    validate(EnvironmentSettings(name="staging", project="sessionstore-platfrm"))  # exactly 32


def test_every_configured_environment_is_valid():
    assert [s.name for s in load_all()] == ["dev", "staging", "prod"]


def test_environments_differ_where_they_should():
    dev, prod = load_environment("dev"), load_environment("prod")
    assert (dev.network.nat_gateways, prod.network.nat_gateways) == ("single", "per_az")
    assert not dev.load_balancer.deletion_protection and prod.load_balancer.deletion_protection
    assert prod.service.log_retention_days > dev.service.log_retention_days
    assert prod.session_store.final_snapshot and not dev.session_store.final_snapshot
    assert dev.service.spot_percentage > 0 and prod.service.spot_percentage == 0


def write_config(directory, common: str, **environments: str):
    (directory / "common.toml").write_text(common)
    for name, text in environments.items():
        (directory / f"{name}.toml").write_text(text)


def test_unknown_setting_is_an_error(tmp_path):
    write_config(tmp_path, 'environments = ["dev"]\n', dev="[service]\ntask_cpus = 512\n")
    with pytest.raises(InvalidSettings, match=r"service.task_cpus = 512: is not a known setting"):
        load_environment("dev", tmp_path)


def test_wrong_type_is_an_error(tmp_path):
    write_config(tmp_path, 'environments = ["dev"]\n', dev='[service]\ntask_cpu = "512"\n')
    with pytest.raises(InvalidSettings, match=r"service.task_cpu = '512': must be a whole number"):
        load_environment("dev", tmp_path)


def test_wrong_choice_is_an_error(tmp_path):
    write_config(tmp_path, 'environments = ["dev"]\n', dev='[network]\nnat_gateways = "two"\n')
    with pytest.raises(InvalidSettings, match=r"must be one of 'single', 'per_az'"):
        load_environment("dev", tmp_path)


def test_broken_toml_is_an_error(tmp_path):
    write_config(tmp_path, 'environments = ["dev"]\n', dev="[service\n")
    with pytest.raises(InvalidSettings, match="is not valid TOML"):
        load_environment("dev", tmp_path)


def test_environment_file_overrides_common(tmp_path):
    write_config(tmp_path, 'environments = ["qa"]\nregion = "eu-west-1"\n[network]\n'
                 'availability_zones = ["eu-west-1a", "eu-west-1b"]\n', qa="[service]\ntask_cpu = 512\ntask_memory = 1024\n")
    qa = load_environment("qa", tmp_path)
    assert (qa.region, qa.service.task_cpu, qa.service.task_memory, qa.parameter_prefix) == (
        "eu-west-1", 512, 1024, "/session-app/qa/")


def test_main_reports_every_problem_without_a_traceback(tmp_path):
    write_config(tmp_path, 'environments = ["dev", "staging"]\n',
                 dev="[session_store]\nnum_shards = 0\n", staging="[service]\nmin_capacity = 5\ndesired_count = 2\n")
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "SESSION_CONFIG_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "environment 'dev': session_store.num_shards = 0: must be 1-500" in result.stderr
    assert "environment 'staging': service.desired_count = 2: must satisfy min_capacity (5)" in result.stderr


def test_every_setting_is_documented():
    """docs/configuration.md lists every field of every settings section."""
    from stacks import settings as module

    text = (ROOT / "docs" / "configuration.md").read_text()
    sections = {"backend": module.BackendSettings, "network": module.NetworkSettings,
                "session_store": module.SessionStoreSettings, "sessions": module.SessionPolicySettings,
                "service": module.ServiceSettings, "load_balancer": module.LoadBalancerSettings,
                "monitoring": module.MonitoringSettings}
    for section, cls in sections.items():
        body = text.split(f"## `[{section}]`", 1)[1].split("\n## ", 1)[0] if f"## `[{section}]`" in text else ""
        assert body, f"docs/configuration.md has no section [{section}]"
        for item in dataclasses.fields(cls):
            assert f"| `{item.name}` |" in body, f"[{section}] {item.name} is not documented"
