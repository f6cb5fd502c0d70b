"""Synth-time warnings: a change that replaces a resource says so, naming it; routine ones stay quiet."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from localdev.changes import write_config
from deploy.synthesis import synthesize
from stacks.config_loader import CONFIG_DIR_VARIABLE
from stacks.replacements import replacement_warnings


def _synth_twice(tmp_path: Path, edits: dict) -> str:
    outdir = tmp_path / "out"
    first = synthesize(outdir)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "warning:" not in first.stderr  # nothing to compare with yet
    config = write_config(tmp_path / "config", edits)
    second = synthesize(outdir, env={CONFIG_DIR_VARIABLE: str(config)})
    assert second.returncode == 0, second.stderr[-2000:]
    return second.stderr


def test_port_change_warns_that_the_cluster_is_replaced_and_spot_change_does_not(tmp_path: Path):
    stderr = _synth_twice(tmp_path, {"session_store.port": 6380, "service.spot_percentage": 50,
                                     "service.log_retention_days": 14})
    warnings = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, stderr
    assert warnings[0].startswith("warning: session-dev: port 6379 -> 6380 replaces aws_memorydb_cluster.")
    assert "every session is lost" in warnings[0]


def _stack(service: dict) -> dict:
    return {"resource": {"aws_ecs_service": {"service": service}}}


def test_strategy_change_replaces_the_service_without_force_new_deployment():
    old = {"name": "svc", "capacity_provider_strategy": [{"capacity_provider": "FARGATE", "weight": 1}]}
    new = copy.deepcopy(old)
    new["capacity_provider_strategy"] = [{"capacity_provider": "FARGATE_SPOT", "weight": 1}]
    [line] = replacement_warnings("session-dev", _stack(old), _stack(new))
    assert "capacity_provider_strategy" in line and "replaces aws_ecs_service.service" in line
    assert replacement_warnings("session-dev", _stack({**old, "force_new_deployment": True}),
                                _stack({**new, "force_new_deployment": True})) == []


def test_variable_driven_values_and_new_resources_do_not_warn():
    old = {"resource": {"aws_memorydb_cluster": {"c": {"name": "${var.cluster_name}", "port": 6379}}}}
    new = json.loads(json.dumps(old))
    new["resource"]["aws_lb"] = {"alb": {"name": "x"}}
    assert replacement_warnings("session-dev", old, new) == []
