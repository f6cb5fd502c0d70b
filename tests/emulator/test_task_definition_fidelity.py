"""The emulator stores container definitions as AWS does, so a second plan sees what AWS shows.

Two task definitions are applied with the real provider: one with the stack's
`linuxParameters` (`capabilities.add: []` spelled out), one with the old document that
omitted `add`. Against AWS the old one is replaced on every plan (AWS stores `add: []`,
the provider compares nested lists as sent); the fidelity fill makes the emulator show the
same, and the stack's own definition stays put.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from emulator.fills.ecs_task_definitions import normalize_container
from stacks.service import LINUX_PARAMETERS
from tests.emulator.emulator_tf import Terraform

OLD_LINUX_PARAMETERS = {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}}


def _container(linux_parameters: dict) -> dict:
    # The shape of the stack's container: awsvpc port mapping without hostPort, health check.
    return {"name": "session", "image": "public.ecr.aws/example/session:1", "essential": True,
            "readonlyRootFilesystem": True, "linuxParameters": linux_parameters,
            "portMappings": [{"name": "http", "containerPort": 8080, "protocol": "tcp"}],
            "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}


def _config(definitions: dict[str, dict]) -> str:
    resources = {name: {"family": f"fidelity-{name}", "network_mode": "awsvpc", "requires_compatibilities": ["FARGATE"],
                        "cpu": "256", "memory": "512", "container_definitions": json.dumps([container])}
                 for name, container in definitions.items()}
    return json.dumps({"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
                       "provider": {"aws": {"region": "us-east-1", "skip_credentials_validation": True,
                                            "skip_requesting_account_id": True}},
                       "resource": {"aws_ecs_task_definition": resources}}, indent=2)


def test_normalization_copies_what_aws_stores():
    container = _container(copy.deepcopy(OLD_LINUX_PARAMETERS))
    normalize_container(container, "awsvpc")
    assert container["linuxParameters"]["capabilities"] == {"add": [], "drop": ["ALL"]}
    assert container["portMappings"][0]["hostPort"] == 8080
    assert container["systemControls"] == []
    empty = _container({"initProcessEnabled": True, "capabilities": {}})
    normalize_container(empty, "bridge")
    assert "capabilities" not in empty["linuxParameters"]
    assert "hostPort" not in empty["portMappings"][0]


def test_second_plan_replaces_only_the_definition_without_add(emulator, tmp_path: Path):
    (tmp_path / "main.tf.json").write_text(_config({
        "stack": _container(copy.deepcopy(LINUX_PARAMETERS)),
        "old": _container(copy.deepcopy(OLD_LINUX_PARAMETERS)),
    }))
    tf = Terraform(tmp_path, emulator.url)
    tf.run("init", "-no-color")
    tf.run("apply", "-auto-approve", "-no-color")
    tf.run("plan", "-no-color", "-out=plan.bin")
    shown = json.loads(tf.run("show", "-json", "plan.bin").output)
    actions = {c["name"]: c["change"]["actions"] for c in shown["resource_changes"]}
    assert sorted(actions["old"]) == ["create", "delete"], actions  # what real AWS does to the old document
    assert actions["stack"] == ["no-op"], actions
