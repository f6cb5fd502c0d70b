"""The change matrix, proven by real plans (docs/change-matrix.md).

`session-dev` is applied once to the emulator (bootstrap, S3 backend, lock file), then every
routine change in `localdev.changes.CHANGES` is synthesized or passed as `-var` and planned
with `terraform plan -refresh=false` against the same state. Each row must show exactly its
declared effects: no replacement of the ECS service, MemoryDB cluster, load balancer, VPC or
subnets, and a new task definition revision exactly when the containers must see the change.
No destroy: the emulator is discarded. About 6 minutes, most of it the apply.

The same deployment proves that any later apply keeps what runs: the deploy records its digest
in Parameter Store as `make release` does, and a plan of a fresh synthesis WITHOUT the digest
variable (a clean clone, `cdktf deploy`) removes nothing; without the record it would.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from emulator import start_emulator
from deploy.release_record import record_release, release_parameter
from localdev.aws_cycle import RELEASED_DIGEST
from localdev.changes import (
    CHANGES,
    ENVIRONMENT,
    PROTECTED_TYPES,
    Change,
    deploy,
    effects_of,
    emulator_client,
    plan_all,
    plan_change,
    problems,
    replaced_addresses,
    table,
)
from stacks.config_loader import load_environment
from stacks.variables import IMAGE_DIGEST_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CHECKPOINT_DISABLE", "1")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    directory = tmp_path_factory.mktemp("changes")
    with start_emulator(log_path=directory / "emulator.log") as emulator:
        yield deploy(directory, emulator, say=lambda line: print(line, flush=True)), emulator, directory


@pytest.fixture(scope="module")
def plans(deployed):
    deployment, _emulator, directory = deployed
    return plan_all(deployment, directory)


# What a plan must never remove or replace after a release: the running service and its scaling.
RUNNING = ("aws_ecs_service", "aws_ecs_task_definition", "aws_appautoscaling_target", "aws_appautoscaling_policy")


def _removed_running(plan: dict) -> list[str]:
    return sorted(e for e in effects_of(plan) if e.split()[0] in ("delete", "replace") and e.split()[1] in RUNNING)


def _clean_clone_plan(deployed, name: str, config: dict | None = None) -> dict:
    """A fresh synthesis of the committed config (no image_digest in it), planned with no
    -var/TF_VAR image_digest: what `cdktf deploy` or `terraform apply` from a clean clone plans."""
    deployment, _emulator, directory = deployed
    env = {k: v for k, v in deployment.env.items() if k != f"TF_VAR_{IMAGE_DIGEST_VARIABLE}"}
    # A config edit that changes nothing in the dev stack forces a fresh synthesis.
    change = Change(setting=name, change="clean clone", effects=frozenset(),
                    config=config or {"service.prevent_destroy": False})
    return plan_change(dataclasses.replace(deployment, env=env), change, directory / name)


def test_any_apply_after_a_release_keeps_what_runs(deployed):
    assert load_environment(ENVIRONMENT).service.image_digest is None  # nothing committed: the SSM record counts
    plan = _clean_clone_plan(deployed, "clean-clone")
    assert _removed_running(plan) == [], sorted(effects_of(plan))


def test_without_the_release_record_the_plan_would_remove_the_service(deployed):
    """The defect the record fixes: the digest lived only in a -var, so a plain plan removed the service."""
    _deployment, emulator, _directory = deployed
    ssm, prefix = emulator_client(emulator, "ssm"), load_environment(ENVIRONMENT).parameter_prefix
    ssm.delete_parameter(Name=release_parameter(prefix))
    try:
        plan = _clean_clone_plan(deployed, "no-record")
    finally:
        record_release(ssm, prefix, RELEASED_DIGEST)
    assert "delete aws_ecs_service" in _removed_running(plan)


def test_a_protected_stack_refuses_a_plan_without_an_image(deployed):
    """service.prevent_destroy (on in prod): no digest known -> the plan fails naming the way out;
    even when allowed, prevent_destroy refuses to remove the running service."""
    _deployment, emulator, _directory = deployed
    ssm, prefix = emulator_client(emulator, "ssm"), load_environment(ENVIRONMENT).parameter_prefix
    protected = {"service.prevent_destroy": True}
    assert _removed_running(_clean_clone_plan(deployed, "protected-released", protected)) == []
    ssm.delete_parameter(Name=release_parameter(prefix))
    try:
        with pytest.raises(RuntimeError, match="allow_no_service=true"):
            _clean_clone_plan(deployed, "protected-no-image", protected)
        allowed = Change(setting="protected-allowed", change="clean clone", effects=frozenset(), config=protected,
                         variables={"allow_no_service": "true"})
        deployment, _emulator, directory = deployed
        env = {k: v for k, v in deployment.env.items() if k != f"TF_VAR_{IMAGE_DIGEST_VARIABLE}"}
        with pytest.raises(RuntimeError, match="prevent_destroy"):
            plan_change(dataclasses.replace(deployment, env=env), allowed, directory / "protected-allowed")
    finally:
        record_release(ssm, prefix, RELEASED_DIGEST)


@pytest.mark.parametrize("change", CHANGES, ids=[c.key for c in CHANGES])
def test_change_does_what_the_matrix_says(plans, change):
    plan = plans[change.key]
    assert problems(change, plan) == [], sorted(effects_of(plan))


def test_no_routine_row_replaces_a_protected_resource(plans):
    replaced = {c.key: [a for a in replaced_addresses(plans[c.key]) if a.split(".")[0] in PROTECTED_TYPES]
                for c in CHANGES if c.routine}
    assert {k: v for k, v in replaced.items() if v} == {}


def test_published_matrix_is_the_tested_one():
    assert table() in (ROOT / "docs" / "change-matrix.md").read_text(), \
        "docs/change-matrix.md is stale: run `python -m localdev.changes --write-doc`"
