"""The production edge, deployed: `session-prod` applied to the emulator with HTTPS and WAF.

A Route 53 hosted zone is created in the emulator first and a copy of `config/` names it
(`SESSION_CONFIG_DIR`), so the stack creates the ACM certificate with DNS validation, the
alias record, the HTTPS listener and the web ACL exactly as on AWS. Then the AWS API must
show: the web ACL associated with the load balancer (and logging with the cookie redacted),
443 serving the issued certificate with the TLS 1.3 policy, 80 redirecting to 443, and the
name pointing at the load balancer. The emulator is discarded, not destroyed (prod has
deletion protection and MemoryDB's destroy alone is five minutes of provider waits).

By hand: `.venv/bin/python tests/edge/test_edge_deploy.py WORKDIR` (keeps the emulator's
log and terraform.log in WORKDIR).
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from emulator import start_emulator  # noqa: E402
from deploy.synthesis import synthesize  # noqa: E402
from localdev.aws_cycle import released_image  # noqa: E402
from deploy.stack_deploy import bootstrap_and_apply  # noqa: E402
from deploy.terraform import cli_environment, terraform  # noqa: E402
from stacks.config_loader import CONFIG_DIR_VARIABLE, DEFAULT_CONFIG_DIR, load_environment  # noqa: E402
from stacks.load_balancer import TLS_POLICY  # noqa: E402
from stacks.waf import MANAGED_RULE_GROUPS  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on the PATH")

ZONE = "edge.internal"
DOMAIN = f"session.{ZONE}"


@dataclass
class EdgeDeployment:
    settings: Any
    client: Callable[[str], Any]
    outputs: dict[str, Any]
    second_plan: Any


def prod_config(directory: Path, zone_id: str) -> Path:
    """config/ with only prod, its example domain and hosted zone replaced by the emulator's."""
    shutil.copytree(DEFAULT_CONFIG_DIR, directory)
    common = directory / "common.toml"
    common.write_text(common.read_text().replace('environments = ["dev", "staging", "prod"]', 'environments = ["prod"]'))
    prod = directory / "prod.toml"
    text = prod.read_text()
    assert 'domain_name = "session.example.com"' in text and 'hosted_zone_id = "Z0EXAMPLEREPLACEME"' in text
    prod.write_text(text.replace('"session.example.com"', f'"{DOMAIN}"').replace('"Z0EXAMPLEREPLACEME"', f'"{zone_id}"'))
    return directory


def deploy(work: Path) -> EdgeDeployment:
    import boto3

    work.mkdir(parents=True, exist_ok=True)
    log = work / "terraform.log"
    emulator = start_emulator(log_path=work / "emulator.log", trace_path=work / "emulator-trace.log")
    try:
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=emulator.url)

        zone = client("route53").create_hosted_zone(Name=ZONE, CallerReference="edge-test")["HostedZone"]
        zone_id = zone["Id"].split("/")[-1]
        config = prod_config(work / "config", zone_id)
        settings = load_environment("prod", config)
        result = synthesize(work / "cdktf.out", env={CONFIG_DIR_VARIABLE: str(config)})
        assert result.returncode == 0, result.stderr[-3000:]
        stacks = work / "cdktf.out" / "stacks"
        # Released (any digest: the emulator runs no containers), so the service and its
        # deployment alarms exist too.
        env = cli_environment(work, {**emulator.env(), **released_image()})

        def tf(where: Path, *args: str):
            done = terraform(where, env, *args, log=log)
            assert done.returncode == 0, f"terraform {' '.join(args)} in {where.name}:\n{done.stderr[-4000:]}"
            return done

        prod = bootstrap_and_apply(stacks, settings.stack_name, env, log, backend_args=emulator.s3_backend_args(),
                                   apply_args=("-parallelism=20",))
        outputs = {k: v["value"] for k, v in json.loads(tf(prod, "output", "-json").stdout).items()}
        second_plan = terraform(prod, env, "plan", "-input=false", "-detailed-exitcode", log=log)
        return EdgeDeployment(settings, client, outputs, second_plan)
    except BaseException:
        emulator.stop()
        raise
    finally:
        _emulators.append(emulator)


_emulators: list = []


@pytest.fixture(scope="module")
def edge(tmp_path_factory) -> EdgeDeployment:
    try:
        yield deploy(tmp_path_factory.mktemp("edge"))
    finally:
        for emulator in _emulators:
            emulator.stop()


def the_load_balancer(edge: EdgeDeployment) -> dict:
    (balancer,) = edge.client("elbv2").describe_load_balancers(Names=[edge.settings.names.load_balancer])["LoadBalancers"]
    return balancer


def test_application_url_is_https_on_the_domain(edge):
    assert edge.outputs["application_url"] == f"https://{DOMAIN}"


def test_second_plan_is_clean(edge):
    changes = [line.strip() for line in edge.second_plan.stdout.splitlines() if line.strip().startswith("# ")]
    assert edge.second_plan.returncode == 0, changes or edge.second_plan.stderr[-3000:]


