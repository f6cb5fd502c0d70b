"""LoadBalancer: HTTPS only with a certificate (given, or created for the domain name through
Route 53), no port opened that nothing listens on."""

from __future__ import annotations

import pytest
from cdktf import Testing
from cdktf_cdktf_provider_aws.lb import Lb
from cdktf_cdktf_provider_aws.lb_listener import LbListener
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup

from stacks.load_balancer import TLS_POLICY
from tests.infra.conftest import ENVIRONMENTS
from tests.infra.workload.conftest import CERTIFICATE_ARN, as_text, container, only, resources


def listener_ports(stack: dict) -> dict[int, dict]:
    return {listener["port"]: listener for listener in resources(stack, LbListener.TF_RESOURCE_TYPE).values()}


def alb_ingress_ports(stack: dict) -> list[int]:
    groups = {f"${{aws_security_group.{k}.id}}": g["name"] for k, g in resources(stack, "aws_security_group").items()}
    return sorted(r["from_port"] for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
                  if groups[r["security_group_id"]].endswith("-alb"))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alb_is_public_and_drops_invalid_headers(env_stacks, env):
    stack = env_stacks[env]
    assert Testing.to_have_resource_with_properties(as_text(stack), Lb.TF_RESOURCE_TYPE, {
        "name": f"session-app-{env}-alb", "internal": False, "load_balancer_type": "application",
        "drop_invalid_header_fields": True})
    public = {f"${{aws_subnet.{k}.id}}" for k, s in resources(stack, "aws_subnet").items() if s["tags"]["Tier"] == "public"}
    assert set(only(stack, Lb.TF_RESOURCE_TYPE)["subnets"]) == public


@pytest.mark.parametrize(("env", "protected", "logged"), [("dev", False, False), ("staging", False, False),
                                                          ("prod", True, True)])
def test_deletion_protection_and_access_logs_by_setting(env_stacks, env, protected, logged):
    stack = env_stacks[env]
    balancer = only(stack, Lb.TF_RESOURCE_TYPE)
    assert balancer["enable_deletion_protection"] is protected
    assert ("access_logs" in balancer) is logged
    if logged:
        assert balancer["access_logs"]["enabled"] is True
        bucket = balancer_only(stack, "aws_s3_bucket")
        assert bucket["bucket"] == "session-app-prod-alb-logs-${data.aws_caller_identity.account.account_id}"
        encryption = balancer_only(stack, "aws_s3_bucket_server_side_encryption_configuration")
        assert encryption["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
        policy = balancer_only(stack, "aws_s3_bucket_policy")["policy"]
        assert "data.aws_elb_service_account" in policy and "aws:SecureTransport" in policy
        assert '"Service" = "logdelivery.elasticloadbalancing.amazonaws.com"' in policy
        assert any(d.startswith("aws_s3_bucket_policy.") for d in balancer["depends_on"])
    else:
        assert not [k for k in resources(stack, "aws_s3_bucket") if k.startswith("load-balancer")]


def balancer_only(stack: dict, kind: str) -> dict:
    """The one resource of `kind` the load balancer construct owns (prod has a flow-log bucket too)."""
    (value,) = [v for k, v in resources(stack, kind).items() if k.startswith("load-balancer")]
    return value


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_target_group_ip_8080_seed_health_check_no_stickiness(env_stacks, env):
    assert Testing.to_have_resource_with_properties(as_text(env_stacks[env]), LbTargetGroup.TF_RESOURCE_TYPE, {
        "name": f"session-app-{env}-tg", "target_type": "ip", "port": 8080, "protocol": "HTTP",
        "deregistration_delay": "30",
        "health_check": {"path": "/healthz", "interval": 30, "timeout": 5, "healthy_threshold": 2,
                         "unhealthy_threshold": 3, "matcher": "200"},
        "stickiness": {"enabled": False}})


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_without_certificate_http_only_and_443_closed(env_stacks, env):
    stack = env_stacks[env]
    listeners = listener_ports(stack)
    assert list(listeners) == [80]
    assert listeners[80]["protocol"] == "HTTP" and listeners[80]["default_action"][0]["type"] == "forward"
    assert alb_ingress_ports(stack) == [80]


def test_with_certificate_https_tls13_and_http_redirects(https_stack):
    listeners = listener_ports(https_stack)
    assert sorted(listeners) == [80, 443]
    https = listeners[443]
    assert https["protocol"] == "HTTPS" and https["ssl_policy"] == TLS_POLICY and "TLS13" in TLS_POLICY
    assert https["certificate_arn"] == CERTIFICATE_ARN and https["default_action"][0]["type"] == "forward"
    redirect = listeners[80]["default_action"][0]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}
    assert alb_ingress_ports(https_stack) == [80, 443]
    outputs = https_stack["output"]
    assert outputs["application_url"]["value"].startswith("https://")
    # A given certificate is used as it is: nothing to request or validate.
    assert not resources(https_stack, "aws_acm_certificate")
    assert not resources(https_stack, "aws_acm_certificate_validation")


