"""ECS: deployments that roll out, complete, or fail and roll back, as `make release` sees them.

moto 5.2.5 creates one PRIMARY deployment per service that stays IN_PROGRESS (no tasks run
unless MOTO_ECS_SERVICE_RUNNING is set), and UpdateService with a new task definition starts
no new deployment. What AWS does, and this fill copies (the emulator runs no containers, so
a rollout settles at once):

- UpdateService with a different task definition (or forceNewDeployment) starts a new
  PRIMARY deployment; the old one turns ACTIVE and drains away once the new one is steady
  (API_UpdateService: "a new deployment is created"; API_Deployment: status PRIMARY/ACTIVE,
  rolloutState COMPLETED/FAILED/IN_PROGRESS).
- Tasks whose image cannot be pulled never start (CannotPullContainerError). With the
  deployment circuit breaker's rollback on, the failed deployment's rolloutState becomes
  FAILED and ECS rolls back to the most recent COMPLETED deployment, which becomes PRIMARY
  again (developerguide/deployment-circuit-breaker.html). Without one to roll back to, the
  deployment just FAILS.
- An ECR image (`<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:...`) can be
  pulled only if the repository holds that digest (here: the emulator's ECR, filled by
  PutImage). Images from other registries are taken as pullable.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from moto.core.utils import utcnow
from moto.ecr.models import ecr_backends
from moto.ecs.models import EC2ContainerServiceBackend, Service
from moto.moto_api._internal import mock_random

from emulator.fills._patch import wrap_method

_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com[^/]*/(.+)@(sha256:[0-9a-f]{64})$")


def _pullable(backend: EC2ContainerServiceBackend, task_definition_arn: str) -> Optional[str]:
    """None if every container image can be pulled, else the reason ECS would report."""
    definition = backend.describe_task_definition(task_definition_arn)
    for container in definition.container_definitions:
        match = _ECR_IMAGE.match(container.get("image", ""))
        if not match:
            continue
        account, region, repository, digest = match.groups()
        repositories = ecr_backends[account][region].repositories
        images = repositories[repository].images if repository in repositories else []
        if not any(image.image_digest == digest for image in images):
            return (f"CannotPullContainerError: {container['image']}: not found "
                    f"(tasks failed to start)")
    return None


def _deployment(service: Service, task_definition: str, rollout: str, reason: str) -> dict[str, Any]:
    now = utcnow()
    running = service.desired_count if rollout == "COMPLETED" else 0
    return {"id": f"ecs-svc/{mock_random.randint(0, 32**12)}", "status": "PRIMARY", "taskDefinition": task_definition,
            "desiredCount": service.desired_count, "runningCount": running, "pendingCount": 0,
            "failedTasks": 0 if running else service.desired_count, "createdAt": now, "updatedAt": now,
            "rolloutState": rollout, "rolloutStateReason": reason, "launchType": service.launch_type,
            "platformVersion": service.platform_version, "networkConfiguration": service.network_configuration,
            "platformFamily": "FARGATE"}


def _event(service: Service, message: str) -> None:
    service.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": utcnow(),
                              "message": f"(service {service.name}) {message}"})


def _roll_out(backend: EC2ContainerServiceBackend, service: Service, previous: Optional[dict[str, Any]]) -> None:
    """Replace the deployments with the outcome of deploying `service.task_definition`."""
    problem = _pullable(backend, service.task_definition)
    if problem is None:
        new = _deployment(service, service.task_definition, "COMPLETED", "ECS deployment completed.")
        new["rolloutStateReason"] = f"ECS deployment {new['id']} completed."
        service.deployments = [new]
        service.running_count, service.pending_count = service.desired_count, 0
        _event(service, "has reached a steady state.")
        return
    failed = _deployment(service, service.task_definition, "FAILED", f"ECS deployment circuit breaker: {problem}")
    breaker = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
    if previous is None or not breaker.get("rollback"):
        service.deployments = [failed]
        service.running_count = 0
        _event(service, f"(deployment {failed['id']}) deployment failed: tasks failed to start.")
        return
    failed["status"] = "ACTIVE"
    restored = {**previous, "status": "PRIMARY", "rolloutState": "COMPLETED", "updatedAt": utcnow(),
                "rolloutStateReason": f"ECS deployment {previous['id']} completed (rollback)."}
    service.task_definition = previous["taskDefinition"]
    service.deployments = [restored, failed]
    _event(service, f"(deployment {failed['id']}) deployment failed: tasks failed to start.")
    _event(service, f"rolling back to deployment {previous['id']}.")


def _create_service(original: Any, self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Service:
    service = original(self, *args, **kwargs)
    if service.deployments:  # ECS deployment controller
        _roll_out(self, service, None)
    return service


def _update_service(original: Any, self: EC2ContainerServiceBackend, service_properties: dict[str, Any]) -> Service:
    cluster = service_properties.get("cluster", "default")
    name = service_properties.get("service", "").split("/")[-1]
    before = self._get_service(cluster, name)
    old_definition = before.task_definition
    completed = [d for d in before.deployments if d.get("rolloutState") == "COMPLETED"]
    force = bool(service_properties.get("force_new_deployment"))
    service = original(self, service_properties)
    if service.deployments and (service.task_definition != old_definition or force):
        _roll_out(self, service, completed[0] if completed else None)
    return service


def apply() -> None:
    wrap_method(EC2ContainerServiceBackend, "create_service", _create_service)
    wrap_method(EC2ContainerServiceBackend, "update_service", _update_service)
