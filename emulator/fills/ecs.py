"""ECS: service settings that CreateService accepts but moto 5.2.5 does not store.

moto drops healthCheckGracePeriodSeconds, deploymentConfiguration (incl. the
deployment circuit breaker), capacityProviderStrategy, placement settings,
enableExecuteCommand, enableECSManagedTags and availabilityZoneRebalancing on
create, so DescribeServices returns nothing for them and a second `terraform plan`
wants to change the service. (UpdateService already stores them: moto sets every
request key as a snake_case attribute, which its serializer reads back.)
"""

from typing import Any

from moto.core.responses import ActionResult
from moto.ec2 import ec2_backends
from moto.ecs.models import Service
from moto.ecs.responses import EC2ContainerServiceResponse

from emulator.fills._patch import wrap_method

# Request key -> (Service attribute, value AWS reports when the key is omitted).
_STORED_ON_CREATE: dict[str, tuple[str, Any]] = {
    "healthCheckGracePeriodSeconds": ("health_check_grace_period_seconds", None),
    "deploymentConfiguration": (
        "deployment_configuration",
        {
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {"enable": False, "rollback": False},
        },
    ),
    "capacityProviderStrategy": ("capacity_provider_strategy", None),
    "placementConstraints": ("placement_constraints", None),
    "placementStrategy": ("placement_strategy", None),
    "enableExecuteCommand": ("enable_execute_command", False),
    "enableECSManagedTags": ("enable_ecs_managed_tags", False),
    "availabilityZoneRebalancing": ("availability_zone_rebalancing", "DISABLED"),
}


def _create_service_wrapper(original: Any, self: EC2ContainerServiceResponse) -> ActionResult:
    result: ActionResult = original(self)
    service = result.result["service"]  # type: ignore[index]
    for key, (attr, default) in _STORED_ON_CREATE.items():
        value = self._get_param(key)
        setattr(service, attr, value if value is not None else default)
    if self._get_param("capacityProviderStrategy"):
        # AWS reports no launch type when a capacity provider strategy is used.
        service.launch_type = None
        for deployment in service.deployments:
            deployment.pop("launchType", None)
            deployment["capacityProviderStrategy"] = self._get_param("capacityProviderStrategy")
    return result




def _validate_network_wrapper(original: Any, self: Service, nc: dict[str, Any]) -> dict[str, Any]:
    # AWS uses the VPC's default security group when awsvpcConfiguration omits
    # securityGroups; moto raises KeyError (HTTP 500) instead.
    config = nc.get("awsvpcConfiguration", {})
    if "securityGroups" not in config and config.get("subnets"):
        ec2 = ec2_backends[self._account_id][self.region_name]
        vpc_id = ec2.describe_subnets(subnet_ids=config["subnets"][:1])[0].vpc_id
        default = ec2.describe_security_groups(filters={"vpc-id": [vpc_id], "group-name": ["default"]})
        config["securityGroups"] = [g.id for g in default]
    result: dict[str, Any] = original(self, nc)
    return result


def apply() -> None:
    wrap_method(EC2ContainerServiceResponse, "create_service", _create_service_wrapper)
    wrap_method(Service, "_validate_network", _validate_network_wrapper)
