"""Foundation stacks: backend, provider, state bucket and network, with cdktf Testing."""

from __future__ import annotations

import json

import pytest
from cdktf import Testing
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc

from tests.infra.conftest import ENVIRONMENTS


def resources(stack: dict, kind: str) -> dict[str, dict]:
    return stack.get("resource", {}).get(kind, {})


def as_text(stack: dict) -> str:
    return json.dumps(stack)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_state_lives_in_s3_with_native_locking(synthesized, env):
    backend = synthesized[f"session-{env}"]["terraform"]["backend"]
    assert backend == {"s3": {
        "bucket": "session-app-terraform-state",
        "key": f"session-management/{env}/terraform.tfstate",
        "region": "us-east-1",
        "encrypt": True,
        "use_lockfile": True,
    }}


def test_bootstrap_keeps_its_own_state_locally(synthesized):
    """Relative to the stack's folder (<outdir>/stacks/session-bootstrap/), it lands next to the
    output folder: outside cdktf.out, which `make synth` deletes (tests/ops/test_bootstrap_state.py)."""
    assert synthesized["session-bootstrap"]["terraform"]["backend"] == {
        "local": {"path": "../../../terraform.session-bootstrap.tfstate"}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_provider_tags_everything_and_pins_region(synthesized, env):
    (provider,) = synthesized[f"session-{env}"]["provider"]["aws"]
    assert provider["region"] == "us-east-1"
    assert provider["default_tags"] == [{"tags": {"Project": "session-app", "Environment": env, "ManagedBy": "cdktf"}}]
    assert synthesized[f"session-{env}"]["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"


def test_state_bucket_is_private_versioned_encrypted_and_tls_only(synthesized):
    stack = synthesized["session-bootstrap"]
    text = as_text(stack)
    assert Testing.to_have_resource_with_properties(text, S3BucketVersioningA.TF_RESOURCE_TYPE, {
        "versioning_configuration": {"status": "Enabled"}})
    assert Testing.to_have_resource_with_properties(text, S3BucketPublicAccessBlock.TF_RESOURCE_TYPE, {
        "block_public_acls": True, "block_public_policy": True, "ignore_public_acls": True,
        "restrict_public_buckets": True})
    (encryption,) = resources(stack, "aws_s3_bucket_server_side_encryption_configuration").values()
    assert encryption["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    (policy,) = resources(stack, "aws_s3_bucket_policy").values()
    assert "aws:SecureTransport" in policy["policy"] and '"Effect"="Deny"' in policy["policy"].replace(" ", "")
    (lifecycle,) = resources(stack, "aws_s3_bucket_lifecycle_configuration").values()
    assert lifecycle["rule"][0]["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]
    (bucket,) = resources(stack, "aws_s3_bucket").values()
    assert bucket["bucket"] == "session-app-terraform-state" and bucket["force_destroy"] is False


@pytest.mark.parametrize(("env", "azs", "nat_gateways"), [("dev", 2, 1), ("staging", 2, 1), ("prod", 3, 0)])
def test_network_shape(synthesized, env, azs, nat_gateways):
    stack = synthesized[f"session-{env}"]
    text = as_text(stack)
    assert Testing.to_have_resource_with_properties(text, Vpc.TF_RESOURCE_TYPE, {
        "cidr_block": "10.0.0.0/16", "enable_dns_hostnames": True, "enable_dns_support": True})
    subnets = resources(stack, Subnet.TF_RESOURCE_TYPE).values()
    assert sorted(s["cidr_block"] for s in subnets if s["tags"]["Tier"] == "public")[:2] == ["10.0.1.0/24", "10.0.2.0/24"]
    assert sorted(s["cidr_block"] for s in subnets if s["tags"]["Tier"] == "private")[:2] == ["10.0.3.0/24", "10.0.4.0/24"]
    assert len(subnets) == 2 * azs
    assert not any(s["map_public_ip_on_launch"] for s in subnets)
    assert len(resources(stack, NatGateway.TF_RESOURCE_TYPE)) == nat_gateways
    assert len(resources(stack, "aws_eip")) == nat_gateways
    routes = resources(stack, "aws_route").values()
    # Every private subnet reaches out through a NAT, except with none (prod: VPC endpoints only).
    assert sum("nat_gateway_id" in r for r in routes) == (azs if nat_gateways else 0)
    assert sum("gateway_id" in r for r in routes) == 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_security_group_has_no_rules(synthesized, env):
    assert Testing.to_have_resource_with_properties(as_text(synthesized[f"session-{env}"]),
                                                    DefaultSecurityGroup.TF_RESOURCE_TYPE, {"ingress": [], "egress": []})


@pytest.mark.parametrize("env", ("dev", "staging"))
def test_flow_log_role_has_every_permission_aws_lists(synthesized, env):
    """VPC user guide, IAM role for flow logs: CreateLogGroup is not needed (the group exists),
    CreateLogStream, PutLogEvents, DescribeLogGroups and DescribeLogStreams are."""
    (policy,) = [p for p in resources(synthesized[f"session-{env}"], "aws_iam_role_policy").values()
                 if p["name"] == "write-flow-logs"]
    for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"):
        assert f'"{action}"' in policy["policy"], action


@pytest.mark.parametrize("env", ("dev", "staging"))
def test_flow_logs_go_to_an_encrypted_log_group_with_retention(synthesized, env):
    stack = synthesized[f"session-{env}"]
    assert Testing.to_have_resource_with_properties(as_text(stack), FlowLog.TF_RESOURCE_TYPE, {
        "traffic_type": "ALL", "log_destination_type": "cloud-watch-logs"})
    group = next(g for g in resources(stack, "aws_cloudwatch_log_group").values() if "flow-logs" in g["name"])
    assert group["retention_in_days"] in (7, 30, 365) and group["kms_key_id"].startswith("${aws_kms_key.")


def test_prod_flow_logs_go_to_an_encrypted_bucket_that_expires_them(synthesized):
    stack = synthesized["session-prod"]
    (flow,) = resources(stack, FlowLog.TF_RESOURCE_TYPE).values()
    assert flow["log_destination_type"] == "s3" and "iam_role_arn" not in flow
    (key, bucket), = [(k, b) for k, b in resources(stack, "aws_s3_bucket").items() if "flow-logs" in b["bucket"]]
    assert flow["log_destination"] == f"${{aws_s3_bucket.{key}.arn}}"
    assert bucket["bucket"] == "session-app-prod-flow-logs-${data.aws_caller_identity.account.account_id}"
    (lifecycle,) = [c for c in resources(stack, "aws_s3_bucket_lifecycle_configuration").values()
                    if c["bucket"] == f"${{aws_s3_bucket.{key}.id}}"]
    assert lifecycle["rule"][0]["expiration"] == [{"days": 365}]
    (encryption,) = [c for c in resources(stack, "aws_s3_bucket_server_side_encryption_configuration").values()
                     if c["bucket"] == f"${{aws_s3_bucket.{key}.id}}"]
    assert encryption["rule"][0]["apply_server_side_encryption_by_default"]["kms_master_key_id"].startswith("${aws_kms_key.")
    (policy,) = [p["policy"] for p in resources(stack, "aws_s3_bucket_policy").values()
                 if p["bucket"] == f"${{aws_s3_bucket.{key}.id}}"]
    assert "delivery.logs.amazonaws.com" in policy and "AWSLogs/" in policy and "aws:SourceAccount" in policy
    # Vended-log delivery to an SSE-KMS bucket needs the key: prod's key policy admits it, dev's does not.
    assert "delivery.logs.amazonaws.com" in only_key_policy(stack)
    assert "delivery.logs.amazonaws.com" not in only_key_policy(synthesized["session-dev"])


def only_key_policy(stack: dict) -> str:
    (key,) = resources(stack, "aws_kms_key").values()
    return key["policy"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_policy_grants_each_service_for_one_rule(synthesized, env):
    """CloudWatch alarms may use the key (to publish to the encrypted alarm topic), only for this
    account's alarms of this environment; no grant for EventBridge or MemoryDB (its topic is unencrypted)."""
    policy = only_key_policy(synthesized[f"session-{env}"])
    assert "cloudwatch.amazonaws.com" in policy and f":alarm:session-app-{env}-*" in policy
    assert "events.amazonaws.com" not in policy and "memorydb.amazonaws.com" not in policy


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_kms_key_rotates(synthesized, env):
    (key,) = resources(synthesized[f"session-{env}"], "aws_kms_key").values()
    assert key["enable_key_rotation"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_operator_variables_default_to_the_environment_settings(synthesized, env):
    from stacks.config_loader import load_environment

    settings = load_environment(env)
    variables = synthesized[f"session-{env}"]["variable"]
    expected = {
        "cluster_name": settings.name_prefix,
        "memorydb_node_type": settings.session_store.node_type,
        "memorydb_num_shards": settings.session_store.num_shards,
        "ecs_task_cpu": settings.service.task_cpu,
        "ecs_task_memory": settings.service.task_memory,
        "min_capacity": settings.service.min_capacity,
        "max_capacity": settings.service.max_capacity,
    }
    for name, default in expected.items():
        assert variables[name]["default"] == default, name
        assert variables[name]["validation"], f"{name} has no validation block"
    assert "environment" not in variables  # the stack fixes the environment


def test_network_construct_alone():
    """The Network construct in a bare stack: the seed's CIDRs, one NAT gateway by default."""
    from cdktf import TerraformStack

    from stacks.network import Network, NetworkProps
    from stacks.provider import aws_provider
    from stacks.settings import NetworkSettings

    stack = TerraformStack(Testing.app(), "network-only")
    aws_provider(stack, "us-east-1", "test", "session-app")
    Network(stack, "network", NetworkProps(name_prefix="session-app-test", settings=NetworkSettings(),
                                           flow_logs_role_name="flow", account_id="123456789012",
                                           kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/x"))
    synthesized = Testing.synth(stack)
    assert Testing.to_have_resource(synthesized, NatGateway.TF_RESOURCE_TYPE)
    assert Testing.to_have_resource_with_properties(synthesized, Subnet.TF_RESOURCE_TYPE, {
        "cidr_block": "10.0.4.0/24", "availability_zone": "us-east-1b"})
    assert len(json.loads(synthesized)["resource"][NatGateway.TF_RESOURCE_TYPE]) == 1
