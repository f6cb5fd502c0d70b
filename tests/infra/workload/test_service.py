"""Service: ECS Fargate cluster, repository, logs, roles, task definition and service."""

from __future__ import annotations

import pytest
from cdktf import Testing
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ecr_repository import EcrRepository
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster
from cdktf_cdktf_provider_aws.ecs_service import EcsService
from cdktf_cdktf_provider_aws.ecs_task_definition import EcsTaskDefinition

from tests.infra.conftest import ENVIRONMENTS
from tests.infra.workload.conftest import as_text, container, only, resources


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_has_container_insights_and_both_fargate_providers(env_stacks, env):
    stack = env_stacks[env]
    assert Testing.to_have_resource_with_properties(as_text(stack), EcsCluster.TF_RESOURCE_TYPE, {
        "name": f"session-app-{env}", "setting": [{"name": "containerInsights", "value": "enabled"}]})
    providers = only(stack, "aws_ecs_cluster_capacity_providers")
    assert sorted(providers["capacity_providers"]) == ["FARGATE", "FARGATE_SPOT"]


@pytest.mark.parametrize(("env", "strategy"), [
    ("dev", {"FARGATE": (20, 1), "FARGATE_SPOT": (80, 0)}),
    ("staging", {"FARGATE": (50, 1), "FARGATE_SPOT": (50, 0)}),
    ("prod", {"FARGATE": (1, 0)}),
])
def test_spot_share_follows_the_setting(env_stacks, env, strategy):
    service = only(env_stacks[env], EcsService.TF_RESOURCE_TYPE)
    got = {s["capacity_provider"]: (s["weight"], s["base"]) for s in service["capacity_provider_strategy"]}
    assert got == strategy


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_repository_is_immutable_scanned_encrypted_and_pruned(env_stacks, env):
    stack = env_stacks[env]
    assert Testing.to_have_resource_with_properties(as_text(stack), EcrRepository.TF_RESOURCE_TYPE, {
        "name": f"session-app-{env}", "image_tag_mutability": "IMMUTABLE",
        "image_scanning_configuration": {"scan_on_push": True}, "encryption_configuration": [{"encryption_type": "KMS"}]})
    assert "expire" in only(stack, "aws_ecr_lifecycle_policy")["policy"]


@pytest.mark.parametrize(("env", "force"), [("dev", True), ("staging", True), ("prod", False)])
def test_repository_can_be_destroyed_outside_production(env_stacks, env, force):
    """Without force_delete, destroy stops at RepositoryNotEmpty once an image was pushed."""
    assert only(env_stacks[env], EcrRepository.TF_RESOURCE_TYPE)["force_delete"] is force


@pytest.mark.parametrize(("env", "chosen", "deleted"), [
    ("prod", None, False), ("prod", True, True), ("dev", None, True), ("dev", False, False)])
def test_delete_images_on_destroy_setting_overrides_the_production_default(env, chosen, deleted):
    from dataclasses import replace

    from stacks.config_loader import load_environment

    settings = load_environment(env)
    settings = replace(settings, service=replace(settings.service, delete_images_on_destroy=chosen))
    assert settings.delete_images_on_destroy is deleted


@pytest.mark.parametrize(("env", "days"), [("dev", 7), ("staging", 30), ("prod", 365)])
def test_logs_go_to_the_environment_log_group_with_its_retention(env_stacks, env, days):
    stack = env_stacks[env]
    assert Testing.to_have_resource_with_properties(as_text(stack), CloudwatchLogGroup.TF_RESOURCE_TYPE, {
        "name": f"/ecs/session-app/{env}", "retention_in_days": days})
    options = container(stack)["logConfiguration"]["options"]
    assert options["awslogs-group"].startswith("${aws_cloudwatch_log_group.") and options["awslogs-region"] == "us-east-1"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_task_definition_is_sized_by_variables_on_graviton(env_stacks, env):
    stack = env_stacks[env]
    assert Testing.to_have_resource_with_properties(as_text(stack), EcsTaskDefinition.TF_RESOURCE_TYPE, {
        "cpu": "${var.ecs_task_cpu}", "memory": "${var.ecs_task_memory}", "network_mode": "awsvpc",
        "requires_compatibilities": ["FARGATE"],
        "runtime_platform": {"cpu_architecture": "ARM64", "operating_system_family": "LINUX"}})
    task = only(stack, EcsTaskDefinition.TF_RESOURCE_TYPE)
    (condition,) = task["lifecycle"]["precondition"]
    assert "var.ecs_task_cpu" in condition["condition"] and "var.ecs_task_memory" in condition["condition"]
    assert task["execution_role_arn"] != task["task_role_arn"]


