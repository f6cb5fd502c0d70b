"""Private egress: the S3 gateway endpoint everywhere, interface endpoints by setting (on in
prod) and, with them, task egress narrowed to the endpoints and the S3 prefix list."""

from __future__ import annotations

import pytest
from cdktf import Testing
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint

from stacks.endpoints import INTERFACE_SERVICES
from tests.infra.conftest import ENVIRONMENTS
from tests.infra.workload.conftest import as_text, container, resources, synth_with

TRUSTED = ("arn:aws:iam::210987654321:role/checkout",)


def endpoints(stack: dict) -> dict[str, dict]:
    return {e["service_name"]: e for e in resources(stack, VpcEndpoint.TF_RESOURCE_TYPE).values()}


def service_egress(stack: dict, env: str) -> list[tuple]:
    groups = {f"${{aws_security_group.{key}.id}}": g["name"] for key, g in resources(stack, "aws_security_group").items()}
    return sorted((r["from_port"], groups.get(r.get("referenced_security_group_id"))
                   or r.get("cidr_ipv4") or f"prefix list {r.get('prefix_list_id')}")
                  for r in resources(stack, "aws_vpc_security_group_egress_rule").values()
                  if groups.get(r["security_group_id"]) == f"session-app-{env}-service")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_s3_gateway_endpoint_serves_every_private_route_table(env_stacks, env):
    stack = env_stacks[env]
    assert Testing.to_have_resource_with_properties(as_text(stack), VpcEndpoint.TF_RESOURCE_TYPE, {
        "service_name": "com.amazonaws.us-east-1.s3", "vpc_endpoint_type": "Gateway"})
    gateway = endpoints(stack)["com.amazonaws.us-east-1.s3"]
    private_tables = {f"${{aws_route_table.{k}.id}}" for k, t in resources(stack, "aws_route_table").items()
                      if "private" in t["tags"]["Name"]}
    assert set(gateway["route_table_ids"]) == private_tables and len(private_tables) == (3 if env == "prod" else 2)


def test_prod_reaches_aws_apis_through_interface_endpoints_only(env_stacks):
    stack = env_stacks["prod"]
    found = endpoints(stack)
    groups = {f"${{aws_security_group.{k}.id}}": g["name"] for k, g in resources(stack, "aws_security_group").items()}
    private = {f"${{aws_subnet.{k}.id}}" for k, s in resources(stack, "aws_subnet").items() if s["tags"]["Tier"] == "private"}
    for suffix in INTERFACE_SERVICES.values():
        endpoint = found[f"com.amazonaws.us-east-1.{suffix}"]
        assert endpoint["vpc_endpoint_type"] == "Interface" and endpoint["private_dns_enabled"] is True
        assert set(endpoint["subnet_ids"]) == private
        assert [groups[g] for g in endpoint["security_group_ids"]] == ["session-app-prod-endpoints"]
    # The endpoints admit HTTPS from the service only.
    ingress = [(r["from_port"], groups.get(r.get("referenced_security_group_id"), r.get("cidr_ipv4")))
               for r in resources(stack, "aws_vpc_security_group_ingress_rule").values()
               if groups.get(r["security_group_id"]) == "session-app-prod-endpoints"]
    assert ingress == [(443, "session-app-prod-service")]
    # No 0.0.0.0/0: HTTPS to the endpoints and to S3's prefix list, the store on 6379.
    gateway_key = next(k for k, e in resources(stack, VpcEndpoint.TF_RESOURCE_TYPE).items()
                       if e["vpc_endpoint_type"] == "Gateway")
    assert service_egress(stack, "prod") == [
        (443, f"prefix list ${{aws_vpc_endpoint.{gateway_key}.prefix_list_id}}"), (443, "session-app-prod-endpoints"),
        (6379, "session-app-prod-store")]


