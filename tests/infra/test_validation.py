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
    ("session_store.snapshot_window", "01:00-02:00", "01:00-01:30", "at least 60 minutes"),
    ("session_store.snapshot_window", "23:30-00:30", "23:30-00:15", "at least 60 minutes"),
    ("session_store.snapshot_window", "23:30-00:30", "04:30-05:30", "must not overlap the maintenance window"),
    ("session_store.maintenance_window", "sat:23:30-sun:00:30", "mon:01:00-mon:01:59", "at least 60 minutes"),
    ("sessions.idle_timeout_seconds", 600, 1, "2-2592000 seconds"),
    ("sessions.absolute_lifetime_seconds", 1800, 600, "at least the idle timeout"),
    ("sessions.max_payload_bytes", 8192, 63, "64-1048576 bytes"),
    ("service.task_cpu", 256, 300, "Fargate CPU value"),
    ("service.task_memory", 1024, 4096, "must fit task_cpu 256"),
    ("service.min_capacity", 1, 0, "at least 1"),
    ("service.max_capacity", 10, 1001, "at most 1000"),
    ("service.min_capacity", 2, 11, "at most max_capacity (10)"),
    ("service.desired_count", 3, 11, "min_capacity (2) <= desired_count <= max_capacity (10)"),
    ("service.container_port", 8081, 80, "1024-65535"),
    ("service.image_digest", "sha256:" + "0123456789abcdef" * 4, "latest", "image digest"),
    ("service.image_digest", "sha256:" + "ab" * 32, "sha256:" + "AB" * 32, "64 lowercase hex"),
    ("service.spot_percentage", 100, 101, "0-100"),
    ("service.log_retention_days", 14, 10, "CloudWatch Logs retention"),
    ("service.stop_timeout_seconds", 120, 121, "2-120"),
    ("service.health_check_path", "/healthz", "healthz", "starting with /"),
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
    ("load_balancer.health_check_interval_seconds", 10, 301, "5-300"),
    ("load_balancer.health_check_timeout_seconds", 5, 30, "shorter than the interval"),
    ("load_balancer.healthy_threshold", 10, 1, "2-10"),
    ("load_balancer.unhealthy_threshold", 2, 11, "2-10"),
    ("load_balancer.deregistration_delay_seconds", 0, 3601, "0-3600"),
    ("load_balancer.idle_timeout_seconds", 64, 0, "1-4000"),
    ("load_balancer.idle_timeout_seconds", 60, 65, "shorter than the service's keep-alive (65 s)"),
    ("load_balancer.domain_name", "sessions.shop.example.org", "Sessions.Shop", "lowercase DNS name"),
    ("load_balancer.domain_name", "sessions.shop.example.org", "*.shop.example.org", "no wildcard"),
    ("waf.rate_limit_per_5_minutes", 10, 9, "10-2000000000"),
    ("waf.log_retention_days", 30, 31, "CloudWatch Logs retention"),
    ("monitoring.alarm_email", "ops@example.com", "ops-at-example", "e-mail address"),
    ("monitoring.target_response_time_seconds", 1.0, 0.0, "more than 0"),
    ("monitoring.http_5xx_rate_percent", 5.0, 101.0, "at most 100"),
    ("monitoring.store_cpu_percent", 90, 0, "1-100"),
    ("monitoring.store_memory_percent", 100, 101, "1-100"),
    ("monitoring.store_max_connections", 1, 0, "at least 1"),
    ("monitoring.store_errors_per_minute", 1, 0, "at least 1"),
    ("monitoring.alarm_topic_arn", "arn:aws:sns:us-east-1:123456789012:oncall", "oncall", "SNS topic ARN"),
    ("monitoring.alarm_topic_arn", "arn:aws:sns:us-east-1:123456789012:oncall",
     "arn:aws:sns:eu-west-1:123456789012:oncall", "stack's region"),
    ("service.request_log_sample_rate", 0.0, 1.5, "0.0-1.0"),
    ("service.request_log_sample_rate", 1.0, -0.1, "5xx and slow requests are always logged"),
    ("service.slow_request_ms", 250, 0, "1-60000"),
    # AWS's own rules (issue 14): names that exist, bucket names S3 refuses, quotas.
    ("region", "us-east-1", "us-east-9", "is not an AWS region"),
    ("backend.state_region", "eu-central-1", "eu-centrall-1", "is not an AWS region"),
    ("network.availability_zones", ("us-east-1a", "us-east-1f"), ("us-east-1a", "us-east-1g"),
     "is not an Availability Zone of us-east-1"),
    ("backend.state_bucket", "state.bucket-1", "192.168.5.4", "shaped like an IP address"),
    ("backend.state_bucket", "my-xn--state", "xn--state", "starting with xn--"),
    ("backend.state_bucket", "sthree", "sthree-state", "sthree-"),
    ("backend.state_bucket", "state-s3", "state-s3alias", "ending with"),
    ("backend.state_bucket", "state-ol-s3", "state--ol-s3", "--ol-s3"),
    ("network.vpc_cidr", "10.0.0.0/16", "10.0.0.0", "IPv4 CIDR block"),
    ("load_balancer.ingress_cidrs", ("203.0.113.0/24",), ("203.0.113.7",), "with its prefix length"),
    ("load_balancer.ingress_cidrs", tuple(f"198.51.{i}.0/24" for i in range(60)),
     tuple(f"198.51.{i}.0/24" for i in range(61)), "inbound rules a security group holds"),
    ("session_store.access_string", "on ~sess:* %R~cache:* &* +@all -@dangerous -flushall",
     "on ~sess:* &* +@all -@dangerous @read", "does not parse: @read"),
    ("session_store.access_string", "on ~sess:* +@all -@dangerous", "on ~sess:* +@all, -@dangerous",
     "does not parse: +@all,"),
    ("network.nat_gateways", "per_az", "none", "only with network.interface_endpoints = true"),
    ("service.trusted_caller_arns", ("arn:aws:iam::123456789012:role/checkout", "arn:aws:iam::123456789012:role/a/b"),
     ("arn:aws:iam::123456789012:user/bob",), "IAM role ARN"),
]

