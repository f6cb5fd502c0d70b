"""The session service on ECS Fargate: cluster, image repository, logs, roles, task, service.

Tasks run in the private subnets without public IPs, as a non-root user on a read-only
root filesystem. Configuration arrives as `secrets` (Parameter Store ARNs the execution
role may read, nothing broader) and plain `environment` values. The task role may do one
thing: `memorydb:Connect` as the service's user on the environment's cluster.

Terraform sets `desired_count` only at creation; afterwards auto scaling owns it, so an
apply never resets a scaled-out service.

The container image is pinned by digest (`<repository_url>@sha256:...`). Until the first
release sets `image_digest`, the task definition and the service are not created (`count`
0): the first apply makes the repository, the release pushes into it and applies again
with the digest, which creates the service with an image that exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional, Sequence

from cdktf import ITerraformDependable, Precondition, TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster, EcsClusterSetting
from cdktf_cdktf_provider_aws.ecs_cluster_capacity_providers import (
    EcsClusterCapacityProviders,
    EcsClusterCapacityProvidersDefaultCapacityProviderStrategy,
)
from cdktf_cdktf_provider_aws.ecs_service import (
    EcsService,
    EcsServiceAlarms,
    EcsServiceCapacityProviderStrategy,
    EcsServiceDeploymentCircuitBreaker,
    EcsServiceLoadBalancer,
    EcsServiceNetworkConfiguration,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from constructs import Construct

from stacks import policies
from stacks.contract import (
    CONTAINER_HEALTH_CHECK,
    LINUX_PARAMETERS,
    SCRATCH_PATH,
    TASK_ROLE_ACTIONS,
    health_check_command,
)
from stacks.blue_green import BlueGreenRouting, load_balancer_arguments, service_arguments
from stacks.names import ResourceNames
from stacks.security_groups import security_group
from stacks.settings import ServiceSettings
from stacks.variables import (
    ALLOW_NO_SERVICE_VARIABLE,
    capacity_condition,
    fargate_size_condition,
    hcl,
    image_known_condition,
    released_count,
)

SCRATCH_VOLUME = "tmp"  # the task volume mounted at contract.SCRATCH_PATH


@dataclass(frozen=True)
class ServiceProps:
    names: ResourceNames
    settings: ServiceSettings
    region: str
    account_id: str
    partition: str
    kms_key_arn: str
    vpc_id: str
    subnet_ids: list[str]
    # Terraform variable tokens.
    task_cpu: float
    task_memory: float
    desired_count: float
    image_digest: str  # "" before the first release
    # Configuration: environment variable -> Parameter Store ARN, and plain values.
    secrets: dict[str, str]
    environment: dict[str, str]
    parameter_path_arn: str
    # What the task role may connect to.
    store_cluster_arn: str
    store_user_arn: str
    target_group_arn: str
    # Whether destroy may delete the repository with its images (resolved by the stack).
    delete_images_on_destroy: bool = True
    # The listener(s): the target group must belong to a load balancer before the service starts.
    depends_on: Sequence[ITerraformDependable] = field(default_factory=tuple)
    # CloudWatch alarms that roll a deployment back when they fire during it (monitoring.ROLLBACK_ALARMS).
    deployment_alarm_names: Sequence[str] = field(default_factory=tuple)
    # False when VPC endpoints carry the AWS API traffic (stacks/endpoints.py adds narrower egress).
    https_egress_anywhere: bool = True
    # Set when `[service] deployment_strategy = "blue_green"` (stacks/blue_green.py).
    blue_green: Optional[BlueGreenRouting] = None
    # prevent_destroy on the service, and no plan without a known image (settings.protects_service).
    protected: bool = False
    # Named in the error of a protected plan that knows no image (the Parameter Store value).
    release_parameter: str = ""


class Service(Construct):
    """Exposes `security_group_id`, `cluster_name`, `service_name` (a plain name: the service
    exists only once released), `service` (to depend on), `repository_url` and `log_group_name`."""

    def __init__(self, scope: Construct, id: str, props: ServiceProps):
        super().__init__(scope, id)
        names = props.names
        self._props = props
        group = security_group(self, "security-group", names.service_security_group, props.vpc_id,
                               "Session service tasks: traffic from the load balancer only")
        # Image pulls, Parameter Store, CloudWatch Logs and STS are HTTPS endpoints reached via NAT.
        if props.https_egress_anywhere:
            VpcSecurityGroupEgressRule(self, "https-egress", security_group_id=group.id, ip_protocol="tcp",
                                       from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0",
                                       description="AWS APIs over HTTPS (ECR, SSM, CloudWatch Logs, STS)")
        # Container Insights writes to this group; made first (encrypted, with retention), else
        # ECS creates it unencrypted and kept forever (ECS developer guide, Container Insights).
        insights = [CloudwatchLogGroup(self, "insights-logs", name=f"/aws/ecs/containerinsights/{names.ecs_cluster}/performance",
                                       retention_in_days=props.settings.log_retention_days,
                                       kms_key_id=props.kms_key_arn)] if props.settings.container_insights else []
        cluster = EcsCluster(self, "cluster", name=names.ecs_cluster, setting=[EcsClusterSetting(
            name="containerInsights", value="enabled" if props.settings.container_insights else "disabled")],
            depends_on=insights, lifecycle=self._image_guard())
        providers = EcsClusterCapacityProviders(
            self, "capacity-providers", cluster_name=cluster.name, capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategy=[
                EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(**s) for s in self._strategy()])
        repository = self._repository()
        logs = CloudwatchLogGroup(self, "logs", name=names.service_log_group,
                                  retention_in_days=props.settings.log_retention_days, kms_key_id=props.kms_key_arn)
        execution_role, execution_policy = self._execution_role(repository.arn, logs.arn)
        task_role = self._task_role()
        task = self._task_definition(repository.repository_url, logs.name, execution_role.arn, task_role.arn)
        service = EcsService(
            self, "service", name=names.ecs_service, cluster=cluster.arn, task_definition=_first(task, "arn"),
            count=released_count(), desired_count=props.desired_count,
            capacity_provider_strategy=[EcsServiceCapacityProviderStrategy(**s) for s in self._strategy()],
            network_configuration=EcsServiceNetworkConfiguration(
                subnets=props.subnet_ids, security_groups=[group.id], assign_public_ip=False),
            load_balancer=[EcsServiceLoadBalancer(target_group_arn=props.target_group_arn,
                                                  container_name=names.container,
                                                  container_port=props.settings.container_port,
                                                  **load_balancer_arguments(props.blue_green))],
            deployment_circuit_breaker=EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            alarms=EcsServiceAlarms(alarm_names=list(props.deployment_alarm_names), enable=True, rollback=True)
            if props.deployment_alarm_names else None,
            deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
            health_check_grace_period_seconds=props.settings.health_check_grace_period_seconds,
            propagate_tags="SERVICE", enable_ecs_managed_tags=True, enable_execute_command=False,
            # Tasks move back to a lost AZ once it returns (provider 5.100 has the argument).
            availability_zone_rebalancing="ENABLED",
            wait_for_steady_state=False,
            # Provider 5.x replaces the service on a capacity provider strategy change unless
            # this is set; with it, a strategy change is an in-place update (a rolling deployment).
            force_new_deployment=True,
            **service_arguments(props.blue_green, props.settings.bake_time_minutes),
            depends_on=[*props.depends_on, providers, execution_policy],
            lifecycle=TerraformResourceLifecycle(
                prevent_destroy=props.protected or None,
                ignore_changes=["desired_count"],  # auto scaling owns the count after creation
                precondition=[Precondition(condition=capacity_condition(),
                                           error_message="desired_count must lie between min_capacity and max_capacity.")]),
        )
        self.security_group_id = group.id
        self.cluster_name = cluster.name
        self.service_name = names.ecs_service
        self.service = service
        self.repository_url = repository.repository_url
        self.log_group_name = logs.name

    def _image_guard(self) -> TerraformResourceLifecycle | None:
        """A protected stack plans nothing when no image is known: such a plan would remove the
        service (count 0). The cluster always exists, so its precondition is always evaluated
        (Terraform skips the conditions of a resource whose count is 0)."""
        p = self._props
        if not p.protected:
            return None
        return TerraformResourceLifecycle(precondition=[Precondition(
            condition=image_known_condition(),
            error_message=f"No image digest is known for {p.names.ecs_service}: no -var image_digest, no "
                          f"Parameter Store value {p.release_parameter} (every release writes it) and no "
                          "[service] image_digest in the config. Applying would remove the service and its "
                          "scaling. Only for the first deploy, before any release, pass "
                          f"-var {ALLOW_NO_SERVICE_VARIABLE}=true (service.prevent_destroy protects this stack).")])

    def _strategy(self) -> list[dict]:
        """`spot_percentage` of the tasks on FARGATE_SPOT; with a mix, the first task is on-demand."""
        spot = self._props.settings.spot_percentage
        if spot == 0:
            return [{"capacity_provider": "FARGATE", "weight": 1, "base": 0}]
        if spot == 100:
            return [{"capacity_provider": "FARGATE_SPOT", "weight": 1, "base": 0}]
        return [{"capacity_provider": "FARGATE", "weight": 100 - spot, "base": 1},
                {"capacity_provider": "FARGATE_SPOT", "weight": spot, "base": 0}]

    def _repository(self) -> EcrRepository:
        repository = EcrRepository(
            self, "repository", name=self._props.names.image_repository, image_tag_mutability="IMMUTABLE",
            # Without it, destroy stops at RepositoryNotEmpty once an image was pushed (real AWS only).
            force_delete=self._props.delete_images_on_destroy,
            image_scanning_configuration=EcrRepositoryImageScanningConfiguration(scan_on_push=True),
            encryption_configuration=[EcrRepositoryEncryptionConfiguration(
                encryption_type="KMS", kms_key=self._props.kms_key_arn)])
        EcrLifecyclePolicy(self, "repository-lifecycle", repository=repository.name, policy=json.dumps({"rules": [
            {"rulePriority": 1, "description": "Drop untagged images after 7 days",
             "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                           "countNumber": 7},
             "action": {"type": "expire"}},
            {"rulePriority": 2, "description": "Keep the 30 most recent images",
             "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
             "action": {"type": "expire"}},
        ]}))
        return repository

    def _execution_role(self, repository_arn: str, log_group_arn: str) -> tuple[IamRole, IamRolePolicy]:
        """What ECS needs to start a task: pull the image, write its logs, read its configuration."""
        p = self._props
        role = IamRole(self, "execution-role", name=p.names.execution_role,
                       assume_role_policy=policies.service_trust("ecs-tasks.amazonaws.com", p.account_id))
        policy = IamRolePolicy(self, "execution-policy", role=role.id, name="start-session-service",
                               policy=policies.document(
            # ECR issues registry tokens per account: the action has no resource to scope to.
            policies.statement(["ecr:GetAuthorizationToken"], "*", sid="RegistryLogin"),
            policies.statement(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                "ecr:GetDownloadUrlForLayer"], [repository_arn], sid="PullImage"),
            policies.statement(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"],
                               sid="WriteLogs"),
            policies.statement(["ssm:GetParameters"], [p.parameter_path_arn], sid="ReadConfiguration"),
            policies.statement(["kms:Decrypt"], [p.kms_key_arn], sid="DecryptConfiguration", condition={
                "StringEquals": {"kms:ViaService": [f"ssm.{p.region}.amazonaws.com",
                                                    f"ecr.{p.region}.amazonaws.com"]}}),
        ))
        return role, policy

    def _task_role(self) -> IamRole:
        """What the running service may do: authenticate to MemoryDB as its user, nothing more."""
        p = self._props
        role = IamRole(self, "task-role", name=p.names.task_role,
                       assume_role_policy=policies.service_trust("ecs-tasks.amazonaws.com", p.account_id))
        IamRolePolicy(self, "task-policy", role=role.id, name="connect-session-store", policy=policies.document(
            policies.statement(list(TASK_ROLE_ACTIONS), [p.store_cluster_arn, p.store_user_arn], sid="ConnectSessionStore")))
        return role

    def _task_definition(self, repository_url: str, log_group: str, execution_role_arn: str,
                         task_role_arn: str) -> EcsTaskDefinition:
        p, s = self._props, self._props.settings
        container = {
            "name": p.names.container,
            "image": f"{repository_url}@{p.image_digest}",
            "essential": True,
            "user": s.user,
            "readonlyRootFilesystem": True,
            "privileged": False,
            "linuxParameters": LINUX_PARAMETERS,
            "mountPoints": [{"sourceVolume": SCRATCH_VOLUME, "containerPath": SCRATCH_PATH, "readOnly": False}],
            # awsvpc: the ENI exposes container ports as declared (the plane's only when on).
            "portMappings": [{"name": "http", "containerPort": s.container_port, "protocol": "tcp"}] + (
                [{"name": "app-plane", "containerPort": s.app_plane_port, "protocol": "tcp"}] if s.app_plane_port else []),
            "secrets": [{"name": name, "valueFrom": arn} for name, arn in sorted(p.secrets.items())],
            "environment": [{"name": name, "value": value} for name, value in sorted(p.environment.items())],
            **self._health_check(),
            "stopTimeout": s.stop_timeout_seconds,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": log_group, "awslogs-region": p.region, "awslogs-stream-prefix": "session-app",
                "mode": "non-blocking", "max-buffer-size": "4m"}},
        }
        if s.command is not None:
            container["command"] = list(s.command)  # else ECS runs the image's CMD
        return EcsTaskDefinition(
            self, "task", family=p.names.task_family, network_mode="awsvpc", requires_compatibilities=["FARGATE"],
            count=released_count(),
            # Old revisions stay ACTIVE: the circuit breaker and `make release DIGEST=...` roll back to them.
            skip_destroy=True,
            cpu=Token.as_string(p.task_cpu), memory=Token.as_string(p.task_memory),
            runtime_platform=EcsTaskDefinitionRuntimePlatform(operating_system_family="LINUX",
                                                              cpu_architecture=s.cpu_architecture),
            execution_role_arn=execution_role_arn, task_role_arn=task_role_arn,
            # json.dumps keeps the document readable in the synthesized JSON; references stay
            # Terraform interpolations inside it.
            container_definitions=json.dumps([container]),
            volume=[EcsTaskDefinitionVolume(name=SCRATCH_VOLUME)],
            lifecycle=TerraformResourceLifecycle(precondition=[Precondition(
                condition=fargate_size_condition(),
                error_message="ecs_task_cpu and ecs_task_memory must be a Fargate task size (see docs/configuration.md).")]),
        )

    def _health_check(self) -> dict:
        """`healthCheck` from the settings, or nothing for `health_check_command = []`."""
        s = self._props.settings
        if not s.health_check_command:
            return {}
        command = health_check_command(s.health_check_command, s.container_port, s.health_check_path)
        return {"healthCheck": {"command": ["CMD", *command], **CONTAINER_HEALTH_CHECK,
                                "startPeriod": min(s.health_check_grace_period_seconds, 300) or 10}}


def _first(resource, attribute: str) -> str:
    """`<type>.<name>[0].<attribute>` of a resource with `count` (cdktf renders no index itself)."""
    return Token.as_string(hcl(f"{resource.terraform_resource_type}.{resource.friendly_unique_id}[0].{attribute}"))
