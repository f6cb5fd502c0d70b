"""Every synthesized stack passes `terraform validate` with hashicorp/aws 5.100.0, and the
Terraform variables reject bad values at plan time with the same rules as synthesis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.infra.conftest import STACKS
from deploy.terraform import terraform
from tests.infra.terraform_cli import copy_stack


@pytest.fixture(scope="module")
def validated(synth_dir, terraform_env, tmp_path_factory) -> dict[str, tuple[str, str]]:
    """Init (no backend) and validate all stacks concurrently; stack -> (init output, validate json)."""
    work = tmp_path_factory.mktemp("validate")

    def run(stack: str) -> tuple[str, str]:
        directory = copy_stack(synth_dir, stack, work)
        init = terraform(directory, terraform_env, "init", "-backend=false", "-input=false")
        if init.returncode != 0:
            return init.stdout + init.stderr, ""
        return init.stdout, terraform(directory, terraform_env, "validate", "-json").stdout

    with ThreadPoolExecutor(max_workers=len(STACKS)) as pool:
        return dict(zip(STACKS, pool.map(run, STACKS)))


@pytest.mark.parametrize("stack", STACKS)
def test_stack_passes_terraform_validate(validated, stack):
    import json

    init_output, validate_json = validated[stack]
    assert validate_json, f"terraform init failed:\n{init_output}"
    report = json.loads(validate_json)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    assert report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=2)


# Each plan takes ~30 s (the provider retries the unreachable AWS API after checking the
# variables), and Terraform reports every invalid variable at once: so two plans carry all
# the bad values, one the good values, all three at the same time.
BAD_VALUES = [
    ('cluster_name = "Bad_Name"', "cluster_name must be 1-40 lowercase letters"),
    ('memorydb_node_type = "cache.t3.micro"', "memorydb_node_type must be a MemoryDB node type"),
    ("memorydb_num_shards = 0", "memorydb_num_shards must be a whole number from 1 to 500"),
    ("memorydb_replicas_per_shard = 6", "memorydb_replicas_per_shard must be a whole number from 0 to 5"),
    ("ecs_task_cpu = 300", "ecs_task_cpu must be one of 256, 512"),
    ("ecs_task_memory = 100", "ecs_task_memory must be a whole number of MiB"),
    ("min_capacity = 0", "min_capacity must be a whole number from 1 to 1000"),
    ("max_capacity = 5000", "max_capacity must be a whole number from 1 to 1000"),
    ("desired_count = 0", "desired_count must be a whole number from 1 to 1000"),
    ('image_digest = "latest"', 'image_digest must be "" (nothing released yet) or sha256:'),
    ('allowed_ingress_cidrs = ["10.0.0.0/33"]', "allowed_ingress_cidrs must be a non-empty list"),
    ("session_timeout_seconds = 1", "session_timeout_seconds must be a whole number from 2"),
]
MORE_BAD_VALUES = [
    ('cluster_name = "a-name-that-is-far-too-long-for-memorydb-x"', "cluster_name must be 1-40"),
    ("memorydb_num_shards = 1.5", "memorydb_num_shards must be a whole number"),
    ("allowed_ingress_cidrs = []", "allowed_ingress_cidrs must be a non-empty list"),
    ('image_digest = "sha256:abc"', 'image_digest must be "" (nothing released yet) or sha256:'),
]
GOOD_VALUES = ("memorydb_num_shards = 3\necs_task_cpu = 512\necs_task_memory = 1024\nmin_capacity = 2\n"
               f'image_digest = "sha256:{"0a" * 32}"\n')


@pytest.fixture(scope="module")
def plans(synth_dir, terraform_env, tmp_path_factory) -> dict[str, str]:
    """tfvars name -> output of `terraform plan` on session-dev with a local backend."""
    tfvars = {"bad": "\n".join(v for v, _ in BAD_VALUES), "more_bad": "\n".join(v for v, _ in MORE_BAD_VALUES),
              "good": GOOD_VALUES}

    def plan(name: str) -> str:
        directory = copy_stack(synth_dir, "session-dev", tmp_path_factory.mktemp(name), local_backend=True)
        init = terraform(directory, terraform_env, "init", "-input=false")
        assert init.returncode == 0, init.stdout + init.stderr
        (directory / "test.tfvars").write_text(tfvars[name] + "\n")
        result = terraform(directory, terraform_env, "plan", "-input=false", "-var-file=test.tfvars")
        return result.stdout + result.stderr

    with ThreadPoolExecutor(max_workers=len(tfvars)) as pool:
        return dict(zip(tfvars, pool.map(plan, tfvars)))


@pytest.mark.parametrize(("plan", "tfvars", "message"),
                         [("bad", *v) for v in BAD_VALUES] + [("more_bad", *v) for v in MORE_BAD_VALUES],
                         ids=[v for v, _ in BAD_VALUES + MORE_BAD_VALUES])
def test_terraform_variables_reject_bad_values(plans, plan, tfvars, message):
    assert message in plans[plan], plans[plan][-3000:]


def test_terraform_variables_accept_good_values(plans):
    assert "Invalid value for variable" not in plans["good"], plans["good"][-3000:]