# A production environment with HTTPS (required too, see below): only the alarm destination varies.
PROD = with_setting(EnvironmentSettings(name="prod", production=True), "load_balancer.certificate_arn",
                    "arn:aws:acm:us-east-1:123456789012:certificate/0b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b")


@pytest.mark.parametrize("destination", [{"alarm_email": "oncall@example.org"},
                                         {"alarm_topic_arn": "arn:aws:sns:us-east-1:123456789012:oncall"}])
def test_production_needs_an_alarm_destination(destination):
    assert PROD.is_production
    for field, value in destination.items():
        validate(with_setting(PROD, f"monitoring.{field}", value))
    with pytest.raises(InvalidSettings) as raised:
        validate(PROD)  # no e-mail, no topic
    (problem,) = raised.value.problems
    assert problem.field == "monitoring.alarm_email" and "monitoring.alarm_topic_arn" in problem.rule
    assert str(problem).startswith("environment 'prod': monitoring.alarm_email = None: a production environment")
    validate(BASE)  # dev may go without


@pytest.mark.parametrize(("field", "good", "bad", "rule"), RULES, ids=[f"{r[0]}={r[2]!r}" for r in RULES])
def test_rule(field, good, bad, rule):
    base = BASE
    if field == "load_balancer.domain_name":  # a name needs its zone (tested below)
        base = with_setting(BASE, "load_balancer.hosted_zone_id", "Z0123456789ABCDEFGHIJ")
    validate(with_setting(base, field, good))
    if base is not BASE:
        broken = with_setting(base, field, bad)
        with pytest.raises(InvalidSettings) as raised:
            validate(broken)
        assert any(p.field == field and rule in p.rule for p in raised.value.problems), raised.value
        return
    broken = with_setting(BASE, field, bad)
    with pytest.raises(InvalidSettings) as raised:
        validate(broken)
    messages = [str(p) for p in raised.value.problems]
    assert any(p.field == field and rule in p.rule for p in raised.value.problems), messages
    assert all(m.startswith(f"environment '{broken.name}': {p.field} = ") for m, p in zip(messages, raised.value.problems))


