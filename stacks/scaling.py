"""Application Auto Scaling of the ECS service: target tracking on CPU and on requests.

CPU catches expensive requests; requests per target catches many cheap ones before CPU
moves. Whichever asks for more tasks wins. The service ignores `desired_count` drift, so
Terraform and auto scaling never fight.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import ITerraformDependable, Precondition, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification as Predefined,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from constructs import Construct

from stacks.names import ResourceNames
from stacks.settings import ServiceSettings
from stacks.variables import capacity_condition, released_count

NAMESPACE, DIMENSION = "ecs", "ecs:service:DesiredCount"


@dataclass(frozen=True)
class ScalingProps:
    names: ResourceNames
    settings: ServiceSettings
    cluster_name: str
    service_name: str
    min_capacity: float  # Terraform variable tokens
    max_capacity: float
    load_balancer_arn_suffix: str
    target_group_arn_suffix: str
    service: ITerraformDependable  # the ECS service: it exists only once an image is released
    protected: bool = False  # prevent_destroy on the scalable target (settings.protects_service)


class Scaling(Construct):
    """Exposes nothing: the scalable target and its policies stand alone.

    Like the service, they exist only once an image is released (`count`): AWS refuses a
    scalable target for a service that does not exist. Hence plain names, not references.
    """

    def __init__(self, scope: Construct, id: str, props: ScalingProps):
        super().__init__(scope, id)
        s = props.settings
        target = AppautoscalingTarget(
            self, "target", service_namespace=NAMESPACE, scalable_dimension=DIMENSION,
            resource_id=self._resource_id(props), count=released_count(), depends_on=[props.service],
            min_capacity=props.min_capacity, max_capacity=props.max_capacity,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=props.protected or None, precondition=[Precondition(
                condition=capacity_condition(),
                error_message="min_capacity <= desired_count <= max_capacity must hold.")]))
        self._track(props, target, "cpu", s.cpu_target_percent, Predefined(
            predefined_metric_type="ECSServiceAverageCPUUtilization"))
        self._track(props, target, "requests", s.requests_per_target, Predefined(
            predefined_metric_type="ALBRequestCountPerTarget",
            resource_label=f"{props.load_balancer_arn_suffix}/{props.target_group_arn_suffix}"))

    @staticmethod
    def _resource_id(props: ScalingProps) -> str:
        return f"service/{props.cluster_name}/{props.service_name}"

    def _track(self, props: ScalingProps, target: AppautoscalingTarget, what: str, value: float,
               metric: Predefined) -> None:
        s = props.settings
        AppautoscalingPolicy(
            self, what, name=props.names.scaling_policy(what), policy_type="TargetTrackingScaling",
            service_namespace=NAMESPACE, scalable_dimension=DIMENSION, resource_id=self._resource_id(props),
            count=released_count(), depends_on=[target],
            target_tracking_scaling_policy_configuration=AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                target_value=value, scale_in_cooldown=s.scale_in_cooldown_seconds,
                scale_out_cooldown=s.scale_out_cooldown_seconds, predefined_metric_specification=metric))
