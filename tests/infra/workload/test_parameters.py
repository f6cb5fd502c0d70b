"""Parameters: the service's configuration, per environment, encrypted, and wired into the task."""

from __future__ import annotations

import pytest
from cdktf import Testing
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter

from stacks.contract import PARAMETERS as CONTRACT
from tests.infra.conftest import ENVIRONMENTS
from tests.infra.workload.conftest import as_text, container, resources

PLAIN = {"SESSION_ENVIRONMENT", "SESSION_HTTP_PORT", "SESSION_MAX_PAYLOAD_BYTES", "AWS_REGION", "SESSION_SERVED_BY_HEADER",
         "SESSION_REQUIRE_HTTPS",
         "SESSION_REQUEST_LOG_SAMPLE_RATE", "SESSION_SLOW_REQUEST_MS",
         "SESSION_CONFIG_DIGEST"}


def parameter_names(stack: dict) -> set[str]:
    return {p["name"] for p in resources(stack, SsmParameter.TF_RESOURCE_TYPE).values()}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_parameter_lives_under_the_environment_prefix(env_stacks, env):
    names = parameter_names(env_stacks[env])
    assert names == {f"/session-app/{env}/{key}" for key in CONTRACT}


def test_parameter_names_never_collide_across_environments(env_stacks):
    all_names = [name for env in ENVIRONMENTS for name in parameter_names(env_stacks[env])]
    assert len(all_names) == len(set(all_names)) == len(ENVIRONMENTS) * len(CONTRACT)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_parameters_are_securestrings_under_the_environment_key(env_stacks, env):
    for parameter in resources(env_stacks[env], SsmParameter.TF_RESOURCE_TYPE).values():
        assert parameter["type"] == "SecureString"
        assert parameter["key_id"].startswith("${aws_kms_key."), parameter["name"]


@pytest.mark.parametrize(("key", "value"), [
    ("memorydb/tls", "true"), ("memorydb/auth-mode", "iam"), ("config/redis-db", "0"), ("memorydb/port", "6379"),
    ("config/session-timeout", "${var.session_timeout_seconds}"), ("config/session-absolute-lifetime", "43200"),
])
def test_parameter_values(env_stacks, key, value):
    assert Testing.to_have_resource_with_properties(as_text(env_stacks["dev"]), SsmParameter.TF_RESOURCE_TYPE, {
        "name": f"/session-app/dev/{key}", "value": value})


def test_endpoint_and_user_come_from_the_cluster(env_stacks):
    params = {p["name"]: p["value"] for p in resources(env_stacks["staging"], SsmParameter.TF_RESOURCE_TYPE).values()}
    assert params["/session-app/staging/memorydb/endpoint"].startswith("${aws_memorydb_cluster.")
    assert ".cluster_endpoint[0].address" in params["/session-app/staging/memorydb/endpoint"]
    assert params["/session-app/staging/memorydb/username"].startswith("${aws_memorydb_user.")
    cluster_name = params["/session-app/staging/memorydb/cluster-name"]
    assert cluster_name.startswith("${aws_memorydb_cluster.") and cluster_name.endswith(".name}")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_task_receives_exactly_the_contract(env_stacks, env):
    stack = env_stacks[env]
    definition = container(stack)
    secrets = {s["name"]: s["valueFrom"] for s in definition["secrets"]}
    assert set(secrets) == set(CONTRACT.values())
    arns = {f"${{aws_ssm_parameter.{k}.arn}}": p["name"] for k, p in resources(stack, SsmParameter.TF_RESOURCE_TYPE).items()}
    for key, variable in CONTRACT.items():
        assert arns[secrets[variable]] == f"/session-app/{env}/{key}"
    environment = {e["name"]: e["value"] for e in definition["environment"]}
    assert set(environment) == PLAIN
    assert environment["SESSION_ENVIRONMENT"] == env
    assert environment["SESSION_HTTP_PORT"] == "8080"
    assert environment["SESSION_SERVED_BY_HEADER"] == "false"
    assert environment["AWS_REGION"] == "us-east-1"
    assert environment["SESSION_REQUEST_LOG_SAMPLE_RATE"] == ("0.1" if env == "prod" else "1")
    assert environment["SESSION_SLOW_REQUEST_MS"] == "1000"
    assert not set(environment) & set(secrets)
    # The digest covers every Parameter Store value: a changed one is a new task definition revision.
    assert environment["SESSION_CONFIG_DIGEST"] == "${local.session_config_digest}"
    digest = stack["locals"]["session_config_digest"]
    assert digest.startswith("${sha256(jsonencode({")
    assert all(f'"{key}" = ' in digest for key in CONTRACT)
