"""Fill `ecs_deployments`: rollouts complete, or fail and roll back, as `make release` waits for them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                                  "digest": "sha256:" + "1" * 64}, "layers": []})


def _definition(ecs: Any, repository_url: str, digest: str) -> str:
    return ecs.register_task_definition(family="rollout", containerDefinitions=[
        {"name": "app", "image": f"{repository_url}@{digest}", "memory": 512}])["taskDefinition"]["taskDefinitionArn"]


def _service(ecs: Any) -> dict[str, Any]:
    (service,) = ecs.describe_services(cluster="rollout", services=["rollout"])["services"]
    return service


def test_rollout_completes_then_an_unpullable_image_rolls_back(aws: Any) -> None:
    ecr, ecs = aws("ecr"), aws("ecs")
    repository_url = ecr.create_repository(repositoryName="rollout")["repository"]["repositoryUri"]
    pushed = "sha256:" + hashlib.sha256(MANIFEST.encode()).hexdigest()
    ecr.put_image(repositoryName="rollout", imageManifest=MANIFEST, imageDigest=pushed, imageTag="r1")
    ecs.create_cluster(clusterName="rollout")
    good = _definition(ecs, repository_url, pushed)
    ecs.create_service(cluster="rollout", serviceName="rollout", taskDefinition=good, desiredCount=2,
                       deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    (first,) = _service(ecs)["deployments"]
    assert (first["status"], first["rolloutState"], first["runningCount"]) == ("PRIMARY", "COMPLETED", 2)

    missing = _definition(ecs, repository_url, "sha256:" + "f" * 64)
    ecs.update_service(cluster="rollout", service="rollout", taskDefinition=missing)
    service = _service(ecs)
    primary, failed = service["deployments"]
    assert (primary["status"], primary["taskDefinition"], primary["rolloutState"]) == ("PRIMARY", good, "COMPLETED")
    assert (failed["status"], failed["taskDefinition"], failed["rolloutState"]) == ("ACTIVE", missing, "FAILED")
    assert "CannotPullContainerError" in failed["rolloutStateReason"]
    assert service["taskDefinition"] == good
    assert "rolling back to deployment" in service["events"][0]["message"]

    again = _definition(ecs, repository_url, pushed)
    ecs.update_service(cluster="rollout", service="rollout", taskDefinition=again)
    (latest,) = _service(ecs)["deployments"]
    assert (latest["taskDefinition"], latest["rolloutState"]) == (again, "COMPLETED")
    assert latest["id"] != first["id"]
