"""Scaling: min/max from variables, target tracking on CPU and on requests per target."""

from __future__ import annotations

import pytest
from cdktf import Testing
from cdktf_cdktf_provider_aws.appautoscaling_policy import AppautoscalingPolicy
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget

from tests.infra.conftest import ENVIRONMENTS
from tests.infra.workload.conftest import as_text, only, resources


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_scalable_target_uses_the_capacity_variables(env_stacks, env):
    stack = env_stacks[env]
    assert Testing.to_have_resource_with_properties(as_text(stack), AppautoscalingTarget.TF_RESOURCE_TYPE, {
        "service_namespace": "ecs", "scalable_dimension": "ecs:service:DesiredCount",
        "min_capacity": "${var.min_capacity}", "max_capacity": "${var.max_capacity}"})
    target = only(stack, AppautoscalingTarget.TF_RESOURCE_TYPE)
    assert target["resource_id"].startswith("service/${aws_ecs_cluster.")
    assert "var.desired_count" in target["lifecycle"]["precondition"][0]["condition"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_target_tracking_on_cpu_and_requests(env_stacks, env):
    stack = env_stacks[env]
    assert Testing.to_have_resource_with_properties(as_text(stack), AppautoscalingPolicy.TF_RESOURCE_TYPE, {
        "policy_type": "TargetTrackingScaling",
        "target_tracking_scaling_policy_configuration": {
            "target_value": 70, "scale_in_cooldown": 300, "scale_out_cooldown": 300,
            "predefined_metric_specification": {"predefined_metric_type": "ECSServiceAverageCPUUtilization"}}})
    policies = resources(stack, AppautoscalingPolicy.TF_RESOURCE_TYPE).values()
    requests = next(p for p in policies if p["name"].endswith("-requests"))
    spec = requests["target_tracking_scaling_policy_configuration"]["predefined_metric_specification"]
    assert spec["predefined_metric_type"] == "ALBRequestCountPerTarget"
    assert "aws_lb." in spec["resource_label"] and "aws_lb_target_group." in spec["resource_label"]


@pytest.mark.parametrize(("env", "low", "high"), [("dev", 1, 4), ("staging", 2, 6), ("prod", 2, 10)])
def test_capacity_defaults_per_environment(env_stacks, env, low, high):
    variables = env_stacks[env]["variable"]
    assert (variables["min_capacity"]["default"], variables["max_capacity"]["default"]) == (low, high)
