"""Security properties across every environment stack: exposure, IAM, secrets, names, drift."""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

import pytest

from tests.infra.conftest import ENVIRONMENTS
from tests.infra.workload.conftest import iam_actions, resources

ANYWHERE = ("0.0.0.0/0", "::/0")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_alb_listener_ports_are_open_to_the_internet(env_stacks, env):
    """Ingress from a CIDR exists only on the ALB's group, only on listener ports, and only from
    `allowed_ingress_cidrs` (default anywhere); every other ingress references a security group."""
    stack = env_stacks[env]
    groups = {f"${{aws_security_group.{k}.id}}": g["name"] for k, g in resources(stack, "aws_security_group").items()}
    listener_ports = {listener["port"] for listener in resources(stack, "aws_lb_listener").values()}
    for rule in resources(stack, "aws_vpc_security_group_ingress_rule").values():
        if "referenced_security_group_id" in rule:
            continue
        assert groups[rule["security_group_id"]] == f"session-app-{env}-alb", rule
        assert rule["from_port"] == rule["to_port"] and rule["from_port"] in listener_ports, rule
        assert rule["cidr_ipv4"] == "${each.value}" and "allowed_ingress_cidrs" in rule["for_each"]
    for group in resources(stack, "aws_security_group").values():
        assert "ingress" not in group and "egress" not in group  # no inline rules anywhere
    for group in resources(stack, "aws_default_security_group").values():
        assert group["ingress"] == [] and group["egress"] == []


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_egress_to_anywhere_only_https(env_stacks, env):
    for rule in resources(env_stacks[env], "aws_vpc_security_group_egress_rule").values():
        if rule.get("cidr_ipv4") in ANYWHERE:
            assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (443, 443, "tcp")