@pytest.mark.parametrize("env", ("dev", "staging"))
def test_without_interface_endpoints_tasks_reach_aws_through_nat(env_stacks, env):
    stack = env_stacks[env]
    assert set(endpoints(stack)) == {"com.amazonaws.us-east-1.s3"}
    assert service_egress(stack, env) == [(443, "0.0.0.0/0"), (6379, f"session-app-{env}-store")]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_s3_gateway_endpoint_reaches_only_ecr_layers_and_this_environments_buckets(env_stacks, env):
    """AWS's default endpoint policy allows every bucket of every account: a compromised task
    could PutObject anywhere through the S3 prefix list. This policy is the allow list."""
    policy = endpoints(env_stacks[env])["com.amazonaws.us-east-1.s3"]["policy"]
    resources_named = sorted(set(__import__("re").findall(r'"(arn:\$\{[^"]*|arn:aws[^"]*)"', policy)))
    assert resources_named == sorted([
        "arn:${data.aws_partition.partition.partition}:s3:::prod-us-east-1-starport-layer-bucket/*",
        f"arn:${{data.aws_partition.partition.partition}}:s3:::session-app-{env}-*",
        f"arn:${{data.aws_partition.partition.partition}}:s3:::session-app-{env}-*/*"]), policy
    assert '"Sid" = "EcrImageLayers"' in policy and '"Action" = ["s3:GetObject"]' in policy
    # Only principals of this account, and the environment's buckets only in this account.
    assert policy.count('"aws:PrincipalAccount" = data.aws_caller_identity.account.account_id') == 2
    assert policy.count('"aws:ResourceAccount" = data.aws_caller_identity.account.account_id') == 1
    assert '"Effect" = "Deny"' not in policy and policy.count('"Effect" = "Allow"') == 2


def test_interface_endpoints_serve_only_this_account(env_stacks):
    found = endpoints(env_stacks["prod"])
    for suffix in INTERFACE_SERVICES.values():
        policy = found[f"com.amazonaws.us-east-1.{suffix}"]["policy"]
        assert '"aws:PrincipalAccount" = data.aws_caller_identity.account.account_id' in policy, suffix
        assert '"StringEqualsIfExists"' in policy and '"aws:ResourceAccount"' in policy, suffix


def test_prod_has_no_nat_and_no_route_out_of_the_private_subnets(env_stacks):
    stack = env_stacks["prod"]
    assert not resources(stack, "aws_nat_gateway") and not resources(stack, "aws_eip")
    private_tables = {f"${{aws_route_table.{k}.id}}" for k, t in resources(stack, "aws_route_table").items()
                      if "private" in t["tags"]["Name"]}
    assert len(private_tables) == 3
    assert not [r for r in resources(stack, "aws_route").values() if r["route_table_id"] in private_tables]


def test_no_sts_endpoint_unless_the_service_calls_sts(env_stacks):
    """MemoryDB IAM tokens are signed locally and task credentials come from the ECS agent:
    without trusted callers nothing in the task calls STS, so no endpoint (about $22 a month)."""
    assert "com.amazonaws.us-east-1.sts" not in endpoints(env_stacks["prod"])
    assert "SESSION_TRUSTED_CALLER_ARNS" not in as_text(env_stacks["prod"])


def test_trusted_callers_bring_the_sts_endpoint_limited_to_get_caller_identity():
    stack = synth_with("prod", service={"trusted_caller_arns": TRUSTED, "app_plane_port": 8081,
                                        "app_plane_source_security_groups": ["sg-0123456789abcdef0"]})
    sts = endpoints(stack)["com.amazonaws.us-east-1.sts"]
    assert sts["vpc_endpoint_type"] == "Interface" and sts["private_dns_enabled"] is True
    # A forwarded caller signs its own request and may be of another account: one action, any principal.
    assert '"Action" = ["sts:GetCallerIdentity"]' in sts["policy"] and "PrincipalAccount" not in sts["policy"]
    environment = {e["name"]: e["value"] for e in container(stack)["environment"]}
    assert environment["SESSION_TRUSTED_CALLER_ARNS"] == TRUSTED[0]