def _problems(settings: EnvironmentSettings) -> list:
    try:
        validate(settings)
    except InvalidSettings as invalid:
        return invalid.problems
    return []


def test_iam_authentication_needs_engine_7():
    """MemoryDB IAM authentication exists from engine 7.0: redis 6.2 with auth_mode 'iam' fails at apply."""
    redis = with_setting(BASE, "session_store.engine", "redis")
    assert _problems(with_setting(redis, "session_store.engine_version", "7.0")) == []
    (problem,) = _problems(with_setting(redis, "session_store.engine_version", "6.2"))
    assert (problem.field, problem.value) == ("session_store.engine_version", "6.2")
    assert "7.0 or later" in problem.rule and "iam" in problem.rule


def test_target_group_health_check_timeout_is_at_most_120_seconds():
    slow = with_setting(BASE, "load_balancer.health_check_interval_seconds", 300)
    assert _problems(with_setting(slow, "load_balancer.health_check_timeout_seconds", 120)) == []
    (problem,) = _problems(with_setting(slow, "load_balancer.health_check_timeout_seconds", 121))
    assert problem.field == "load_balancer.health_check_timeout_seconds" and "2-120" in problem.rule


@pytest.mark.parametrize(("snapshot", "maintenance", "overlap"), [
    ("00:00-01:00", "sun:23:30-mon:00:30", True),   # Monday 00:00-00:30, across the week's end
    ("23:00-00:30", "wed:00:00-wed:01:00", True),   # Tuesday's snapshot runs into Wednesday
    ("03:00-04:00", "sun:05:00-sun:06:00", False),  # the defaults
    ("06:00-07:00", "sun:05:00-sun:06:00", False),  # back to back is fine
])
def test_snapshot_window_must_not_overlap_maintenance_on_any_day(snapshot, maintenance, overlap):
    settings = with_setting(with_setting(BASE, "session_store.snapshot_window", snapshot),
                            "session_store.maintenance_window", maintenance)
    found = [p for p in _problems(settings) if "overlap" in p.rule]
    assert bool(found) is overlap and all(p.field == "session_store.snapshot_window" for p in found)


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


# A production environment with an alarm destination (required too, see above): only HTTPS varies.
PRODUCTION = with_setting(dataclasses.replace(BASE, name="prod", production=True), "monitoring.alarm_email",
                          "oncall@example.org")
ZONE = "Z0123456789ABCDEFGHIJ"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0b0e3c4e-6f6a-4e8b-9a51-6b1a2f1b9c11"


def problems_of(settings) -> list:
    try:
        validate(settings)
    except InvalidSettings as error:
        return error.problems
    return []


def test_production_refuses_http_only_and_says_what_to_set():
    (problem,) = problems_of(PRODUCTION)
    assert problem.field == "load_balancer.certificate_arn" and problem.value is None
    assert "production environment requires HTTPS" in problem.rule
    assert "load_balancer.certificate_arn" in problem.rule and "load_balancer.domain_name" in problem.rule
    assert "load_balancer.hosted_zone_id" in problem.rule
    assert str(problem).startswith("environment 'prod': load_balancer.certificate_arn = None: ")


@pytest.mark.parametrize("https", [{"certificate_arn": CERTIFICATE},
                                   {"domain_name": "sessions.shop.example.org", "hosted_zone_id": ZONE},
                                   {"certificate_arn": CERTIFICATE, "domain_name": "sessions.shop.example.org",
                                    "hosted_zone_id": ZONE}])
def test_production_with_a_certificate_or_a_name_in_a_zone_passes(https):
    assert problems_of(dataclasses.replace(PRODUCTION, load_balancer=dataclasses.replace(
        PRODUCTION.load_balancer, **https))) == []


def test_http_only_is_allowed_outside_production():
    assert problems_of(BASE) == [] and not BASE.is_production


@pytest.mark.parametrize(("given", "missing"), [({"domain_name": "sessions.shop.example.org"}, "load_balancer.hosted_zone_id"),
                                                ({"hosted_zone_id": ZONE}, "load_balancer.domain_name")])
