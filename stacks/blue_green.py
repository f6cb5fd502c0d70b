"""ECS native blue/green deployments (`[service] deployment_strategy = "blue_green"`).

hashicorp/aws 6.4 added them to `aws_ecs_service`: `deployment_configuration { strategy =
"BLUE_GREEN", bake_time_in_minutes }` and, per load balancer, `advanced_configuration {
alternate_target_group_arn, production_listener_rule, test_listener_rule, role_arn }`. ECS
registers the new (green) tasks in the alternate target group, sends test traffic to them
through the test listener rule, shifts the production rule's weights, keeps blue for the bake
time (rollback is instant meanwhile) and then stops it. Only the cdktn toolchain binds aws 6.x;
stacks/validation.py refuses the setting under cdktf (stacks/toolchain.py `supports`), which
keeps the rolling deployment with the circuit breaker (stacks/service.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from cdktf import TerraformResourceLifecycle
from constructs import Construct

from stacks.names import ResourceNames

# Requests carrying this header reach the green tasks before the cutover (the test listener rule).
TEST_HEADER = "X-Blue-Green-Test"
# AWS-managed policy for the role ECS assumes to move traffic between the target groups.
LOAD_BALANCER_POLICY = "AmazonECS-InfrastructureRolePolicyForLoadBalancers"


@dataclass(frozen=True)
class BlueGreenRouting:
    alternate_target_group_arn: str
    production_listener_rule: str
    test_listener_rule: str
    role_arn: str


def routing(scope: Construct, names: ResourceNames, partition: str, listener_arn: str,
            target_group_arn: str, alternate_target_group_arn: str) -> BlueGreenRouting:
    """Listener rules ECS shifts traffic with, and the role it uses to do so."""
    # Imported on use: a rolling deployment never loads these binding submodules (stacks/aws_bindings.py).
    from cdktf_cdktf_provider_aws.iam_role import IamRole
    from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
    from cdktf_cdktf_provider_aws.lb_listener_rule import (
        LbListenerRule,
        LbListenerRuleAction,
        LbListenerRuleActionForward,
        LbListenerRuleActionForwardTargetGroup,
        LbListenerRuleCondition,
        LbListenerRuleConditionHttpHeader,
        LbListenerRuleConditionPathPattern,
    )

    # ECS rewrites the forward weights during every deployment: Terraform must not reset them.
    owned_by_ecs = TerraformResourceLifecycle(ignore_changes=["action"])

    def forward(weights: tuple[int, int]) -> list[LbListenerRuleAction]:
        return [LbListenerRuleAction(type="forward", forward=LbListenerRuleActionForward(target_group=[
            LbListenerRuleActionForwardTargetGroup(arn=target_group_arn, weight=weights[0]),
            LbListenerRuleActionForwardTargetGroup(arn=alternate_target_group_arn, weight=weights[1])]))]

    test = LbListenerRule(scope, "blue-green-test", listener_arn=listener_arn, priority=1,
                          condition=[LbListenerRuleCondition(http_header=LbListenerRuleConditionHttpHeader(
                              http_header_name=TEST_HEADER, values=["true"]))],
                          action=forward((0, 100)), lifecycle=owned_by_ecs)
    production = LbListenerRule(scope, "blue-green-production", listener_arn=listener_arn, priority=2,
                                condition=[LbListenerRuleCondition(
                                    path_pattern=LbListenerRuleConditionPathPattern(values=["/*"]))],
                                action=forward((100, 0)), lifecycle=owned_by_ecs)
    role = IamRole(scope, "blue-green-role", name=f"{names.prefix}-ecs-blue-green",
                   description="ECS moves the session service's traffic between its target groups",
                   assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                       "Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"},
                       "Action": "sts:AssumeRole"}]}))
    IamRolePolicyAttachment(scope, "blue-green-policy", role=role.name,
                            policy_arn=f"arn:{partition}:iam::aws:policy/{LOAD_BALANCER_POLICY}")
    return BlueGreenRouting(alternate_target_group_arn, production.arn, test.arn, role.arn)


def load_balancer_arguments(blue_green: Optional[BlueGreenRouting]) -> dict[str, Any]:
    """Extra `EcsServiceLoadBalancer` arguments; none for a rolling deployment."""
    if blue_green is None:
        return {}
    # Imported here: the aws 5.x bindings have no such class (validation refuses blue_green there).
    from cdktf_cdktf_provider_aws.ecs_service import EcsServiceLoadBalancerAdvancedConfiguration

    return {"advanced_configuration": EcsServiceLoadBalancerAdvancedConfiguration(
        alternate_target_group_arn=blue_green.alternate_target_group_arn,
        production_listener_rule=blue_green.production_listener_rule,
        test_listener_rule=blue_green.test_listener_rule, role_arn=blue_green.role_arn)}


def service_arguments(blue_green: Optional[BlueGreenRouting], bake_time_minutes: int) -> dict[str, Any]:
    """Extra `EcsService` arguments; none for a rolling deployment."""
    if blue_green is None:
        return {}
    from cdktf_cdktf_provider_aws.ecs_service import EcsServiceDeploymentConfiguration

    # The binding types bake_time_in_minutes as a string (the provider's schema: TypeString).
    return {"deployment_configuration": EcsServiceDeploymentConfiguration(
        strategy="BLUE_GREEN", bake_time_in_minutes=str(bake_time_minutes))}
