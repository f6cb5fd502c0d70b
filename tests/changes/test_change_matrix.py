"""The change matrix, proven by real plans (docs/change-matrix.md).

`session-dev` is applied once to the emulator (bootstrap, S3 backend, lock file), then every
routine change in `localdev.changes.CHANGES` is synthesized or passed as `-var` and planned
with `terraform plan -refresh=false` against the same state. Each row must show exactly its
declared effects: no replacement of the ECS service, MemoryDB cluster, load balancer, VPC or
subnets, and a new task definition revision exactly when the containers must see the change.
No destroy: the emulator is discarded. About 6 minutes, most of it the apply.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emulator import start_emulator
from localdev.changes import CHANGES, PROTECTED_TYPES, deploy, effects_of, plan_all, problems, replaced_addresses, table

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CHECKPOINT_DISABLE", "1")


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    directory = tmp_path_factory.mktemp("changes")
    with start_emulator(log_path=directory / "emulator.log") as emulator:
        deployment = deploy(directory, emulator, say=lambda line: print(line, flush=True))
        yield plan_all(deployment, directory)


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