def test_domain_name_and_hosted_zone_come_together(given, missing):
    problems = problems_of(dataclasses.replace(BASE, load_balancer=dataclasses.replace(BASE.load_balancer, **given)))
    assert [p.field for p in problems] == [missing]
    assert "must be set with" in problems[0].rule


def test_hosted_zone_id_format():
    problems = problems_of(dataclasses.replace(BASE, load_balancer=dataclasses.replace(
        BASE.load_balancer, domain_name="sessions.shop.example.org", hosted_zone_id="/hostedzone/Z1")))
    assert [p.field for p in problems] == ["load_balancer.hosted_zone_id"]
    assert "Route 53 hosted zone ID" in problems[0].rule


def test_production_flag_comes_from_the_setting_not_the_name(tmp_path):
    write_config(tmp_path, 'environments = ["live", "prod"]\n',
                 live=f'production = true\n[load_balancer]\ncertificate_arn = "{CERTIFICATE}"\n'
                 '[monitoring]\nalarm_email = "oncall@example.org"\n', prod="")
    live, prod = load_environment("live", tmp_path), load_environment("prod", tmp_path)
    assert live.is_production and live.waf_enabled
    assert not prod.is_production and not prod.waf_enabled


def test_waf_follows_production_unless_set():
    assert PRODUCTION.waf_enabled and not BASE.waf_enabled
    assert with_setting(BASE, "waf.enabled", True).waf_enabled
    assert not with_setting(PRODUCTION, "waf.enabled", False).waf_enabled


def test_synthesis_warns_about_http_only_and_the_example_domain():
    from stacks.validation import synth_warnings

    dev, staging, prod = (load_environment(name) for name in ("dev", "staging", "prod"))
    assert any("environment 'dev' serves plain HTTP only" in w for w in synth_warnings(dev))
    assert any("environment 'staging' serves plain HTTP only" in w for w in synth_warnings(staging))
    (example,) = synth_warnings(prod)
    assert "shipped example: replace them" in example and "session.example.com" in example
    real = dataclasses.replace(prod, load_balancer=dataclasses.replace(
        prod.load_balancer, domain_name="sessions.shop.org", hosted_zone_id=ZONE))
    assert synth_warnings(real) == []


def test_main_prints_the_http_only_warning_on_stderr(tmp_path):
    write_config(tmp_path, 'environments = ["dev"]\n', dev="")
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "SESSION_CONFIG_DIR": str(tmp_path),
                                 "CDKTF_OUTDIR": str(tmp_path / "out")})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "WARNING: environment 'dev' serves plain HTTP only" in result.stderr


def test_every_configured_environment_is_valid():
    assert [s.name for s in load_all()] == ["dev", "staging", "prod"]


def test_environments_differ_where_they_should():
    dev, prod = load_environment("dev"), load_environment("prod")
    assert (dev.network.nat_gateways, prod.network.nat_gateways) == ("single", "none")
    assert prod.network.interface_endpoints and not dev.network.interface_endpoints
    assert not dev.load_balancer.deletion_protection and prod.load_balancer.deletion_protection
    assert prod.service.log_retention_days > dev.service.log_retention_days
    assert prod.session_store.final_snapshot and not dev.session_store.final_snapshot
    assert dev.service.spot_percentage > 0 and prod.service.spot_percentage == 0
    assert prod.is_production and not dev.is_production and not load_environment("staging").is_production
    assert prod.https and prod.waf_enabled and not dev.https and not dev.waf_enabled


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


def test_unknown_bootstrap_state_names_the_field_and_the_choices(tmp_path):
    write_config(tmp_path, 'environments = ["dev"]\n[backend]\nbootstrap_state = "s3"\n', dev="")
    with pytest.raises(InvalidSettings, match=r"backend.bootstrap_state = 's3': must be one of 'local', 'bucket'"):
        load_environment("dev", tmp_path)
    write_config(tmp_path, 'environments = ["dev"]\n[backend]\nbootstrap_state = "bucket"\n', dev="")
    assert load_environment("dev", tmp_path).backend.bootstrap_state == "bucket"


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
                "waf": module.WafSettings, "monitoring": module.MonitoringSettings}
    for section, cls in sections.items():
        body = text.split(f"## `[{section}]`", 1)[1].split("\n## ", 1)[0] if f"## `[{section}]`" in text else ""
        assert body, f"docs/configuration.md has no section [{section}]"
        for item in dataclasses.fields(cls):
            assert f"| `{item.name}` |" in body, f"[{section}] {item.name} is not documented"