def test_container_is_hardened_and_health_checked(env_stacks):
    definition = container(env_stacks["prod"])
    # Pinned by digest, never a tag: `<repository_url>@sha256:...`.
    assert definition["image"].endswith("@${local.running_image_digest}") and "repository_url" in definition["image"]
    assert definition["readonlyRootFilesystem"] is True and definition["privileged"] is False
    assert definition["user"] and not definition["user"].startswith("0") and definition["user"] != "root"
    assert definition["linuxParameters"]["capabilities"]["drop"] == ["ALL"]
    assert definition["portMappings"] == [{"name": "http", "containerPort": 8080, "protocol": "tcp"}]
    assert definition["healthCheck"]["command"] == ["CMD", "python", "-m", "app", "healthcheck"]
    assert 30 <= definition["stopTimeout"] <= 120
    assert [m["containerPath"] for m in definition["mountPoints"]] == ["/tmp"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_service_is_private_rolls_back_and_leaves_the_count_to_auto_scaling(env_stacks, env):
    stack = env_stacks[env]
    assert Testing.to_have_resource_with_properties(as_text(stack), EcsService.TF_RESOURCE_TYPE, {
        "name": f"session-app-{env}-service", "desired_count": "${var.desired_count}",
        "deployment_circuit_breaker": {"enable": True, "rollback": True},
        "network_configuration": {"assign_public_ip": False}})
    service = only(stack, EcsService.TF_RESOURCE_TYPE)
    assert service["lifecycle"]["ignore_changes"] == ["desired_count"]
    assert "var.min_capacity" in service["lifecycle"]["precondition"][0]["condition"]
    assert service["health_check_grace_period_seconds"] > 0
    private = {f"${{aws_subnet.{k}.id}}" for k, s in resources(stack, "aws_subnet").items() if s["tags"]["Tier"] == "private"}
    assert set(service["network_configuration"]["subnets"]) == private
    assert any(d.startswith("aws_lb_listener.") for d in service["depends_on"])
    (balancer,) = service["load_balancer"]
    assert balancer["container_port"] == 8080 and balancer["container_name"] == "session-app"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_service_reaches_only_the_store_and_https(env_stacks, env):
    stack = env_stacks[env]
    groups = {f"${{aws_security_group.{key}.id}}": g["name"] for key, g in resources(stack, "aws_security_group").items()}
    egress = [(r.get("from_port"), groups.get(r.get("referenced_security_group_id"), r.get("cidr_ipv4")))
              for r in resources(stack, "aws_vpc_security_group_egress_rule").values()
              if groups.get(r["security_group_id"]) == f"session-app-{env}-service"]
    https = (443, f"session-app-{env}-endpoints") if env == "prod" else (443, "0.0.0.0/0")  # test_private_egress.py
    assert https in egress and (6379, f"session-app-{env}-store") in egress
    assert len([e for e in egress if e[0] == 443]) == (2 if env == "prod" else 1)  # prod: + the S3 prefix list


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deployment_alarms_roll_back_a_bad_release(env_stacks, env):
    (service,) = resources(env_stacks[env], "aws_ecs_service").values()
    assert service["alarms"] == {"enable": True, "rollback": True, "alarm_names": [
        f"session-app-{env}-store-auth-failures", f"session-app-{env}-store-errors", f"session-app-{env}-alb-5xx-rate"]}
    alarms = {a["alarm_name"] for a in resources(env_stacks[env], "aws_cloudwatch_metric_alarm").values()}
    assert set(service["alarms"]["alarm_names"]) <= alarms


def test_roles_do_only_what_the_service_needs(env_stacks):
    policies = {p["name"]: p["policy"] for p in resources(env_stacks["dev"], "aws_iam_role_policy").values()}
    task = policies["connect-session-store"]
    assert '"memorydb:Connect"' in task and task.count('"Action"') == 1
    assert "aws_memorydb_cluster." in task and "aws_memorydb_user." in task
    execution = policies["start-session-service"]
    assert "arn:${data.aws_partition.partition.partition}:ssm:us-east-1:${data.aws_caller_identity.account.account_id}:parameter/session-app/dev/*" in execution
    assert "kms:ViaService" in execution and "aws_ecr_repository." in execution


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_container_health_check_and_stop_timeout_within_ecs_bounds(env_stacks, env):
    """RegisterTaskDefinition: interval 5-300, timeout 2-60, retries 1-10, startPeriod 0-300 s;
    Fargate's stopTimeout is at most 120 s."""
    definition = container(env_stacks[env])
    check = definition["healthCheck"]
    assert 5 <= check["interval"] <= 300 and 2 <= check["timeout"] <= 60 and check["timeout"] < check["interval"]
    assert 1 <= check["retries"] <= 10 and 0 <= check["startPeriod"] <= 300
    assert 2 <= definition["stopTimeout"] <= 120


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_nothing_runs_before_an_image_is_released(env_stacks, env):
    """The task definition, the service and its scaling exist only once an image digest is known."""
    stack = env_stacks[env]
    released = '${local.running_image_digest == "" ? 0 : 1}'
    for kind in ("aws_ecs_task_definition", "aws_ecs_service", "aws_appautoscaling_target",
                 "aws_appautoscaling_policy"):
        assert {r.get("count") for r in resources(stack, kind).values()} == {released}, kind
    assert stack["variable"]["image_digest"]["default"] == ""
    service = only(stack, "aws_ecs_service")
    assert service["task_definition"].startswith("${aws_ecs_task_definition.") and "[0].arn}" in service["task_definition"]
    # -var, else what the last release recorded in Parameter Store, else the config: every plan knows it.
    digest = stack["locals"]["running_image_digest"]
    assert digest.startswith('${var.image_digest != "" ? var.image_digest : nonsensitive(lookup(zipmap(')
    assert f'"/session-app/{env}/release/image-digest", ""))}}' in digest
    assert stack["data"]["aws_ssm_parameters_by_path"]["released-image"]["path"] == f"/session-app/{env}/release"
    # Old revisions stay registered: rollbacks (circuit breaker, DIGEST=...) need them.
    assert only(stack, "aws_ecs_task_definition")["skip_destroy"] is True
    target = only(stack, "aws_appautoscaling_target")
    assert any(d.startswith("aws_ecs_service.") for d in target["depends_on"])


@pytest.mark.parametrize(("env", "days"), [("dev", 7), ("staging", 30), ("prod", 365)])
def test_container_insights_log_group_is_managed_encrypted_and_exists_before_the_cluster(env_stacks, env, days):
    """Left to ECS, /aws/ecs/containerinsights/<cluster>/performance is unencrypted and kept forever."""
    stack = env_stacks[env]
    (key, group), = [(k, g) for k, g in resources(stack, CloudwatchLogGroup.TF_RESOURCE_TYPE).items()
                     if g["name"] == f"/aws/ecs/containerinsights/session-app-{env}/performance"]
    assert group["kms_key_id"].startswith("${aws_kms_key.") and group["retention_in_days"] == days
    assert f"aws_cloudwatch_log_group.{key}" in only(stack, EcsCluster.TF_RESOURCE_TYPE)["depends_on"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tasks_rebalance_across_availability_zones(env_stacks, env):
    assert only(env_stacks[env], EcsService.TF_RESOURCE_TYPE)["availability_zone_rebalancing"] == "ENABLED"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_production_refuses_to_destroy_the_service_and_its_scaling(env_stacks, env):
    """prevent_destroy on the service and its scalable target, and a plan that knows no image
    fails naming -var allow_no_service=true: in prod only (service.prevent_destroy)."""
    stack = env_stacks[env]
    protected = env == "prod"
    for kind in ("aws_ecs_service", "aws_appautoscaling_target"):
        assert only(stack, kind)["lifecycle"].get("prevent_destroy", False) is protected, kind
    cluster = only(stack, "aws_ecs_cluster").get("lifecycle", {})
    conditions = [p["condition"] for p in cluster.get("precondition", [])]
    assert conditions == (['${local.running_image_digest != "" || var.allow_no_service}'] if protected else [])
    if protected:
        message = cluster["precondition"][0]["error_message"]
        assert "-var allow_no_service=true" in message and "/session-app/prod/release/image-digest" in message