def test_listener_443_serves_the_issued_certificate_and_80_redirects(edge):
    elb = edge.client("elbv2")
    listeners = {l["Port"]: l for l in elb.describe_listeners(LoadBalancerArn=the_load_balancer(edge)["LoadBalancerArn"])["Listeners"]}
    assert sorted(listeners) == [80, 443]
    https = listeners[443]
    assert https["Protocol"] == "HTTPS" and https["SslPolicy"] == TLS_POLICY
    (certificate,) = https["Certificates"]
    described = edge.client("acm").describe_certificate(CertificateArn=certificate["CertificateArn"])["Certificate"]
    assert described["DomainName"] == DOMAIN and described["Status"] == "ISSUED"
    assert described["DomainValidationOptions"][0]["ValidationMethod"] == "DNS"
    assert https["DefaultActions"][0]["Type"] == "forward"
    (redirect,) = listeners[80]["DefaultActions"]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS" and redirect["RedirectConfig"]["Port"] == "443"
    assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"


def test_dns_name_points_at_the_load_balancer_and_validation_record_exists(edge):
    route53 = edge.client("route53")
    zone_id = edge.settings.load_balancer.hosted_zone_id
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    (alias,) = [r for r in records if r["Name"] == f"{DOMAIN}." and r["Type"] == "A"]
    assert alias["AliasTarget"]["DNSName"].rstrip(".").lower() == the_load_balancer(edge)["DNSName"].lower()
    assert any(r["Type"] == "CNAME" and r["Name"].endswith(f".{DOMAIN}.") for r in records)


def test_web_acl_is_associated_with_the_load_balancer_and_logs_redacted(edge):
    waf = edge.client("wafv2")
    acl = waf.get_web_acl_for_resource(ResourceArn=the_load_balancer(edge)["LoadBalancerArn"])["WebACL"]
    assert acl["Name"] == edge.settings.names.web_acl == edge.outputs["web_acl_name"]
    groups = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Rules"]
              if "ManagedRuleGroupStatement" in r["Statement"]}
    assert groups == set(MANAGED_RULE_GROUPS) >= {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                                                   "AWSManagedRulesAmazonIpReputationList"}
    (rate,) = [r["Statement"]["RateBasedStatement"] for r in acl["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate["AggregateKeyType"] == "IP" and rate["Limit"] == edge.settings.waf.rate_limit_per_5_minutes
    logging = waf.get_logging_configuration(ResourceArn=acl["ARN"])["LoggingConfiguration"]
    (destination,) = logging["LogDestinationConfigs"]
    assert destination.endswith(f":log-group:{edge.settings.names.waf_log_group}")
    assert {"SingleHeader": {"Name": "cookie"}} in logging["RedactedFields"]
    (group,) = edge.client("logs").describe_log_groups(logGroupNamePrefix=edge.settings.names.waf_log_group)["logGroups"]
    assert group.get("kmsKeyId", "").startswith("arn:aws:kms:")


if __name__ == "__main__":
    deployment = deploy(Path(sys.argv[1]).resolve())
    print(json.dumps(deployment.outputs, indent=1), deployment.second_plan.returncode)
    print(deployment.second_plan.stdout[-5000:])
    for handle in _emulators:
        handle.stop()


def test_service_runs_private_with_deployment_alarms_and_endpoints(edge):
    """Production's whole workload applied: the released service rolls back on the alarms a bad
    release trips, and reaches AWS APIs through interface endpoints (no 0.0.0.0/0 egress)."""
    names = edge.settings.names
    (service,) = edge.client("ecs").describe_services(cluster=names.ecs_cluster, services=[names.ecs_service])["services"]
    alarms = service["deploymentConfiguration"]["alarms"]
    assert alarms["enable"] and alarms["rollback"] and alarms["alarmNames"]
    found = edge.client("cloudwatch").describe_alarms(AlarmNames=alarms["alarmNames"])["MetricAlarms"]
    assert {a["AlarmName"] for a in found} == set(alarms["alarmNames"])
    endpoints = edge.client("ec2").describe_vpc_endpoints()["VpcEndpoints"]
    kinds = {e["ServiceName"].rsplit(".", 1)[-1]: e["VpcEndpointType"] for e in endpoints}
    assert kinds.get("s3") == "Gateway"
    # No STS endpoint: nothing in the task calls STS without service.trusted_caller_arns.
    assert {k for k, t in kinds.items() if t == "Interface"} == {"logs", "ssm", "api", "dkr"}
    # Endpoint policies reach AWS as written (this account only; S3: ECR layers and own buckets).
    policies = {e["ServiceName"].rsplit(".", 1)[-1]: e.get("PolicyDocument", "") for e in endpoints}
    assert "starport-layer-bucket" in policies["s3"] and all("aws:PrincipalAccount" in p for p in policies.values())
    # prod has no NAT gateway: the endpoints are the only way out of the private subnets.
    assert not [n for n in edge.client("ec2").describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"]