def test_nat_none_with_interface_endpoints_passes():
    endpoints_on = with_setting(BASE, "network.interface_endpoints", True)
    assert problems_of(with_setting(endpoints_on, "network.nat_gateways", "none")) == []


def test_ingress_rule_quota_counts_both_listener_ports_with_https():
    thirty = tuple(f"198.51.{i}.0/24" for i in range(30))
    https = with_setting(BASE, "load_balancer.certificate_arn", CERTIFICATE)
    assert problems_of(with_setting(https, "load_balancer.ingress_cidrs", thirty)) == []
    (problem,) = problems_of(with_setting(https, "load_balancer.ingress_cidrs", thirty + ("192.0.2.0/24",)))
    assert problem.field == "load_balancer.ingress_cidrs" and "31 x 2 listener port(s)" in problem.rule


def test_listed_environment_without_its_file_is_an_error(tmp_path):
    write_config(tmp_path, 'environments = ["dev", "stagng"]\n', dev="", staging="")
    with pytest.raises(InvalidSettings) as raised:
        load_all(tmp_path)
    (problem,) = raised.value.problems
    assert str(problem).startswith("environment '*': environments = 'stagng': has no file "), problem


def test_environment_file_that_is_not_listed_is_said_at_synthesis(tmp_path):
    """Synthesizing a subset is legal (tests/edge lists prod only), so a warning, not an error."""
    from stacks.config_loader import unlisted_environment_files

    write_config(tmp_path, 'environments = ["dev"]\n', dev="", prod="")
    assert [s.name for s in load_all(tmp_path)] == ["dev"] and unlisted_environment_files(tmp_path) == ["prod"]
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "SESSION_CONFIG_DIR": str(tmp_path),
                                 "CDKTF_OUTDIR": str(tmp_path / "out")})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "WARNING: config/prod.toml exists but `environments` in common.toml does not list 'prod'" in result.stderr
    write_config(tmp_path, 'environments = ["dev", "prod"]\n', dev="", prod="")
    assert unlisted_environment_files(tmp_path) == []


def test_duplicate_environment_is_an_error_not_a_traceback(tmp_path):
    write_config(tmp_path, 'environments = ["dev", "dev"]\n', dev="")
    with pytest.raises(InvalidSettings, match="environments = 'dev': is listed more than once"):
        load_all(tmp_path)
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "SESSION_CONFIG_DIR": str(tmp_path)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is listed more than once" in result.stderr


def test_per_environment_state_bucket_that_bootstrap_never_creates_is_an_error(tmp_path):
    write_config(tmp_path, 'environments = ["dev", "prod"]\n[backend]\nstate_bucket = "shared-state"\n',
                 dev="", prod='[backend]\nstate_bucket = "prod-state"\n')
    with pytest.raises(InvalidSettings) as raised:
        load_all(tmp_path)
    (problem,) = raised.value.problems
    assert (problem.environment, problem.field, problem.value) == ("prod", "backend.state_bucket", "prod-state")
    assert "session-bootstrap creates only one state bucket" in problem.rule and "'shared-state'" in problem.rule
    write_config(tmp_path, 'environments = ["dev", "prod"]\n[backend]\nstate_bucket = "shared-state"\n',
                 dev="", prod="")
    assert len(load_all(tmp_path)) == 2


def test_region_typo_reaches_neither_the_stack_nor_the_service(tmp_path):
    """AWS_REGION of the task is the validated `region`: a typo stops synthesis, naming the field."""
    write_config(tmp_path, 'environments = ["qa"]\nregion = "us-esat-1"\n', qa="")
    with pytest.raises(InvalidSettings) as raised:
        load_all(tmp_path)
    assert any(p.field == "region" and "is not an AWS region" in p.rule for p in raised.value.problems)
