"""Synth-time warnings for changes that replace a resource.

Synthesis knows no state, so it cannot know what is deployed. What it can know truthfully:
when the output folder still holds the previous synthesis of a stack, which attributes
changed between that one and this one. A changed attribute that hashicorp/aws 5.100
marks ForceNew means the next apply deletes and recreates that resource (for the session
store: every session is lost). Values that come from Terraform variables (`${var.x}`) are
the same text in both syntheses: those changes show only at plan time.

Task definitions are left out on purpose: every attribute of one forces a new revision,
which is how ECS rolls tasks (docs/change-matrix.md), not an outage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Resource type -> attribute -> why replacing it matters. ForceNew in provider 5.100's schema.
REPLACING_ATTRIBUTES: dict[str, dict[str, str]] = {
    "aws_memorydb_cluster": {a: "a new cluster: every session is lost" for a in (
        "name", "port", "tls_enabled", "kms_key_arn", "subnet_group_name", "data_tiering", "snapshot_arns",
        "snapshot_name", "auto_minor_version_upgrade")},
    "aws_memorydb_parameter_group": {a: "a new parameter group; the cluster must let go of the old one first"
                                     for a in ("name", "family", "description")},
    "aws_memorydb_subnet_group": {"name": "a new subnet group, which replaces the cluster that uses it"},
    "aws_memorydb_user": {"user_name": "a new user: tasks lose their store login until they restart"},
    "aws_memorydb_acl": {"name": "a new ACL, which the cluster must switch to"},
    "aws_vpc": {"cidr_block": "a new VPC: everything in it is replaced"},
    "aws_subnet": {a: "a new subnet: what runs in it is replaced" for a in ("cidr_block", "availability_zone", "vpc_id")},
    "aws_lb": {a: "a new load balancer: new DNS name, requests fail meanwhile"
               for a in ("name", "internal", "load_balancer_type")},
    "aws_lb_target_group": {a: "a new target group: the service re-registers its tasks"
                            for a in ("name", "port", "protocol", "target_type", "vpc_id")},
    "aws_ecs_cluster": {"name": "a new ECS cluster: the service is recreated in it"},
    "aws_ecs_service": {a: "a new ECS service: its tasks stop before new ones run"
                        for a in ("name", "cluster", "launch_type")},
    "aws_ecr_repository": {"name": "a new image repository: its images are not carried over"},
    "aws_security_group": {a: "a new security group" for a in ("name", "vpc_id", "description")},
}
# provider 5.x: a capacity provider strategy change replaces the service unless
# force_new_deployment is true (internal/service/ecs/service.go, capacityProviderStrategyCustomizeDiff).
_STRATEGY = "capacity_provider_strategy"


def read_stacks(outdir: Path) -> dict[str, dict]:
    """Stack name -> synthesized JSON, for every stack already in `outdir`."""
    found = {}
    for path in sorted((outdir / "stacks").glob("*/cdk.tf.json")):
        try:
            found[path.parent.name] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a broken previous output proves nothing
    return found


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."


def _replacing(kind: str, old: dict, new: dict) -> list[tuple[str, str]]:
    reasons = [(a, why) for a, why in REPLACING_ATTRIBUTES.get(kind, {}).items() if old.get(a) != new.get(a)]
    if kind == "aws_ecs_service" and old.get(_STRATEGY) != new.get(_STRATEGY):
        both = bool(old.get(_STRATEGY)) and bool(new.get(_STRATEGY))
        if not (new.get("force_new_deployment") is True and both):
            reasons.append((_STRATEGY, "a new ECS service (provider 5.x replaces it unless force_new_deployment "
                                       "is set and both strategies are non-empty)"))
    return reasons


def replacement_warnings(stack: str, old: dict, new: dict) -> list[str]:
    """One line per resource that the new synthesis of `stack` replaces, naming it and why."""
    lines = []
    old_resources, new_resources = old.get("resource", {}), new.get("resource", {})
    for kind, resources in sorted(new_resources.items()):
        for name, attributes in sorted(resources.items()):
            before = old_resources.get(kind, {}).get(name)
            if before is None:
                continue  # new resources are creates, not replacements
            for attribute, why in _replacing(kind, before, attributes):
                lines.append(f"warning: {stack}: {attribute} {_show(before.get(attribute))} -> "
                             f"{_show(attributes.get(attribute))} replaces {kind}.{name} ({why})")
    return lines


def all_warnings(previous: dict[str, dict], current: dict[str, dict]) -> list[str]:
    return [line for stack, new in sorted(current.items()) if stack in previous
            for line in replacement_warnings(stack, previous[stack], new)]
