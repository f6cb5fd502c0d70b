"""Private egress: the S3 gateway endpoint everywhere, interface endpoints by setting (on in
prod) and, with them, task egress narrowed to the endpoints and the S3 prefix list."""

from __future__ import annotations

import pytest
from cdktf import Testing
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint

from stacks.endpoints import INTERFACE_SERVICES
from tests.infra.conftest import ENVIRONMENTS
from tests.infra.workload.conftest import as_text, resources


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