def test_prod_creates_a_dns_validated_certificate_for_its_domain(env_stacks):
    stack = env_stacks["prod"]
    certificate_key, certificate = next(iter(resources(stack, "aws_acm_certificate").items()))
    assert certificate["domain_name"] == "session.example.com" and certificate["validation_method"] == "DNS"
    assert certificate["lifecycle"] == {"create_before_destroy": True}
    records = resources(stack, "aws_route53_record")
    (validation_key,) = [k for k, r in records.items() if "for_each" in r]
    validation = records[validation_key]
    assert validation["for_each"] == (f"${{{{ for key, val in tolist(aws_acm_certificate.{certificate_key}"
                                      ".domain_validation_options): val.domain_name => val }}")
    assert validation["zone_id"] == "Z0EXAMPLEREPLACEME"
    assert (validation["name"], validation["type"], validation["records"]) == (
        "${each.value.resource_record_name}", "${each.value.resource_record_type}", ["${each.value.resource_record_value}"])
    validated_key, validated = next(iter(resources(stack, "aws_acm_certificate_validation").items()))
    assert validated["certificate_arn"] == f"${{aws_acm_certificate.{certificate_key}.arn}}"
    assert validated["validation_record_fqdns"] == f"${{[ for key, val in aws_route53_record.{validation_key}: val.fqdn]}}"
    # The listener takes the certificate from the validation: it waits until ACM has issued it.
    https = listener_ports(stack)[443]
    assert https["certificate_arn"] == f"${{aws_acm_certificate_validation.{validated_key}.certificate_arn}}"
    assert https["ssl_policy"] == TLS_POLICY
    assert listener_ports(stack)[80]["default_action"][0]["type"] == "redirect"
    assert alb_ingress_ports(stack) == [80, 443]


def test_prod_points_its_domain_at_the_load_balancer(env_stacks):
    stack = env_stacks["prod"]
    (alias,) = [r for r in resources(stack, "aws_route53_record").values() if "alias" in r]
    balancer = next(iter(resources(stack, Lb.TF_RESOURCE_TYPE)))
    assert (alias["name"], alias["type"], alias["zone_id"]) == ("session.example.com", "A", "Z0EXAMPLEREPLACEME")
    assert alias["alias"] == {"name": f"${{aws_lb.{balancer}.dns_name}}", "zone_id": f"${{aws_lb.{balancer}.zone_id}}",
                              "evaluate_target_health": True}
    assert stack["output"]["application_url"]["value"] == "https://session.example.com"


@pytest.mark.parametrize(("env", "https"), [("dev", "false"), ("staging", "false"), ("prod", "true")])
def test_service_is_told_when_the_listener_is_https(env_stacks, env, https):
    environment = {e["name"]: e["value"] for e in container(env_stacks[env])["environment"]}
    assert environment["SESSION_REQUIRE_HTTPS"] == https


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alb_listener_ingress_comes_from_the_allowed_cidrs_variable(env_stacks, env):
    stack = env_stacks[env]
    for rule in resources(stack, "aws_vpc_security_group_ingress_rule").values():
        if "cidr_ipv4" in rule:
            assert rule["for_each"] == "${toset(var.allowed_ingress_cidrs)}"
            assert rule["cidr_ipv4"] == "${each.value}"
    assert stack["variable"]["allowed_ingress_cidrs"]["default"] == ["0.0.0.0/0"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alb_sends_only_to_the_service_port(env_stacks, env):
    stack = env_stacks[env]
    groups = {f"${{aws_security_group.{k}.id}}": g["name"] for k, g in resources(stack, "aws_security_group").items()}
    egress = [(r["from_port"], groups[r["referenced_security_group_id"]])
              for r in resources(stack, "aws_vpc_security_group_egress_rule").values()
              if groups[r["security_group_id"]] == f"session-app-{env}-alb"]
    assert egress == [(8080, f"session-app-{env}-service")]


def test_regions_without_an_elb_account_deliver_access_logs_as_the_service_principal():
    """Regions opened from August 2022 have no ELB account (the data source would fail there):
    only the logdelivery.elasticloadbalancing.amazonaws.com principal is admitted."""
    import json
    from dataclasses import replace

    from cdktf import Testing

    from stacks.config_loader import load_environment
    from stacks.environment_stack import EnvironmentStack
    from stacks.validation import validate

    prod = load_environment("prod")
    mexico = replace(prod, region="mx-central-1", network=replace(
        prod.network, availability_zones=("mx-central-1a", "mx-central-1b", "mx-central-1c")))
    validate(mexico)
    stack = json.loads(Testing.synth(EnvironmentStack(Testing.app(), mexico)))
    assert "aws_elb_service_account" not in stack.get("data", {})
    policy = balancer_only(stack, "aws_s3_bucket_policy")["policy"]
    assert '"Service" = "logdelivery.elasticloadbalancing.amazonaws.com"' in policy and "LoadBalancerLogDeliveryAccount" not in policy