def _without_filters(stack: dict) -> dict:
    """The stack without its VPC endpoint policies and key policies: an endpoint policy only
    filters what IAM already granted (tested in test_private_egress.py), and the key policy's
    kms:* to the account root only enables IAM policies (test_key_policy_delegates_to_the_account)."""
    copy = json.loads(json.dumps(stack))
    for kind, field in (("aws_vpc_endpoint", "policy"), ("aws_kms_key", "policy")):
        for body in copy.get("resource", {}).get(kind, {}).values():
            body.pop(field, None)
    return copy


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_policy_delegates_to_the_account_so_iam_decides(env_stacks, env):
    (key,) = resources(env_stacks[env], "aws_kms_key").values()
    statement = key["policy"].split('"Sid" = "EnableIamPolicies"', 1)[1].split('"Sid" = ', 1)[0]
    assert '"Action" = ["kms:*"]' in statement and ':root"' in statement and '"Resource" = "*"' in statement
    assert statement.count('"AWS" = ') == 1  # the account itself, not a wildcard principal
    # Every other statement names one AWS service principal with source conditions.
    assert key["policy"].count('"AWS" = ') == 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_wildcard_iam_actions(env_stacks, env):
    actions = iam_actions(_without_filters(env_stacks[env]))
    assert len(actions) > 10
    assert "*" not in actions
    assert not [a for a in actions if re.fullmatch(r"[a-z0-9-]+:\*", a)], "a whole service is granted"
    # Deny statements may be broad (the buckets deny every S3 action without TLS).
    assert set(iam_actions(env_stacks[env], "Deny")) <= {"s3:*"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_wildcard_resource_only_for_ecr_login_and_key_policy(env_stacks, env):
    for policy in resources(env_stacks[env], "aws_iam_role_policy").values():
        document = policy["policy"]
        for statement in re.findall(r"\{[^{}]*\"Resource\" = \"\*\"[^{}]*\}", document):
            # Both take no narrower resource: ECR login, and the flow-log role's DescribeLogGroups (AWS lists it).
            assert ('"Action" = ["ecr:GetAuthorizationToken"]' in statement
                    or '"Action" = ["logs:DescribeLogGroups"]' in statement), statement


SECRET_KEYS = re.compile(r"pass(word)?s?|secret|token|private_key|access_key", re.IGNORECASE)
SECRET_VALUES = re.compile(r"AKIA[0-9A-Z]{16}|-----BEGIN|xox[bp]-|ghp_[A-Za-z0-9]{20}")


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")
    else:
        yield path, node


@pytest.mark.parametrize("stack_name", [f"session-{env}" for env in ENVIRONMENTS] + ["session-bootstrap"])
def test_no_password_or_secret_literal_in_synthesized_json(synthesized, stack_name):
    stack = synthesized[stack_name]
    for path, value in walk(stack):
        last = path.rsplit(".", 1)[-1]
        if SECRET_KEYS.search(last) and isinstance(value, str):
            assert value.startswith("${") and value.endswith("}"), f"{path} holds a literal: {value!r}"
        if isinstance(value, str):
            assert not SECRET_VALUES.search(value), path
    text = str(stack).lower()
    assert "passwords" not in text and "password_wo" not in text and "nopass" not in text
    for parameter in resources(stack, "aws_ssm_parameter").values():
        assert "password" not in parameter["name"]
    for user in resources(stack, "aws_memorydb_user").values():
        assert user["authentication_mode"]["type"] == "iam"


LIMITS = {  # resource type -> (name attribute, AWS limit)
    "aws_lb": ("name", 32), "aws_lb_target_group": ("name", 32),
    "aws_memorydb_acl": ("name", 40), "aws_memorydb_user": ("user_name", 40),
    "aws_memorydb_subnet_group": ("name", 40), "aws_memorydb_parameter_group": ("name", 40),
    "aws_iam_role": ("name", 64), "aws_security_group": ("name", 255), "aws_ecr_repository": ("name", 256),
    "aws_ecs_cluster": ("name", 255), "aws_ecs_service": ("name", 255), "aws_ecs_task_definition": ("family", 255),
    "aws_sns_topic": ("name", 256), "aws_cloudwatch_metric_alarm": ("alarm_name", 255),
    "aws_cloudwatch_dashboard": ("dashboard_name", 255), "aws_cloudwatch_log_group": ("name", 512),
    "aws_appautoscaling_policy": ("name", 256), "aws_ssm_parameter": ("name", 1011),
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_names_within_aws_limits(env_stacks, env):
    stack = env_stacks[env]
    for kind, (attribute, limit) in LIMITS.items():
        for resource in resources(stack, kind).values():
            name = resource[attribute]
            assert "${" not in name, f"{kind}.{attribute} is not a fixed name: {name}"
            assert len(name) <= limit, f"{kind} name {name!r} is longer than {limit}"
            assert name.startswith("session-app") or name.startswith(("/ecs/session-app", "/vpc/session-app",
                                                                     "/aws/ecs/containerinsights/session-app-",
                                                                     "/session-app/",
                                                                     "aws-waf-logs-session-app")), name
    assert len(stack["variable"]["cluster_name"]["default"]) <= 40
    for bucket in resources(stack, "aws_s3_bucket").values():
        assert len(bucket["bucket"].replace("${data.aws_caller_identity.account.account_id}", "1" * 12)) <= 63
    final = resources(stack, "aws_memorydb_cluster")
    for cluster in final.values():
        assert len(cluster.get("final_snapshot_name", "")) <= 255


def test_no_random_suffixes(env_stacks):
    for stack in env_stacks.values():
        assert not resources(stack, "random_id") and not resources(stack, "random_string")
        assert "name_prefix" not in str(stack)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_desired_count_is_ignored_after_creation(env_stacks, env):
    (service,) = resources(env_stacks[env], "aws_ecs_service").values()
    assert "desired_count" in service["lifecycle"]["ignore_changes"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_outputs(env_stacks, env):
    outputs = env_stacks[env]["output"]
    assert {"application_url", "load_balancer_dns_name", "memorydb_endpoint", "parameter_prefix", "ecs_cluster_name",
            "ecs_service_name", "ecr_repository_url", "log_group_name", "dashboard_name",
            "vpc_id", "public_subnet_ids", "private_subnet_ids"} <= set(outputs)
    assert outputs["parameter_prefix"]["value"] == f"/session-app/{env}/"
    expected = "https://session.example.com" if env == "prod" else "http://${aws_lb."
    assert outputs["application_url"]["value"].startswith(expected)
    assert all(o.get("description") for o in outputs.values())
